/**
 * Publishing to partitioned topics (issue 11): routing by key, then id, then server's pick;
 * per-key order under concurrent publishers; batches split per partition and reassembled;
 * id dedup; a grow seen through a stale route.
 */
import { describe, expect, it } from "vitest";
import { fnv1a32 } from "../../src/partition/route";
import { api, uniqueName } from "./helpers";
import { partitionHistory, partitionStub, publishAll, setPartitions, type PublishAnswer } from "./partition-helpers";
import { expectError } from "./topic-helpers";

const partitionOf = (text: string, partitions: number) => fnv1a32(text) % partitions;

describe("partitioned publish", () => {
  it("routes by key, else by id; answers carry the partition; one-partition answers do not", async () => {
    const topic = uniqueName("pp-route");
    const plain = await publishAll(topic, [{ data: 1, key: "k" }]);
    expect(plain[0]).toEqual({ seq: 1, id: expect.any(String) });
    await setPartitions(topic, 8);
    for (const [n, key] of ["alpha", "beta", "gamma", "δέλτα", "k".repeat(256)].entries()) {
      const [answer] = await publishAll(topic, [{ data: key, key, id: `id-${n}` }]);
      expect(answer!.partition).toBe(partitionOf(key, 8));
    }
    const [byId] = await publishAll(topic, [{ data: "x", id: "only-an-id" }]);
    expect(byId!.partition).toBe(partitionOf("only-an-id", 8));
    const [anywhere] = await publishAll(topic, [{ data: "y" }]);
    expect(anywhere!.partition).toBeGreaterThanOrEqual(0);
    expect(anywhere!.partition).toBeLessThan(8);
  });

  it("deduplicates a retried id in the partition the id routes to", async () => {
    const topic = uniqueName("pp-dedup");
    await setPartitions(topic, 5);
    const [first] = await publishAll(topic, [{ data: 1, id: "order-17" }]);
    const [again] = await publishAll(topic, [{ data: 1, id: "order-17" }], 200);
    expect(again).toEqual({ ...first, duplicate: true });
    // With a key the key routes, and the retry (same key, same id) meets its duplicate.
    const [keyed] = await publishAll(topic, [{ data: 2, id: "order-18", key: "customer-3" }]);
    const [keyedAgain] = await publishAll(topic, [{ data: 2, id: "order-18", key: "customer-3" }], 200);
    expect(keyed!.partition).toBe(partitionOf("customer-3", 5));
    expect(keyedAgain).toEqual({ ...keyed, duplicate: true });
  });

  it("splits a batch per partition, answers in input order, each part contiguous and in order", async () => {
    const topic = uniqueName("pp-batch");
    await setPartitions(topic, 4);
    const messages = Array.from({ length: 100 }, (_, n) => ({ data: { n }, key: `key-${n % 13}`, id: `m-${n}` }));
    const answers = await publishAll(topic, messages);
    expect(answers.map((answer) => answer.id)).toEqual(messages.map((message) => message.id));
    const byPartition = new Map<number, PublishAnswer[]>();
    answers.forEach((answer, n) => {
      expect(answer.partition).toBe(partitionOf(messages[n]!.key, 4));
      byPartition.set(answer.partition!, [...(byPartition.get(answer.partition!) ?? []), answer]);
    });
    for (const [partition, part] of byPartition) {
      // One atomic append per partition: seqs 1..n in input order.
      expect(part.map((answer) => answer.seq)).toEqual(part.map((_, index) => index + 1));
      const { rows } = await partitionHistory(topic, partition);
      expect(rows.map((row) => row.id)).toEqual(part.map((answer) => answer.id));
      expect(rows.every((row) => row.partition === partition)).toBe(true);
    }
    // The same batch again: every message comes back as a duplicate (200), nothing stored twice.
    const retried = await publishAll(topic, messages, 200);
    expect(retried).toEqual(answers.map((answer) => ({ ...answer, duplicate: true })));
  });

  it("keeps the messages of one request that have neither key nor id together, in order", async () => {
    const topic = uniqueName("pp-spare");
    await setPartitions(topic, 6);
    const answers = await publishAll(topic, Array.from({ length: 10 }, (_, n) => ({ data: n })));
    const partitions = new Set(answers.map((answer) => answer.partition));
    expect(partitions.size).toBe(1);
    expect(answers.map((answer) => answer.seq)).toEqual(answers.map((_, index) => index + 1));
  });

  it("keeps publish order per key under concurrent publishers", async () => {
    const topic = uniqueName("pp-order");
    await setPartitions(topic, 4);
    const keys = Array.from({ length: 24 }, (_, n) => `user-${n}`);
    const rounds = 12;
    // Each key has its own publisher, which waits for each answer before the next publish;
    // all publishers run at once, and every other round mixes a batch of two keys.
    const sent = new Map<string, PublishAnswer[]>();
    await Promise.all(
      keys.map(async (key, k) => {
        const answers: PublishAnswer[] = [];
        for (let n = 0; n < rounds; n++) {
          if (n % 2 === 1) {
            const other = keys[(k + 1) % keys.length]!;
            const batch = await publishAll(topic, [{ data: { key, n }, key }, { data: { key: other, n: -1 }, key: other }]);
            answers.push(batch[0]!);
          } else {
            answers.push((await publishAll(topic, [{ data: { key, n }, key }]))[0]!);
          }
        }
        sent.set(key, answers);
      }),
    );
    const histories = new Map<number, { key: string; n: number }[]>();
    for (let partition = 0; partition < 4; partition++) {
      histories.set(partition, (await partitionHistory(topic, partition)).rows.map((row) => row.data as { key: string; n: number }));
    }
    for (const key of keys) {
      const answers = sent.get(key)!;
      const partition = partitionOf(key, 4);
      expect(answers.every((answer) => answer.partition === partition)).toBe(true);
      const seqs = answers.map((answer) => answer.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      // The partition's log holds the key's own messages in publish order.
      const logged = histories.get(partition)!.filter((data) => data.key === key && data.n >= 0).map((data) => data.n);
      expect(logged).toEqual(Array.from({ length: rounds }, (_, n) => n));
    }
  });

  it("sees a grow made elsewhere: a partition refuses a stale route and the worker routes again", async () => {
    const topic = uniqueName("pp-grow");
    await setPartitions(topic, 2);
    // Keys whose partition differs between 2 and 4 partitions.
    const keys = Array.from({ length: 40 }, (_, n) => `g-${n}`).filter((key) => partitionOf(key, 2) !== partitionOf(key, 4));
    expect(keys.length).toBeGreaterThan(3);
    for (const key of keys.slice(0, 2)) expect((await publishAll(topic, [{ data: key, key }]))[0]!.partition).toBe(partitionOf(key, 2));
    // Grown on the object directly: this isolate's route still says 2.
    expect(await partitionStub(topic, 0).configure({ partitions: 4 })).toMatchObject({ ok: true, value: { partitions: 4 } });
    const answers = await publishAll(topic, keys.map((key) => ({ data: key, key })));
    answers.forEach((answer, n) => expect(answer.partition).toBe(partitionOf(keys[n]!, 4)));
    expect(await partitionStub(topic, 3).route()).toEqual({ partitions: 4, relays: 0 });
  });

  it("loses no publish racing a grow: each is stored once, under the count it was answered with", async () => {
    const topic = uniqueName("pp-race");
    await setPartitions(topic, 2);
    let grown = false;
    const publishers = Array.from({ length: 6 }, async (_, p) => {
      const answers: { key: string; answer: PublishAnswer; afterGrow: boolean }[] = [];
      for (let n = 0; n < 25; n++) {
        const key = `race-${p}-${n % 4}`;
        const afterGrow = grown;
        // 201 every time: no 503 while the topic is growing.
        answers.push({ key, answer: (await publishAll(topic, [{ data: { p, n }, key, id: `race-${p}-${n}` }]))[0]!, afterGrow });
      }
      return answers;
    });
    // Grown on the object directly, racing the publishers; this isolate's route says 2 throughout.
    const grow = (async () => {
      for (const partitions of [3, 5, 8]) {
        expect(await partitionStub(topic, 0).configure({ partitions })).toMatchObject({ ok: true });
      }
      grown = true;
    })();
    const all = (await Promise.all([...publishers, grow.then(() => [])])).flat();
    for (const { key, answer, afterGrow } of all) {
      expect([2, 3, 5, 8].some((count) => answer.partition === partitionOf(key, count)), `${key} in a partition of some count`).toBe(true);
      if (afterGrow) expect(answer.partition).toBe(partitionOf(key, 8));
    }
    let stored = 0;
    for (let partition = 0; partition < 8; partition++) stored += (await partitionHistory(topic, partition)).rows.length;
    expect(stored).toBe(6 * 25);
  });

  it("refuses bad keys (400) and keys on queues", async () => {
    const topic = uniqueName("pp-bad");
    for (const key of ["", "k".repeat(257), 7, null]) {
      await expectError(await api(`/v1/topics/${topic}/messages`, { body: { data: 1, key } }), 400, "invalid_request");
    }
    await expectError(await api(`/v1/topics/${topic}/messages`, { body: { messages: [{ data: 1, key: "a" }, { data: 2, key: "" }] } }), 400, "invalid_request");
    await expectError(await api(`/v1/queues/${uniqueName("pp-q")}/messages`, { body: { data: 1, key: "a" } }), 400, "invalid_request");
  });
});
