/**
 * Reading a topic's history: paging with after/limit (oldest first), lastSeq, and messages
 * coming back exactly as published (data of every JSON kind, attributes, publishedAt).
 */
import { describe, expect, it } from "vitest";
import { uniqueName } from "./helpers";
import { history, publish, publishMany, publishOk, range, type StoredMessage } from "./topic-helpers";

describe("topic history", () => {
  it("pages through 250 messages 100 at a time, oldest first", async () => {
    const topic = uniqueName("hist-paging");
    expect(await publishMany(topic, 250)).toBe(250);

    const seen: StoredMessage[] = [];
    const pageSizes: number[] = [];
    let after = 0;
    for (let pages = 0; pages < 10; pages++) {
      const page = await history(topic, `after=${after}&limit=100`);
      expect(page.lastSeq).toBe(250);
      if (page.messages.length === 0) break;
      pageSizes.push(page.messages.length);
      seen.push(...page.messages);
      after = page.messages[page.messages.length - 1]!.seq;
    }
    expect(pageSizes).toEqual([100, 100, 50]);
    expect(seen.map((message) => message.seq)).toEqual(range(1, 250));
    expect(seen.map((message) => (message.data as { n: number }).n)).toEqual(range(1, 250));
  });

  it("defaults to after=0 and a page of 100, and honours an after in the middle", async () => {
    const topic = uniqueName("hist-defaults");
    await publishMany(topic, 150);
    const first = await history(topic);
    expect(first.messages.map((message) => message.seq)).toEqual(range(1, 100));
    const middle = await history(topic, "after=120&limit=5");
    expect(middle.messages.map((message) => message.seq)).toEqual([121, 122, 123, 124, 125]);
    const tail = await history(topic, "after=148");
    expect(tail.messages.map((message) => message.seq)).toEqual([149, 150]);
  });

  it("answers an empty page with lastSeq for after at or beyond the end, and for a new topic", async () => {
    const topic = uniqueName("hist-end");
    await publishMany(topic, 3);
    expect(await history(topic, "after=3")).toEqual({ messages: [], lastSeq: 3 });
    expect(await history(topic, "after=99")).toEqual({ messages: [], lastSeq: 3 });
    expect(await history(uniqueName("hist-never"))).toEqual({ messages: [], lastSeq: 0 });
  });

  it("round-trips data, attributes and publishedAt", async () => {
    const topic = uniqueName("hist-roundtrip");
    const nested = { order: { id: 17, lines: [{ sku: "a", qty: 2 }, { sku: "b", qty: 0.5 }] }, flags: [true, false, null], empty: {} };
    const unicode = "héllo, 世界 🚀 \u0000 \"quoted\" \\ back\nslash";
    const inputs = [
      { data: nested, attributes: { kind: "order", "région": "ÿ ü 中" } },
      { data: unicode },
      { data: null },
      { data: "" },
      { data: 0 },
      { data: -12.75e3 },
      { data: false },
      { data: [1, "two", { three: [3] }] },
    ];
    const before = Date.now();
    for (const input of inputs) await publishOk(topic, input);
    const after = Date.now();

    const page = await history(topic);
    expect(page.lastSeq).toBe(inputs.length);
    expect(page.messages.map((message) => message.data)).toEqual(inputs.map((input) => input.data));
    expect(page.messages[0]!.attributes).toEqual({ kind: "order", "région": "ÿ ü 中" });
    // No attributes given reads back as an empty object, never null.
    for (const message of page.messages.slice(1)) expect(message.attributes).toEqual({});
    const times = page.messages.map((message) => message.publishedAt);
    for (const time of times) {
      expect(Number.isInteger(time)).toBe(true);
      expect(time).toBeGreaterThanOrEqual(before);
      expect(time).toBeLessThanOrEqual(after);
    }
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    for (const message of page.messages) expect(Object.keys(message).sort()).toEqual(["attributes", "data", "id", "publishedAt", "seq"]);
  });

  it("gives a batch's messages the same publishedAt and the ids they were published with", async () => {
    const topic = uniqueName("hist-batch");
    const response = await publish(topic, { messages: [{ data: 1, id: "one" }, { data: 2, id: "two" }] });
    expect(response.status).toBe(201);
    const page = await history(topic);
    expect(page.messages.map((message) => message.id)).toEqual(["one", "two"]);
    expect(page.messages[0]!.publishedAt).toBe(page.messages[1]!.publishedAt);
  });
});
