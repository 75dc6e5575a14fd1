/** WebSocket consumers: prefetch credit, acks over the socket, fair sharing, release on close, bad frames. */
import { describe, expect, it } from "vitest";
import { api, TestSocket, uniqueName, type Frame } from "./helpers";
import { ack, configureQueue, enqueue, enqueueBatch, eventually, expectError, FAST, runAlarm, stats } from "./queue-helpers";

function resultsOf(socket: TestSocket): Frame[] {
  return socket.frames.filter((frame) => frame.type === "result");
}

function errorsOf(socket: TestSocket): Frame[] {
  return socket.frames.filter((frame) => frame.type === "error");
}

/**
 * A round trip through the object: a frame it must answer. The object handles a socket's
 * frames in order and pushes synchronously, so anything it would push is in by the answer.
 */
async function roundTrip(socket: TestSocket): Promise<void> {
  const before = resultsOf(socket).length;
  socket.send({ type: "ack", leaseId: `barrier-${crypto.randomUUID()}` });
  await socket.waitFor((s) => resultsOf(s).length > before, "the barrier's result");
}

async function openConsumer(queue: string, prefetch: number): Promise<TestSocket> {
  return TestSocket.open(`/v1/queues/${queue}/consume?prefetch=${prefetch}`);
}

async function waitForConsumers(queue: string, count: number): Promise<void> {
  await eventually(async () => ((await stats(queue)).consumers === count ? true : undefined), `${count} consumers`);
}

const seqsOf = (socket: TestSocket) => socket.messages().map((frame) => frame.seq!);

describe("queue consumers over WebSocket", () => {
  it("pushes no more than prefetch unacked messages; an ack frees credit for the next", async () => {
    const queue = uniqueName("consume-prefetch");
    await enqueueBatch(queue, [1, 2, 3, 4, 5].map((n) => ({ data: n })));
    const socket = await openConsumer(queue, 2);
    await socket.waitForMessages(2);
    await roundTrip(socket);
    expect(socket.messages().map((frame) => frame.data)).toEqual([1, 2]);
    expect(socket.messages()[0]).toMatchObject({ type: "message", queue, attempt: 1 });
    expect(await stats(queue)).toMatchObject({ ready: 3, inFlight: 2, consumers: 1 });

    const firstLease = socket.messages()[0]!.leaseId;
    socket.send({ type: "ack", leaseId: firstLease });
    await socket.waitForMessages(3);
    await roundTrip(socket);
    expect(resultsOf(socket).find((frame) => frame.leaseId === firstLease)).toMatchObject({ type: "result", op: "ack", ok: true, status: "acked" });
    expect(socket.messages().map((frame) => frame.data)).toEqual([1, 2, 3]);

    // An HTTP ack of a pushed lease frees credit too.
    await ack(queue, [socket.messages()[1]!.leaseId as string]);
    await enqueue(queue, { data: 6 });
    await socket.waitForMessages(4);
    await roundTrip(socket);
    expect(socket.messages().map((frame) => frame.data)).toEqual([1, 2, 3, 4]);
    socket.close();
  });

  it("pushes a message enqueued while the consumer waits", async () => {
    const queue = uniqueName("consume-live");
    const socket = await openConsumer(queue, 5);
    await waitForConsumers(queue, 1);
    const { id } = await enqueue(queue, { data: "live", attributes: { k: "v" } });
    await socket.waitForMessages(1);
    expect(socket.messages()[0]).toMatchObject({ type: "message", queue, id, data: "live", attributes: { k: "v" }, attempt: 1 });
    expect(typeof socket.messages()[0]!.leaseId).toBe("string");
    socket.close();
  });

  it("shares messages round-robin between two consumers, never the same message to both", async () => {
    const queue = uniqueName("consume-fair");
    const first = await openConsumer(queue, 10);
    const second = await openConsumer(queue, 10);
    await waitForConsumers(queue, 2);

    await enqueueBatch(queue, Array.from({ length: 10 }, (_, n) => ({ data: n })));
    for (let n = 0; n < 6; n++) await enqueue(queue, { data: `single-${n}` });
    await first.waitForMessages(8);
    await second.waitForMessages(8);
    await roundTrip(first);
    await roundTrip(second);

    const a = seqsOf(first);
    const b = seqsOf(second);
    expect(a).toHaveLength(8);
    expect(b).toHaveLength(8);
    expect(a.filter((seq) => b.includes(seq))).toEqual([]);
    expect([...a, ...b].sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, n) => n + 1));
    // Turns alternate: one consumer has every other seq.
    expect(a.every((seq) => seq % 2 === a[0]! % 2)).toBe(true);
    first.close();
    second.close();
  });

  it("redelivers a closed consumer's leases to another consumer after the backoff", async () => {
    const queue = uniqueName("consume-release");
    await configureQueue(queue, { ...FAST, visibilityTimeoutSeconds: 60 });
    const leaving = await openConsumer(queue, 3);
    await enqueueBatch(queue, [{ data: "a" }, { data: "b" }, { data: "c" }]);
    await leaving.waitForMessages(3);
    const held = leaving.messages();

    const staying = await openConsumer(queue, 10);
    await waitForConsumers(queue, 2);
    await roundTrip(staying);
    expect(staying.messages()).toEqual([]);

    const closedAt = Date.now();
    leaving.close();
    // Long before the 60 s lease would expire, the leases come back (after 0.1-0.2 s backoff):
    // the deadline (15 s) is what says so, however slow the machine, and is far below 60 s.
    await eventually(async () => {
      await runAlarm(queue);
      return staying.messages().length >= 3 ? true : undefined;
    }, "the released leases at the other consumer", 15_000);
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(100);
    // Each release draws its own jittered backoff, so they may return in any order.
    expect(seqsOf(staying).sort((x, y) => x - y)).toEqual(held.map((frame) => frame.seq!).sort((x, y) => x - y));
    expect(staying.messages().every((frame) => frame.attempt === 2)).toBe(true);
    const stale = await ack(queue, held.map((frame) => frame.leaseId as string));
    expect(stale.every((result) => result.status === "stale")).toBe(true);
    expect((await stats(queue)).consumers).toBe(1);
    staying.close();
  });

  it("nacks over the socket; the message comes back after the backoff", async () => {
    const queue = uniqueName("consume-nack");
    await configureQueue(queue, FAST);
    const socket = await openConsumer(queue, 1);
    await enqueue(queue, { data: "try again" });
    await socket.waitForMessages(1);
    const first = socket.messages()[0]!;
    socket.send({ type: "nack", leaseId: first.leaseId });
    await socket.waitFor((s) => resultsOf(s).length >= 1, "the nack's result");
    expect(resultsOf(socket)[0]).toMatchObject({ op: "nack", leaseId: first.leaseId, ok: true, status: "nacked" });
    await eventually(async () => {
      await runAlarm(queue);
      return socket.messages().length >= 2 ? true : undefined;
    }, "the nacked message to be pushed again");
    expect(socket.messages()[1]).toMatchObject({ seq: first.seq, attempt: 2 });
    expect(socket.messages()[1]!.leaseId).not.toBe(first.leaseId);

    socket.send({ type: "extend", leaseId: socket.messages()[1]!.leaseId, visibilityTimeoutSeconds: 30 });
    await socket.waitFor((s) => resultsOf(s).length >= 2, "the extend's result");
    expect(resultsOf(socket)[1]).toMatchObject({ op: "extend", ok: true, status: "extended" });
    socket.close();
  });

  it("pushes a delayed message once it is due", async () => {
    const queue = uniqueName("consume-delayed");
    const socket = await openConsumer(queue, 5);
    await waitForConsumers(queue, 1);
    const enqueuedAt = Date.now();
    await enqueue(queue, { data: "later", delaySeconds: 1 });
    await roundTrip(socket);
    expect(socket.messages()).toEqual([]);
    await eventually(async () => {
      await runAlarm(queue);
      return socket.messages().length >= 1 ? true : undefined;
    }, "the delayed message to be pushed");
    expect(Date.now() - enqueuedAt).toBeGreaterThanOrEqual(1000);
    socket.close();
  });

  it("uses the consumer's own visibility timeout and redelivers an expired lease to it", async () => {
    const queue = uniqueName("consume-visibility");
    await configureQueue(queue, { backoff: FAST.backoff });
    const socket = await TestSocket.open(`/v1/queues/${queue}/consume?prefetch=1&visibilityTimeoutSeconds=1`);
    await waitForConsumers(queue, 1);
    const sentAt = Date.now();
    await enqueue(queue, { data: "slow" });
    await socket.waitForMessages(1);
    const first = socket.messages()[0]!;
    // The queue's default is 30 s; this consumer asked for 1 s.
    expect(first.leaseExpiresAt as number).toBeLessThanOrEqual(Date.now() + 1000);
    expect(first.leaseExpiresAt as number).toBeGreaterThanOrEqual(sentAt + 1000 - 50);
    // Not acked: the expired lease frees the credit and the message comes back, attempt 2.
    await eventually(async () => {
      await runAlarm(queue);
      return socket.messages().length >= 2 ? true : undefined;
    }, "the expired lease to be pushed again");
    expect(socket.messages()[1]).toMatchObject({ seq: first.seq, attempt: 2 });
    socket.send({ type: "ack", leaseId: first.leaseId });
    socket.send({ type: "ack", leaseId: socket.messages()[1]!.leaseId });
    await socket.waitFor((s) => resultsOf(s).length >= 2, "both acks' results");
    expect(resultsOf(socket).map((frame) => frame.status)).toEqual(["stale", "acked"]);
    socket.close();
  });

  it("answers invalid frames with an error frame and stays open", async () => {
    const queue = uniqueName("consume-bad-frames");
    const socket = await openConsumer(queue, 1);
    socket.send("this is not json");
    socket.send({ type: "subscribe" });
    socket.send({ type: "ack" });
    socket.send({ type: "nack", leaseId: "x", delaySeconds: -5 });
    await socket.waitFor((s) => errorsOf(s).length >= 4, "four error frames");
    expect(errorsOf(socket).map((frame) => frame.code)).toEqual(["invalid_json", "invalid_frame", "invalid_frame", "invalid_frame"]);
    expect(errorsOf(socket).every((frame) => typeof frame.message === "string")).toBe(true);
    expect(socket.closed).toBeNull();

    await enqueue(queue, { data: "still served" });
    await socket.waitForMessages(1);
    socket.send({ type: "ack", leaseId: socket.messages()[0]!.leaseId });
    await socket.waitFor((s) => resultsOf(s).length >= 1, "the ack's result");
    expect(resultsOf(socket)[0]).toMatchObject({ status: "acked" });
    socket.close();
  });

  it("closes the socket with 4400 on a binary frame", async () => {
    const queue = uniqueName("consume-binary");
    const socket = await openConsumer(queue, 1);
    socket.socket.send(new Uint8Array([1, 2, 3]));
    await socket.waitFor((s) => s.closed !== null, "the socket to close");
    expect(socket.closed!.code).toBe(4400);
  });

  it("refuses consume without an upgrade or with a bad prefetch", async () => {
    const queue = uniqueName("consume-refused");
    await expectError(await api(`/v1/queues/${queue}/consume`), 426, "websocket_required");
    await expectError(await api(`/v1/queues/${queue}/consume?prefetch=0`, { headers: { Upgrade: "websocket" } }), 400, "invalid_query");
    await expectError(await api(`/v1/queues/${queue}/consume?prefetch=abc`, { headers: { Upgrade: "websocket" } }), 400, "invalid_query");
  });
});
