/**
 * History and stats of partitioned topics (issue 11): `?partition=` required with more than
 * one partition, rows show it; stats sum the partitions and list each one's log; settings
 * reach every partition; a grow moves direct subscribers of a one-partition topic on.
 */
import { describe, expect, it } from "vitest";
import { api, json, TestSocket, uniqueName } from "./helpers";
import { partitionHistory, partitionStub, publishAll, setPartitions } from "./partition-helpers";
import { expectError, waitUntil } from "./topic-helpers";

interface PartitionEntry {
  partition: number;
  lastSeq: number;
  retainedMessages: number;
  retainedBytes: number;
  firstRetainedSeq: number | null;
  oldestRetainedAt: number | null;
}

interface Stats {
  name: string;
  lastSeq: number;
  partitions: number;
  relays: number;
  retainedMessages: number;
  retainedBytes: number;
  firstRetainedSeq: number | null;
  oldestRetainedAt: number | null;
  partitionStats: PartitionEntry[];
  config: { partitions: number; retentionMessages: number };
}

describe("partitioned history", () => {
  it("needs ?partition= with more than one partition (400 partition_required), in range (400 invalid_query)", async () => {
    const topic = uniqueName("ph-query");
    await setPartitions(topic, 3);
    await expectError(await api(`/v1/topics/${topic}/messages`), 400, "partition_required");
    for (const bad of ["3", "63", "64", "-1", "x", "1.5", ""]) {
      await expectError(await api(`/v1/topics/${topic}/messages?partition=${bad}`), 400, "invalid_query");
    }
    for (const partition of [0, 1, 2]) expect((await partitionHistory(topic, partition)).rows).toEqual([]);
  });

  it("reads each partition's own log, rows showing the partition", async () => {
    const topic = uniqueName("ph-rows");
    await setPartitions(topic, 3);
    const answers = await publishAll(topic, Array.from({ length: 30 }, (_, n) => ({ data: n, key: `k${n}` })));
    for (const partition of [0, 1, 2]) {
      const mine = answers.filter((answer) => answer.partition === partition);
      const page = await partitionHistory(topic, partition);
      expect(page.lastSeq).toBe(mine.length);
      expect(page.rows.map((row) => [row.partition, row.seq, row.id])).toEqual(mine.map((answer) => [partition, answer.seq, answer.id]));
    }
    // `after` and `limit` page within the partition.
    const first = answers.find((answer) => answer.partition === 1)!;
    const page = await json<{ messages: { seq: number }[] }>(await api(`/v1/topics/${topic}/messages?partition=1&after=${first.seq}&limit=1`));
    expect(page.messages.map((row) => row.seq)).toEqual([first.seq + 1]);
  });

  it("keeps a one-partition topic's history as it was: ?partition=0 allowed, rows without partition", async () => {
    const topic = uniqueName("ph-single");
    await publishAll(topic, [{ data: "a", key: "k" }]);
    const plain = await json<{ messages: Record<string, unknown>[] }>(await api(`/v1/topics/${topic}/messages`));
    expect(plain.messages).toHaveLength(1);
    expect(plain.messages[0]).not.toHaveProperty("partition");
    expect((await partitionHistory(topic, 0)).rows).toHaveLength(1);
    await expectError(await api(`/v1/topics/${topic}/messages?partition=1`), 400, "invalid_query");
  });
});

describe("partitioned stats", () => {
  it("lists each partition's log and sums them at the top level", async () => {
    const topic = uniqueName("ph-stats");
    await setPartitions(topic, 4, { relays: 2 });
    const answers = await publishAll(topic, Array.from({ length: 40 }, (_, n) => ({ data: { n }, key: `key-${n}` })));
    const stats = await json<Stats>(await api(`/v1/topics/${topic}`));
    expect(stats).toMatchObject({ name: topic, partitions: 4, relays: 2, lastSeq: 40, retainedMessages: 40, firstRetainedSeq: null });
    expect(stats.partitionStats.map((entry) => entry.partition)).toEqual([0, 1, 2, 3]);
    for (const entry of stats.partitionStats) {
      const count = answers.filter((answer) => answer.partition === entry.partition).length;
      expect(entry).toMatchObject({ lastSeq: count, retainedMessages: count, firstRetainedSeq: count > 0 ? 1 : null });
    }
    expect(stats.retainedBytes).toBe(stats.partitionStats.reduce((sum, entry) => sum + entry.retainedBytes, 0));
    expect(stats.oldestRetainedAt).toBe(Math.min(...stats.partitionStats.flatMap((entry) => (entry.oldestRetainedAt === null ? [] : [entry.oldestRetainedAt]))));
  });

  it("shows one entry on a topic of one partition, top level unchanged", async () => {
    const topic = uniqueName("ph-stats1");
    await publishAll(topic, [{ data: 1 }, { data: 2 }]);
    const stats = await json<Stats>(await api(`/v1/topics/${topic}`));
    expect(stats).toMatchObject({ partitions: 1, lastSeq: 2, firstRetainedSeq: 1 });
    expect(stats.partitionStats).toEqual([{ partition: 0, lastSeq: 2, retainedMessages: 2, retainedBytes: stats.retainedBytes, firstRetainedSeq: 1, oldestRetainedAt: stats.oldestRetainedAt }]);
  });
});

describe("partition settings pushed from partition 0", () => {
  it("gives every partition the topic's settings, and later changes too", async () => {
    const topic = uniqueName("ph-push");
    await setPartitions(topic, 3, { retentionMessages: 50 });
    await setPartitions(topic, 5);
    const put = await api(`/v1/topics/${topic}`, { method: "PUT", body: { retentionMessages: 7 } });
    expect(put.status).toBe(200);
    for (let partition = 1; partition < 5; partition++) {
      const stats = await partitionStub(topic, partition).stats();
      expect(stats.name).toBe(topic);
      expect(stats.config).toMatchObject({ partitions: 5, retentionMessages: 7 });
    }
  });

  it("closes direct subscribers (1012) when a topic of one partition grows, so they reconnect", async () => {
    const topic = uniqueName("ph-close");
    const socket = await TestSocket.open(`/v1/topics/${topic}/subscribe?after=0`);
    await publishAll(topic, [{ data: 1 }]);
    await waitUntil(() => socket.frames.some((frame) => frame.type === "message"), "the first message");
    await setPartitions(topic, 2);
    await waitUntil(() => socket.closed !== null, "the socket to close");
    expect(socket.closed!.code).toBe(1012);
  });
});
