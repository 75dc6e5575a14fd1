/**
 * The `edgepost` command on relays and partitioned topics (issue 11): `topic` shows and sets
 * relays and partitions (a shrink is refused with the server's 409), `publish --key` says the
 * partition (stdin lines with one key land in one partition, in order), `history --partition`
 * reads one partition, and `tail` prints each message's partition and resumes from a cursor.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Edgepost, type PublishResult, type StoredMessage } from "../../src/client";
import { jsonLines, RUN_TIMEOUT_MS, useCli } from "./cli-run";
import { uniqueName } from "./clients";
import { ROOT_KEY, useServer } from "./server";
import { range, withTimeout } from "./wait";

const server = useServer();
const { run, ok, spawnJsonLines } = useCli(server);
let client: Edgepost;

beforeAll(async () => {
  client = new Edgepost({ url: server.url, token: ROOT_KEY });
});

describe("topic settings", () => {
  it("topic shows the settings, sets relays and partitions, and refuses a shrink with 409 partitions_shrink", async () => {
    const topic = uniqueName("cli-topic");
    const shown = await ok(["topic", topic]);
    expect(shown).toMatch(/^ {2}relays: 0$/m);
    expect(shown).toMatch(/^ {2}partitions: 1$/m);

    const [changed] = jsonLines<{ topic: string; relays: number; partitions: number }>(await ok(["topic", topic, "--relays", "3", "--partitions", "4", "--json"]));
    expect(changed).toMatchObject({ topic, relays: 3, partitions: 4 });
    expect(await client.topicStats(topic)).toMatchObject({ relays: 3, partitions: 4 });

    const shrink = await run(["topic", topic, "--partitions", "2"]);
    expect(shrink.code, shrink.stderr).toBe(1);
    expect(shrink.stderr).toContain("409 partitions_shrink");

    const outOfRange = await run(["topic", topic, "--relays", "65"]);
    expect(outOfRange.code).toBe(2);
    expect(outOfRange.stderr).toContain("--relays must be a whole number from 0 to 64");

    const stats = await ok(["stats", "topic", topic]);
    expect(stats).toMatch(/^ {2}partitions: 4$/m);
  });
});

describe("publish with a key, history and tail per partition", () => {
  it("publish --key prints the partition; stdin lines with one key go to one partition in order; history --partition reads it", async () => {
    const topic = uniqueName("cli-keys");
    await client.configureTopic(topic, { partitions: 4 });

    const single = await ok(["publish", topic, '{"n": 0}', "--key", "user-1", "--id", "first"]);
    const [, partitionText] = /partition (\d+), seq 1, id first/.exec(single) ?? [];
    expect(partitionText, single).toBeDefined();
    const partition = Number(partitionText);

    const lines = range(1, 30).map((n) => `line ${n}`);
    const published = await ok(["publish", topic, "--key", "user-1"], { stdin: `${lines.join("\n")}\n` });
    expect(published).toContain(`published 30 messages to topic ${topic} (partition ${partition}, seq 2-31)`);

    const spread = jsonLines<PublishResult>(await ok(["publish", topic, "--json"], { stdin: `${range(1, 40).join("\n")}\n` }));
    expect(new Set(spread.map((result) => result.partition)).size, "lines without a key spread over partitions").toBeGreaterThan(1);

    const history = jsonLines<StoredMessage>(await ok(["history", topic, "--partition", String(partition), "--limit", "1000", "--json"]));
    const keyed = history.filter((message) => typeof message.data === "string" && message.data.startsWith("line "));
    expect(keyed.map((message) => message.data)).toEqual(lines);
    expect(history.every((message) => message.partition === partition)).toBe(true);

    const human = await ok(["history", topic, "--partition", String(partition), "--after", "30"]);
    expect(human).toMatch(new RegExp(`^p${partition} #31 .*"line 30"$`, "m"));

    const needsPartition = await run(["history", topic]);
    expect(needsPartition.code).toBe(1);
    expect(needsPartition.stderr).toContain("400");
    expect(needsPartition.stderr).toContain("--partition");
  });

  it("tail --json gets every partition with its partition; --after takes a cursor", async () => {
    const topic = uniqueName("cli-tail");
    await client.configureTopic(topic, { partitions: 3 });
    const before = await client.publishBatch(topic, range(1, 12).map((n) => ({ data: n, key: `k${n}` })));
    const cursor = [0, 1, 2].map((p) => Math.max(0, ...before.filter((r) => r.partition === p).map((r) => r.seq))).join(",");

    const all = spawnJsonLines<StoredMessage>(["tail", topic, "--after", "0", "--json"], "tail --after 0");
    await all.inbox.waitUntil((items) => items.length >= 12, RUN_TIMEOUT_MS, "12 messages");
    all.child.kill("SIGINT");
    expect(await withTimeout(all.exited, RUN_TIMEOUT_MS, () => "tail did not stop"), all.stderr()).toBe(0);
    expect(all.inbox.items.map((item) => item.data).sort((a, b) => Number(a) - Number(b))).toEqual(range(1, 12));
    expect(all.inbox.items.every((item) => typeof item.partition === "number")).toBe(true);

    const fromCursor = spawnJsonLines<StoredMessage>(["tail", topic, "--after", cursor, "--json"], "tail --after cursor");
    await client.publish(topic, "after the cursor", { key: "k1" });
    await fromCursor.inbox.waitUntil((items) => items.length >= 1, RUN_TIMEOUT_MS, "the new message");
    fromCursor.child.kill("SIGINT");
    await withTimeout(fromCursor.exited, RUN_TIMEOUT_MS, () => "tail did not stop");
    expect(fromCursor.inbox.items.map((item) => item.data)).toEqual(["after the cursor"]);

    const badCursor = await run(["tail", topic, "--after", "1,x"]);
    expect(badCursor.code).toBe(2);
    expect(badCursor.stderr).toContain("--after must be a seq or a cursor");
  });
});
