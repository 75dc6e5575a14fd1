/**
 * Bound queues of partitioned topics (issue 11): every partition forwards to the queue, each
 * in its own order, once; bindings follow a grow; unbinding and deleting (topic or queue) end
 * them on every partition; deleting the topic deletes every partition's state.
 */
import { describe, expect, it } from "vitest";
import { api, uniqueName } from "./helpers";
import { partitionStub, publishAll, setPartitions, type PublishAnswer } from "./partition-helpers";
import { bindQueue, eventually, expectStatus, pull, stats, unbindQueue, type LeasedMessage } from "./queue-helpers";

/** Pull until `count` messages have come (forwarding is asynchronous), oldest first; none after. */
async function collect(queue: string, count: number): Promise<LeasedMessage[]> {
  const all: LeasedMessage[] = [];
  await eventually(
    async () => {
      all.push(...(await pull(queue, { max: 100 })));
      if (all.length > count) throw new Error(`${queue} received ${all.length} messages, more than ${count}`);
      return all.length === count ? true : undefined;
    },
    `${count} messages in ${queue}`,
    10_000,
  );
  return all;
}

/** Whether the partition's object still lists `queue` as bound. */
async function boundOn(topic: string, partition: number, queue: string): Promise<boolean> {
  return (await partitionStub(topic, partition).stats()).subscriptions.some((subscription) => subscription.queue === queue);
}

describe("queues bound to partitioned topics", () => {
  it("receive every partition's messages, each partition in order, once; and partitions added later", async () => {
    const topic = uniqueName("pb-all");
    const queue = uniqueName("pb-q");
    await setPartitions(topic, 3);
    const bound = await bindQueue(topic, queue);
    expect(bound).toMatchObject({ topic, queue, fromSeq: 1, partitions: [0, 1, 2].map((partition) => ({ partition, fromSeq: 1 })) });
    const sent: PublishAnswer[] = [];
    for (let round = 0; round < 4; round++) {
      sent.push(...(await publishAll(topic, Array.from({ length: 25 }, (_, n) => ({ data: { round, n }, key: `k-${n}`, id: `r${round}-${n}` })))));
    }
    await setPartitions(topic, 5);
    for (let partition = 3; partition < 5; partition++) expect(await boundOn(topic, partition, queue)).toBe(true);
    sent.push(...(await publishAll(topic, Array.from({ length: 25 }, (_, n) => ({ data: { round: 4, n }, key: `k-${n}`, id: `r4-${n}` })))));

    const received = await collect(queue, sent.length);
    const where = new Map(sent.map((answer) => [answer.id, answer]));
    expect(new Set(received.map((message) => message.id))).toEqual(new Set(where.keys()));
    // Per partition, the queue got the partition's seqs in increasing order.
    const seqsBy = new Map<number, number[]>();
    for (const message of received) {
      const origin = where.get(message.id)!;
      seqsBy.set(origin.partition!, [...(seqsBy.get(origin.partition!) ?? []), origin.seq]);
    }
    expect([...seqsBy.keys()].sort()).toEqual([0, 1, 2, 3, 4]);
    for (const seqs of seqsBy.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it("unbind ends forwarding from every partition", async () => {
    const topic = uniqueName("pb-unbind");
    const queue = uniqueName("pb-uq");
    await setPartitions(topic, 4);
    await bindQueue(topic, queue);
    await expectStatus(await unbindQueue(topic, queue), 200, "unbind");
    for (let partition = 0; partition < 4; partition++) expect(await boundOn(topic, partition, queue)).toBe(false);
    await expectStatus(await unbindQueue(topic, queue), 404, "second unbind");
    await publishAll(topic, Array.from({ length: 20 }, (_, n) => ({ data: n, key: `k${n}` })));
    expect((await stats(queue)).enqueued).toBe(0);
  });

  it("deleting the queue unbinds it from every partition", async () => {
    const topic = uniqueName("pb-delq");
    const queue = uniqueName("pb-dq");
    await setPartitions(topic, 3);
    await bindQueue(topic, queue);
    await publishAll(topic, Array.from({ length: 12 }, (_, n) => ({ data: n, key: `k${n}` })));
    await collect(queue, 12);
    await expectStatus(await api(`/v1/queues/${queue}`, { method: "DELETE" }), 200, "delete queue");
    for (let partition = 0; partition < 3; partition++) expect(await boundOn(topic, partition, queue)).toBe(false);
  });

  it("deleting the topic deletes every partition; the name starts afresh with one partition", async () => {
    const topic = uniqueName("pb-delt");
    const queue = uniqueName("pb-tq");
    await setPartitions(topic, 4);
    await bindQueue(topic, queue);
    await publishAll(topic, Array.from({ length: 16 }, (_, n) => ({ data: n, key: `k${n}` })));
    await collect(queue, 16);
    await expectStatus(await api(`/v1/topics/${topic}`, { method: "DELETE" }), 200, "delete topic");
    for (let partition = 0; partition < 4; partition++) {
      const left = await partitionStub(topic, partition).stats();
      expect(left).toMatchObject({ lastSeq: 0, retainedMessages: 0, partitions: 1, subscriptions: [] });
    }
    // Afresh: one partition, seqs from 1, plain answers.
    expect(await publishAll(topic, [{ data: "new", key: "k1" }])).toEqual([{ seq: 1, id: expect.any(String) }]);
    // The queue forgot the deleted partitions: a topic grown again under the name forwards from seq 1.
    await setPartitions(topic, 4);
    await bindQueue(topic, queue);
    const answers = await publishAll(topic, Array.from({ length: 16 }, (_, n) => ({ data: n, key: `k${n}` })));
    const received = await collect(queue, 16);
    expect(new Set(received.map((message) => message.id))).toEqual(new Set(answers.map((answer) => answer.id)));
  });
});
