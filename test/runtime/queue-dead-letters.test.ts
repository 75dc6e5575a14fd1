/** Dead letters: after maxAttempts a message moves to the dead-letter queue, can be redriven back; purge. */
import { describe, expect, it } from "vitest";
import { api, json, uniqueName } from "./helpers";
import {
  ack,
  configureQueue,
  enqueue,
  enqueueBatch,
  eventually,
  expectStatus,
  FAST,
  nack,
  pull,
  pullEventually,
  runAlarm,
  stats,
  type LeasedMessage,
} from "./queue-helpers";

/**
 * Wait until `dlq` holds a message, pulling it. Each time, the source must not hand the
 * message out: a dead letter is never deliverable in both queues.
 */
function pullDeadLetter(source: string, dlq: string): Promise<LeasedMessage> {
  return eventually(async () => {
    await runAlarm(source);
    expect(await pull(source), `source ${source} still delivers a dead letter`).toEqual([]);
    return (await pull(dlq))[0];
  }, `a dead letter in ${dlq}`);
}

/** Deliver the queue's one message `attempts` times, nacking each; returns the last nack result. */
async function failDeliveries(queue: string, attempts: number): Promise<{ deadLettered?: true; status: string }> {
  let last: { deadLettered?: true; status: string } = { status: "none" };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const [message] = await pullEventually(queue, `delivery ${attempt}`, { max: 1, runAlarms: false });
    expect(message!.attempt).toBe(attempt);
    last = (await nack(queue, [message!.leaseId]))[0]!;
  }
  return last;
}

describe("queue dead letters", () => {
  it("moves a message to {queue}-dlq after maxAttempts, with its id and data, and out of the source", async () => {
    const queue = uniqueName("dead");
    const dlq = `${queue}-dlq`;
    await configureQueue(queue, { ...FAST, maxAttempts: 2 });
    await enqueue(queue, { data: { order: 42 }, id: "order-42", attributes: { region: "eu" } });

    const last = await failDeliveries(queue, 2);
    expect(last).toMatchObject({ status: "nacked", deadLettered: true });

    const dead = await pullDeadLetter(queue, dlq);
    expect(dead).toMatchObject({ id: "order-42", data: { order: 42 }, attributes: { region: "eu" }, attempt: 1 });
    expect(await stats(queue)).toMatchObject({ deadLettered: 1, deadLetterPending: 0, ready: 0, inFlight: 0, delayed: 0 });
    // The dead-letter queue is a queue: ack takes the message off it.
    expect((await ack(dlq, [dead.leaseId]))[0]!.status).toBe("acked");
    expect(await stats(dlq)).toMatchObject({ ready: 0, inFlight: 0, enqueued: 1 });
  });

  it("dead-letters a message whose last lease expired, through the alarm", async () => {
    const queue = uniqueName("dead-expired");
    await configureQueue(queue, { ...FAST, maxAttempts: 1 });
    await enqueue(queue, { data: "never acked", id: "lost-consumer" });
    const [message] = await pull(queue);
    expect(message!.attempt).toBe(1);
    const dead = await pullDeadLetter(queue, `${queue}-dlq`);
    expect(dead).toMatchObject({ id: "lost-consumer", data: "never acked" });
    expect(await stats(queue)).toMatchObject({ deadLettered: 1, ready: 0, inFlight: 0, delayed: 0 });
    expect((await ack(queue, [message!.leaseId]))[0]!.status).toBe("stale");
  });

  it("moves dead letters that die while another move is in flight without waiting for a retry", async () => {
    const queue = uniqueName("dead-concurrent");
    const dlq = `${queue}-dlq`;
    // Long leases: no lease-expiry alarm comes early to help; the retry alarm is 5 s away.
    await configureQueue(queue, { ...FAST, visibilityTimeoutSeconds: 60, maxAttempts: 1 });
    await enqueueBatch(queue, [1, 2, 3, 4].map((n) => ({ data: n, id: `c-${n}` })));
    const leased = await pull(queue, { max: 4 });
    await Promise.all(leased.map((message) => nack(queue, [message.leaseId])));
    await eventually(async () => ((await stats(dlq)).enqueued === 4 ? true : undefined), "all four dead letters in the DLQ well before the 5 s retry", 2500);
    expect((await pull(dlq, { max: 10 })).map((message) => message.id).sort()).toEqual(["c-1", "c-2", "c-3", "c-4"]);
    expect(await stats(queue)).toMatchObject({ deadLettered: 4, deadLetterPending: 0 });
  });

  it("keeps retrying when deadLetterQueue is null", async () => {
    const queue = uniqueName("no-dlq");
    const config = await configureQueue(queue, { ...FAST, maxAttempts: 1, deadLetterQueue: null });
    expect(config.deadLetterQueue).toBeNull();
    await enqueue(queue, { data: "stubborn" });
    const last = await failDeliveries(queue, 3);
    expect(last).toEqual(expect.objectContaining({ status: "nacked" }));
    expect(last.deadLettered).toBeUndefined();
    const [fourth] = await pullEventually(queue, "a fourth delivery", { runAlarms: false });
    expect(fourth!.attempt).toBe(4);
    expect(await stats(queue)).toMatchObject({ deadLettered: 0, deadLetterPending: 0 });
    expect((await stats(`${queue}-dlq`)).enqueued).toBe(0);
  });

  it("dead-letters to a custom queue name", async () => {
    const queue = uniqueName("custom-dlq");
    const graveyard = uniqueName("graveyard");
    const config = await configureQueue(queue, { ...FAST, maxAttempts: 1, deadLetterQueue: graveyard });
    expect(config.deadLetterQueue).toBe(graveyard);
    await enqueue(queue, { data: "rip", id: "rip-1" });
    expect(await failDeliveries(queue, 1)).toMatchObject({ deadLettered: true });
    const dead = await pullDeadLetter(queue, graveyard);
    expect(dead).toMatchObject({ id: "rip-1", data: "rip" });
    expect((await stats(`${queue}-dlq`)).enqueued).toBe(0);
  });

  it("uses no dead-letter queue by default for a queue that is itself a -dlq", async () => {
    const dlq = `${uniqueName("plain")}-dlq`;
    expect((await stats(dlq)).config.deadLetterQueue).toBeNull();
  });

  it("purges ready, delayed and in-flight messages; their leases become stale", async () => {
    const queue = uniqueName("purge");
    await enqueue(queue, { data: 1 });
    await enqueue(queue, { data: 2 });
    await enqueue(queue, { data: 3, delaySeconds: 60 });
    const [held] = await pull(queue);
    const response = await api(`/v1/queues/${queue}/messages`, { method: "DELETE" });
    await expectStatus(response, 200, "purge");
    expect(await json(response)).toEqual({ purged: 3 });
    expect(await stats(queue)).toMatchObject({ ready: 0, inFlight: 0, delayed: 0 });
    expect((await ack(queue, [held!.leaseId]))[0]!.status).toBe("stale");
    // The queue keeps working after a purge.
    await enqueue(queue, { data: 4 });
    expect((await pull(queue))[0]).toMatchObject({ data: 4 });
  });
});
