/** Long polling: a pull with waitSeconds is answered the moment a message is ready, else empty at its deadline. */
import { describe, expect, it } from "vitest";
import { api, json, uniqueName } from "./helpers";
import { configureQueue, enqueue, eventually, expectError, expectStatus, FAST, nack, pull, stats, type LeasedMessage } from "./queue-helpers";

interface Timed {
  messages: LeasedMessage[];
  elapsedMs: number;
}

/** Start a long poll; resolves with what it got and how long it took. */
async function longPoll(queue: string, waitSeconds: number, extra: Record<string, unknown> = {}): Promise<Timed> {
  const started = Date.now();
  const response = await api(`/v1/queues/${queue}/pull`, { body: { waitSeconds, ...extra } });
  await expectStatus(response, 200, `long poll on ${queue}`);
  const { messages } = await json<{ messages: LeasedMessage[] }>(response);
  return { messages, elapsedMs: Date.now() - started };
}

/** Wait until `count` pulls are waiting in the object, so what follows really wakes them. */
function waitersArrive(queue: string, count: number): Promise<true> {
  return eventually(async () => ((await stats(queue)).pullsWaiting === count ? true : undefined), `${count} pulls waiting on ${queue}`);
}

describe("long polling", () => {
  it("answers empty at the deadline when nothing comes", async () => {
    const queue = uniqueName("lp-empty");
    await configureQueue(queue, FAST);
    const result = await longPoll(queue, 1);
    expect(result.messages).toEqual([]);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(950);
    expect((await stats(queue)).pullsWaiting).toBe(0);
  });

  it("answers at once when a message is ready, and with waitSeconds 0 never waits", async () => {
    const queue = uniqueName("lp-ready");
    await enqueue(queue, { data: "here" });
    const ready = await longPoll(queue, 10);
    // A long poll that waited would have been answered empty at its deadline: the message proves it did not.
    expect(ready.messages.map((message) => message.data)).toEqual(["here"]);
    const empty = await longPoll(queue, 0);
    expect(empty.messages).toEqual([]);
  });

  it("is answered by a publish made while it waits", async () => {
    const queue = uniqueName("lp-publish");
    const waiting = longPoll(queue, 15, { max: 5 });
    await waitersArrive(queue, 1);
    const { seq } = await enqueue(queue, { data: { n: 1 } });
    const result = await waiting;
    expect(result.messages.map((message) => [message.seq, message.attempt])).toEqual([[seq, 1]]);
    expect(await stats(queue)).toMatchObject({ inFlight: 1, ready: 0, pullsWaiting: 0 });
  });

  it("is answered when a delayed message falls due, with no other request arriving", async () => {
    const queue = uniqueName("lp-delayed");
    // Taken before the enqueue is sent: the server's enqueue time is later, however slow the reply.
    const sentAt = Date.now();
    const { seq } = await enqueue(queue, { data: "later", delaySeconds: 1 });
    const result = await longPoll(queue, 15);
    // A message (not the empty deadline answer), and not before it fell due.
    expect(result.messages.map((message) => message.seq)).toEqual([seq]);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(990);
  });

  it("is answered by a nack, with the next attempt", async () => {
    const queue = uniqueName("lp-nack");
    await configureQueue(queue, FAST);
    await enqueue(queue, { data: "retry me" });
    const [first] = await pull(queue);
    const waiting = longPoll(queue, 15);
    await waitersArrive(queue, 1);
    expect((await nack(queue, [first!.leaseId], 0))[0]).toMatchObject({ ok: true, status: "nacked" });
    const result = await waiting;
    expect(result.messages.map((message) => [message.seq, message.attempt])).toEqual([[first!.seq, 2]]);
  });

  it("is answered when a lease expires (the alarm wakes it)", async () => {
    const queue = uniqueName("lp-expiry");
    await configureQueue(queue, FAST);
    await enqueue(queue, { data: "abandoned" });
    const [first] = await pull(queue);
    const result = await longPoll(queue, 15);
    expect(result.messages.map((message) => [message.seq, message.attempt])).toEqual([[first!.seq, 2]]);
    expect(Date.now()).toBeGreaterThanOrEqual(first!.leaseExpiresAt);
  });

  it("answers waiters oldest first, each message to one of them", async () => {
    const queue = uniqueName("lp-fifo");
    const first = longPoll(queue, 15);
    await waitersArrive(queue, 1);
    const second = longPoll(queue, 15);
    await waitersArrive(queue, 2);
    const a = await enqueue(queue, { data: "a" });
    expect((await first).messages.map((message) => message.seq)).toEqual([a.seq]);
    expect((await stats(queue)).pullsWaiting).toBe(1);
    const b = await enqueue(queue, { data: "b" });
    expect((await second).messages.map((message) => message.seq)).toEqual([b.seq]);
  });

  it("refuses waitSeconds out of 0-20", async () => {
    const queue = uniqueName("lp-bad");
    await expectError(await api(`/v1/queues/${queue}/pull`, { body: { waitSeconds: 21 } }), 400, "invalid_request");
    await expectError(await api(`/v1/queues/${queue}/pull`, { body: { waitSeconds: -1 } }), 400, "invalid_request");
    await expectError(await api(`/v1/queues/${queue}/pull`, { body: { waitSeconds: "5" } }), 400, "invalid_request");
  });
});
