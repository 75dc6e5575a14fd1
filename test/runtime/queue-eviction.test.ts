/** Eviction: a queue object torn down mid-lease keeps its leases, for HTTP pullers and hibernated consumer sockets. */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { TestSocket, uniqueName, type Frame } from "./helpers";
import { ack, alarmOf, configureQueue, enqueue, enqueueBatch, eventually, FAST, pull, queueStub, runAlarm, stats, type LeasedMessage } from "./queue-helpers";

type Marked = Record<string, unknown>;

/** Evict the queue's object and prove it: a mark left on the old instance is gone from the new one. */
async function evict(queue: string, webSockets: "hibernate" | "close" = "hibernate"): Promise<void> {
  const stub = queueStub(queue);
  await runInDurableObject(stub, (instance) => {
    (instance as unknown as Marked).evictionMark = true;
  });
  await evictDurableObject(stub, { webSockets });
  expect(await runInDurableObject(stub, (instance) => (instance as unknown as Marked).evictionMark ?? false), "a new instance after eviction").toBe(false);
}

function resultsOf(socket: TestSocket): Frame[] {
  return socket.frames.filter((frame) => frame.type === "result");
}

describe("queue eviction", () => {
  it("keeps an HTTP lease across eviction: nothing is redelivered early and the ack works", async () => {
    const queue = uniqueName("evict-lease");
    await enqueue(queue, { data: "in progress", id: "job-1" });
    const [message] = await pull(queue, { visibilityTimeoutSeconds: 60 });

    await evict(queue);

    // A fresh instance still knows the lease and its expiry.
    expect(await alarmOf(queue)).toBe(message!.leaseExpiresAt);
    await runAlarm(queue);
    expect(await pull(queue)).toEqual([]);
    expect(await stats(queue)).toMatchObject({ inFlight: 1, ready: 0, redeliveries: 0 });
    expect(await ack(queue, [message!.leaseId])).toEqual([{ leaseId: message!.leaseId, ok: true, status: "acked" }]);
    expect(await stats(queue)).toMatchObject({ inFlight: 0, acked: 1 });
  });

  it("keeps a hibernated consumer's leases and prefetch: acks over the same socket work after eviction", async () => {
    const queue = uniqueName("evict-socket");
    const socket = await TestSocket.open(`/v1/queues/${queue}/consume?prefetch=2`);
    await enqueueBatch(queue, [{ data: "one" }, { data: "two" }, { data: "three" }]);
    await socket.waitForMessages(2);
    const [first, second] = socket.messages();
    expect([first!.data, second!.data]).toEqual(["one", "two"]);

    await evict(queue);
    expect(socket.closed).toBeNull();
    expect(await stats(queue)).toMatchObject({ consumers: 1, inFlight: 2, ready: 1 });

    socket.send({ type: "ack", leaseId: first!.leaseId });
    await socket.waitFor((s) => resultsOf(s).length >= 1, "the ack's result after eviction");
    expect(resultsOf(socket)[0]).toMatchObject({ type: "result", op: "ack", leaseId: first!.leaseId, ok: true, status: "acked" });

    // The freed credit (prefetch survived in the socket's attachment) brings the third message.
    await socket.waitForMessages(3);
    expect(socket.messages()[2]).toMatchObject({ data: "three", attempt: 1 });
    expect(socket.messages()).toHaveLength(3);

    socket.send({ type: "ack", leaseId: second!.leaseId });
    await socket.waitFor((s) => resultsOf(s).length >= 2, "the second ack's result");
    expect(resultsOf(socket)[1]).toMatchObject({ op: "ack", status: "acked" });
    expect(await stats(queue)).toMatchObject({ acked: 2, inFlight: 1, redeliveries: 0 });
    socket.close();
  });

  it("loses nothing when eviction closes a consumer's socket: its leases come back", async () => {
    const queue = uniqueName("evict-close");
    await configureQueue(queue, FAST);
    const socket = await TestSocket.open(`/v1/queues/${queue}/consume?prefetch=2`);
    await enqueueBatch(queue, [{ data: "x" }, { data: "y" }]);
    await socket.waitForMessages(2);
    const held = socket.messages();

    await evict(queue, "close");
    await socket.waitFor((s) => s.closed !== null, "the socket to be closed by the eviction");
    // Whether released on close or on lease expiry, both messages are delivered again.
    const again: LeasedMessage[] = [];
    await eventually(async () => {
      await runAlarm(queue);
      again.push(...(await pull(queue, { max: 10 })));
      return again.length >= 2 ? true : undefined;
    }, "the closed consumer's two messages to be delivered again");
    expect(again.map((message) => message.seq).sort((x, y) => x - y)).toEqual(held.map((frame) => frame.seq!).sort((x, y) => x - y));
    expect(again.every((message) => message.attempt === 2)).toBe(true);
    expect((await ack(queue, held.map((frame) => frame.leaseId as string))).every((result) => result.status === "stale")).toBe(true);
  });
});
