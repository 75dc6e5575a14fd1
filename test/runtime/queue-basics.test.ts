/** Queue basics: enqueue, pull, ack, ordering, one lease at a time, stats, idempotent and atomic enqueue. */
import { describe, expect, it } from "vitest";
import { api, json, uniqueName } from "./helpers";
import { ack, configureQueue, enqueue, enqueueBatch, eventually, expectError, pull, stats, type EnqueueResult } from "./queue-helpers";

describe("queue basics", () => {
  it("enqueues, pulls with a lease and acks the message away", async () => {
    const queue = uniqueName("basics");
    const created = await enqueue(queue, { data: { job: 1 }, attributes: { kind: "a" } });
    expect(created.seq).toBe(1);
    expect(typeof created.id).toBe("string");

    const before = Date.now();
    const [message, ...rest] = await pull(queue);
    expect(rest).toEqual([]);
    expect(message).toMatchObject({ seq: 1, id: created.id, data: { job: 1 }, attributes: { kind: "a" }, attempt: 1 });
    expect(typeof message!.leaseId).toBe("string");
    // Default visibility is 30 s.
    expect(message!.leaseExpiresAt).toBeGreaterThanOrEqual(before + 29_000);

    const results = await ack(queue, [message!.leaseId]);
    expect(results).toEqual([{ leaseId: message!.leaseId, ok: true, status: "acked" }]);
    expect(await pull(queue)).toEqual([]);
    expect(await stats(queue)).toMatchObject({ ready: 0, inFlight: 0, delayed: 0, acked: 1, enqueued: 1 });
  });

  it("hands out the oldest messages first and respects max", async () => {
    const queue = uniqueName("basics-order");
    await enqueueBatch(queue, [1, 2, 3, 4, 5].map((n) => ({ data: n })));
    const first = await pull(queue, { max: 2 });
    expect(first.map((message) => message.data)).toEqual([1, 2]);
    const rest = await pull(queue, { max: 10 });
    expect(rest.map((message) => message.data)).toEqual([3, 4, 5]);
    expect(await pull(queue, { max: 10 })).toEqual([]);
  });

  it("answers an empty queue with an empty list, without a body too", async () => {
    const queue = uniqueName("basics-empty");
    expect(await pull(queue)).toEqual([]);
    const noBody = await api(`/v1/queues/${queue}/pull`, { method: "POST" });
    expect(noBody.status).toBe(200);
    expect(await json(noBody)).toEqual({ messages: [] });
  });

  it("leases a message to one puller at a time, even under concurrent pulls", async () => {
    const queue = uniqueName("basics-concurrent");
    await enqueueBatch(
      queue,
      Array.from({ length: 30 }, (_, n) => ({ data: n })),
    );
    // Ten pullers race for thirty messages, three each at most.
    const batches = await Promise.all(Array.from({ length: 10 }, () => pull(queue, { max: 3 })));
    const seqs = batches.flat().map((message) => message.seq);
    expect(seqs).toHaveLength(30);
    expect(new Set(seqs).size).toBe(30);
    expect(new Set(batches.flat().map((message) => message.leaseId)).size).toBe(30);
    expect(await stats(queue)).toMatchObject({ ready: 0, inFlight: 30 });
  });

  it("counts ready, in-flight and delayed messages", async () => {
    const queue = uniqueName("basics-stats");
    await enqueueBatch(queue, [{ data: "a" }, { data: "b" }, { data: "c" }, { data: "later", delaySeconds: 60 }]);
    expect(await stats(queue)).toMatchObject({ name: queue, ready: 3, inFlight: 0, delayed: 1, enqueued: 4 });
    const [leased] = await pull(queue);
    expect(await stats(queue)).toMatchObject({ ready: 2, inFlight: 1, delayed: 1 });
    await ack(queue, [leased!.leaseId]);
    const after = await stats(queue);
    expect(after).toMatchObject({ ready: 2, inFlight: 0, delayed: 1, acked: 1 });
    expect(after.oldestAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(after.config.visibilityTimeoutSeconds).toBe(30);
    expect(after.config.maxAttempts).toBe(5);
    expect(after.config.deadLetterQueue).toBe(`${queue}-dlq`);
  });

  it("stores a repeated id once and answers 200 with the original seq", async () => {
    const queue = uniqueName("basics-dedup");
    const first = await enqueue(queue, { data: "once", id: "order-7" });
    const again = await api(`/v1/queues/${queue}/messages`, { body: { data: "twice", id: "order-7" } });
    expect(again.status).toBe(200);
    expect(await json<EnqueueResult>(again)).toEqual({ seq: first.seq, id: "order-7", duplicate: true });

    // A batch mixing new and repeated ids stores only the new ones.
    const mixed = await enqueueBatch(queue, [{ data: "new", id: "order-8" }, { data: "dup", id: "order-7" }]);
    expect(mixed).toEqual([{ seq: first.seq + 1, id: "order-8" }, { seq: first.seq, id: "order-7", duplicate: true }]);

    const messages = await pull(queue, { max: 10 });
    expect(messages.map((message) => [message.id, message.data])).toEqual([
      ["order-7", "once"],
      ["order-8", "new"],
    ]);
  });

  it("accepts a repeated id again once the dedup window has passed", async () => {
    const queue = uniqueName("basics-dedup-window");
    await configureQueue(queue, { dedupWindowSeconds: 1 });
    const first = await enqueue(queue, { data: 1, id: "retry-later" });
    const windowEnds = Date.now() + 1000;
    await eventually(async () => (Date.now() > windowEnds + 100 ? true : undefined), "the 1 s dedup window to pass", 3000);
    const again = await enqueue(queue, { data: 2, id: "retry-later" });
    expect(again.seq).toBe(first.seq + 1);
    expect(again.duplicate).toBeUndefined();
  });

  it("stores a batch all or nothing, in order", async () => {
    const queue = uniqueName("basics-batch");
    const results = await enqueueBatch(queue, [{ data: "x" }, { data: "y", id: "y-1" }, { data: "z" }]);
    expect(results.map((result) => result.seq)).toEqual([1, 2, 3]);
    expect(results[1]!.id).toBe("y-1");

    // One invalid item rejects the whole batch.
    await expectError(await api(`/v1/queues/${queue}/messages`, { body: { messages: [{ data: "ok" }, { data: "bad", delaySeconds: -1 }] } }), 400, "invalid_request");
    // One oversized item too.
    const huge = "x".repeat(300 * 1024);
    await expectError(await api(`/v1/queues/${queue}/messages`, { body: { messages: [{ data: "ok" }, { data: huge }] } }), 413, "message_too_large");

    const stored = await stats(queue);
    expect(stored).toMatchObject({ ready: 3, enqueued: 3, lastSeq: 3 });
    expect((await pull(queue, { max: 10 })).map((message) => message.data)).toEqual(["x", "y", "z"]);
  });
});
