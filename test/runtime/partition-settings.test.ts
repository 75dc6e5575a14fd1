/** Partitioned topics, step 1 (issue 11): the `partitions` and `relays` settings, object names, the hash. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parsePartitionObjectName, partitionObjectName } from "../../src/partition/names";
import { fnv1a32, partitionFor } from "../../src/partition/route";
import { api, json, uniqueName } from "./helpers";
import { expectError } from "./topic-helpers";

interface Config {
  retentionSeconds: number;
  partitions: number;
  relays: number;
}

async function put(topic: string, body: unknown): Promise<Response> {
  return api(`/v1/topics/${topic}`, { method: "PUT", body });
}

describe("partition settings", () => {
  it("defaults to one partition and no relays, in the config answer and stats", async () => {
    const topic = uniqueName("part-defaults");
    const response = await put(topic, {});
    expect(response.status).toBe(200);
    expect(await json<Config>(response)).toMatchObject({ partitions: 1, relays: 0 });
    const stats = await json<{ partitions: number; relays: number; config: Config }>(await api(`/v1/topics/${topic}`));
    expect(stats).toMatchObject({ partitions: 1, relays: 0, config: { partitions: 1, relays: 0 } });
  });

  it("grows, keeps other settings, and refuses to shrink with 409 partitions_shrink", async () => {
    const topic = uniqueName("part-grow");
    expect(await json<Config>(await put(topic, { partitions: 4, relays: 2, retentionSeconds: 60 }))).toMatchObject({ partitions: 4, relays: 2, retentionSeconds: 60 });
    expect(await json<Config>(await put(topic, { partitions: 4 }))).toMatchObject({ partitions: 4, relays: 2 });
    expect(await json<Config>(await put(topic, { partitions: 8, relays: 0 }))).toMatchObject({ partitions: 8, relays: 0, retentionSeconds: 60 });
    const refused = await expectError(await put(topic, { partitions: 3 }), 409, "partitions_shrink");
    expect(refused.error.message).toContain("8");
    const stats = await json<{ partitions: number; relays: number; config: Config }>(await api(`/v1/topics/${topic}`));
    expect(stats).toMatchObject({ partitions: 8, relays: 0, config: { partitions: 8, relays: 0 } });
  });

  it.each([{ partitions: 0 }, { partitions: 65 }, { partitions: 2.5 }, { partitions: "2" }, { relays: -1 }, { relays: 65 }, { relays: 1.5 }])("refuses %j with 400", async (body) => {
    await expectError(await put(uniqueName("part-bad"), body), 400, "invalid_request");
  });

  it("serves route() from partition 0", async () => {
    const topic = uniqueName("part-route");
    await put(topic, { partitions: 3, relays: 5 });
    expect(await env.TOPIC.getByName(topic).route()).toEqual({ partitions: 3, relays: 5 });
  });
});

describe("partition object names", () => {
  it("names partition 0 as the topic and others topic#i, and parses them back", () => {
    expect(partitionObjectName("orders", 0)).toBe("orders");
    expect(partitionObjectName("orders", 7)).toBe("orders#7");
    expect(parsePartitionObjectName("orders")).toEqual({ topic: "orders", partition: 0 });
    expect(parsePartitionObjectName("a.b:c-d#63")).toEqual({ topic: "a.b:c-d", partition: 63 });
    for (let i = 0; i < 64; i++) expect(parsePartitionObjectName(partitionObjectName("t", i))).toEqual({ topic: "t", partition: i });
  });
});

describe("routing hash", () => {
  it("is FNV-1a 32-bit over UTF-8 bytes (published test vectors)", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
    // Non-ASCII is hashed as its UTF-8 bytes: "é" is 0xC3 0xA9.
    let manual = 0x811c9dc5;
    for (const byte of [0xc3, 0xa9]) manual = Math.imul(manual ^ byte, 0x01000193) >>> 0;
    expect(fnv1a32("é")).toBe(manual);
  });

  it("routes by key, else by id, else anywhere; one partition is always 0", () => {
    const route = { partitions: 16 };
    expect(partitionFor(route, { key: "user-1", id: "x" })).toBe(fnv1a32("user-1") % 16);
    expect(partitionFor(route, { id: "abc" })).toBe(fnv1a32("abc") % 16);
    const picked = new Set(Array.from({ length: 400 }, () => partitionFor(route, {})));
    expect(picked.size).toBeGreaterThan(8);
    for (const p of picked) expect(p >= 0 && p < 16).toBe(true);
    expect(partitionFor({ partitions: 1 }, { key: "anything" })).toBe(0);
  });
});
