/**
 * Queues end to end (issue 3), over real sockets against the bundled worker served on workerd:
 * competing WebSocket consumers and an HTTP puller share a queue with every message acked
 * exactly once and never held twice at a time; a consumer that disconnects holding leases has
 * them redelivered to the others; a topic fans out to two bound queues.
 */
import { describe, expect, it } from "vitest";
import { call, uniqueName } from "./clients";
import { Ledger, runPuller, startWsConsumer } from "./consumers";
import { messageId, publishConcurrently, type Acked } from "./load";
import { useServer } from "./server";
import { range } from "./wait";

const CONSUME_TIMEOUT_MS = 60_000;

interface QueueStats {
  ready: number;
  inFlight: number;
  delayed: number;
  consumers: number;
  acked: number;
  enqueued: number;
  redeliveries: number;
}

const server = useServer();

const stats = (queue: string) => call<QueueStats>(server, "GET", `/v1/queues/${queue}`, undefined, 200);

/** Every one of `ids` was acked exactly once, every successful ack said "acked", nothing else was acked. */
function expectAckedExactlyOnce(ledger: Ledger, ids: readonly string[]): void {
  const counts = ledger.ackedCounts();
  const notOnce = ids.filter((id) => counts.get(id) !== 1).map((id) => `${id}: ${counts.get(id) ?? 0}`);
  expect(notOnce, "messages not acked exactly once").toEqual([]);
  expect(counts.size, "acked messages that were never sent").toBe(ids.length);
  for (const ack of ledger.acks.filter((entry) => entry.result.ok)) expect(ack.result.status).toBe("acked");
}

describe("competing consumers", () => {
  it("4 WebSocket consumers and 1 HTTP puller ack each of 2,000 messages exactly once, never holding one twice", async () => {
    const queue = uniqueName("work");
    const idPrefix = uniqueName("job");
    const ledger = new Ledger();
    const names = range(1, 4).map((index) => `ws consumer ${index}`);
    const sockets = await Promise.all(names.map((name) => startWsConsumer(server, queue, name, ledger, { prefetch: 10, ack: true })));
    const allAcked = () => ledger.ackedCounts().size >= 2000;
    const puller = runPuller(server, queue, "http puller", ledger, allAcked);

    const produced = await publishConcurrently(server, { path: `/v1/queues/${queue}/messages`, count: 2000, publishers: 4, idPrefix, batchSize: 50 });
    expect(new Set(produced.map((entry) => entry.seq)).size).toBe(2000);
    await ledger.waitUntil(allAcked, CONSUME_TIMEOUT_MS, () => `2,000 acked; have ${ledger.ackedCounts().size}, errors ${ledger.errors.join("; ")}`);
    await puller;

    const ids = range(0, 1999).map((n) => messageId(idPrefix, n));
    expectAckedExactlyOnce(ledger, ids);
    expect(ledger.errors).toEqual([]);
    expect(ledger.acks.filter((ack) => !ack.result.ok), "acks refused although the lease was current").toEqual([]);
    expect(ledger.overlappingHolds()).toEqual([]);
    expect(new Set(ledger.deliveries.map((delivery) => delivery.message.leaseId)).size, "a lease id per delivery").toBe(ledger.deliveries.length);
    // Competing consumers share the queue: every one of them got work.
    for (const name of [...names, "http puller"]) expect(ledger.ackedBy(name), `${name} acked some messages`).toBeGreaterThan(0);

    expect(await stats(queue)).toMatchObject({ ready: 0, inFlight: 0, delayed: 0, acked: 2000, enqueued: 2000, consumers: 4 });
    await Promise.all(sockets.map((socket) => socket.close()));
  });

  it("redelivers the leases of a consumer that disconnects to the other consumers", async () => {
    const queue = uniqueName("handover");
    const idPrefix = uniqueName("job");
    // Short leases and backoff so that a lost lease comes back quickly either way.
    await call(server, "PUT", `/v1/queues/${queue}`, { visibilityTimeoutSeconds: 5, backoff: { minSeconds: 0.2, maxSeconds: 1 } }, 200);
    const ledger = new Ledger();

    // The first consumer takes 20 leases and never acks them.
    const holder = await startWsConsumer(server, queue, "holder", ledger, { prefetch: 20, ack: false });
    await publishConcurrently(server, { path: `/v1/queues/${queue}/messages`, count: 60, publishers: 1, idPrefix, batchSize: 60 });
    await ledger.waitUntil(() => ledger.deliveries.length >= 20, CONSUME_TIMEOUT_MS, () => `20 deliveries to the holder; have ${ledger.deliveries.length}`);
    const held = ledger.deliveries.filter((delivery) => delivery.consumer === "holder").map((delivery) => delivery.message.id);
    expect(held).toHaveLength(20);

    // Two acking consumers drain the other 40 while the holder's leases are still valid.
    const others = await Promise.all(["taker 1", "taker 2"].map((name) => startWsConsumer(server, queue, name, ledger, { prefetch: 10, ack: true })));
    await ledger.waitUntil(() => ledger.ackedCounts().size >= 40, CONSUME_TIMEOUT_MS, () => `40 acked by the takers; have ${ledger.ackedCounts().size}`);
    const countsBefore = ledger.ackedCounts();
    expect(held.filter((id) => countsBefore.has(id)), "held messages acked while the holder's leases were valid").toEqual([]);

    holder.terminate();
    ledger.disconnected("holder");
    await ledger.waitUntil(() => ledger.ackedCounts().size >= 60, CONSUME_TIMEOUT_MS, () => `all 60 acked; have ${ledger.ackedCounts().size}`);

    expectAckedExactlyOnce(
      ledger,
      range(0, 59).map((n) => messageId(idPrefix, n)),
    );
    for (const id of held) {
      const redelivered = ledger.deliveries.filter((delivery) => delivery.message.id === id && delivery.consumer !== "holder");
      expect(redelivered.map((delivery) => delivery.message.attempt), `${id} came back to a taker as its second attempt`).toEqual([2]);
    }
    expect(ledger.errors).toEqual([]);
    expect(ledger.overlappingHolds()).toEqual([]);
    expect(await stats(queue)).toMatchObject({ ready: 0, inFlight: 0, acked: 60, redeliveries: 20, consumers: 2 });
    await Promise.all(others.map((socket) => socket.close()));
  });
});

describe("topic to queue subscriptions", () => {
  it("delivers every message published to a topic to both of its bound queues, once each and in order", async () => {
    const topic = uniqueName("events");
    const queues = [uniqueName("billing"), uniqueName("audit")] as const;
    const idPrefix = uniqueName("evt");
    for (const queue of queues) await call(server, "PUT", `/v1/topics/${topic}/subscriptions/${queue}`, undefined, 200);

    const published = await publishConcurrently(server, { path: `/v1/topics/${topic}/messages`, count: 300, publishers: 4, idPrefix, batchSize: 10 });
    const publishedById = new Map(published.map((entry: Acked) => [entry.id, entry]));

    // One queue consumed over WebSocket, the other by HTTP pull.
    const [wsQueue, pullQueue] = queues;
    const consumed = [
      { queue: wsQueue, ledger: new Ledger() },
      { queue: pullQueue, ledger: new Ledger() },
    ];
    const [viaSocket, viaPull] = consumed as [(typeof consumed)[number], (typeof consumed)[number]];
    const socket = await startWsConsumer(server, viaSocket.queue, "ws consumer", viaSocket.ledger, { prefetch: 50, ack: true });
    const puller = runPuller(server, viaPull.queue, "http puller", viaPull.ledger, () => viaPull.ledger.ackedCounts().size >= 300, 100);
    for (const { queue, ledger } of consumed) {
      await ledger.waitUntil(() => ledger.ackedCounts().size >= 300, CONSUME_TIMEOUT_MS, () => `300 acked from ${queue}; have ${ledger.ackedCounts().size}`);
    }
    await puller;

    for (const { queue, ledger } of consumed) {
      expectAckedExactlyOnce(ledger, [...publishedById.keys()]);
      expect(ledger.errors).toEqual([]);
      const firstDeliveries = ledger.deliveries.filter((delivery) => delivery.message.attempt === 1);
      expect(firstDeliveries, `${queue}: each message delivered once`).toHaveLength(300);
      for (const { message } of firstDeliveries) {
        expect(message.data, `${queue}: data of ${message.id}`).toEqual({ n: publishedById.get(message.id)?.n });
      }
      // Forwarded in topic order: by queue seq, the topic seqs ascend.
      const topicSeqsInQueueOrder = [...firstDeliveries].sort((a, b) => a.message.seq - b.message.seq).map((delivery) => publishedById.get(delivery.message.id)?.seq);
      expect(topicSeqsInQueueOrder, `${queue}: topic order kept`).toEqual(range(1, 300));
      expect(await stats(queue)).toMatchObject({ ready: 0, inFlight: 0, delayed: 0, enqueued: 300, acked: 300 });
    }
    await socket.close();
  });
});
