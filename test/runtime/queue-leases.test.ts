/** Leases: a stale lease changes nothing, extend keeps a lease alive, expiry redelivers with a new lease. */
import { describe, expect, it } from "vitest";
import { api, json, uniqueName } from "./helpers";
import { ack, configureQueue, enqueue, eventually, extend, FAST, nack, pull, pullEventually, runAlarm, sleep, stats } from "./queue-helpers";

/** Wait (really) until `at` has passed, plus a margin for the object's clock. */
async function waitPast(at: number, marginMs = 150): Promise<void> {
  const remaining = at + marginMs - Date.now();
  if (remaining > 0) await sleep(remaining);
}

describe("queue leases", () => {
  it("answers stale for an unknown lease id and acks nothing", async () => {
    const queue = uniqueName("leases-unknown");
    await enqueue(queue, { data: "keep" });
    const [held] = await pull(queue);
    const response = await api(`/v1/queues/${queue}/ack`, { body: { leaseIds: [crypto.randomUUID(), held!.leaseId] } });
    expect(response.status).toBe(200);
    const body = await json<{ results: { leaseId: string; ok: boolean; status: string }[]; acked: number }>(response);
    expect(body.acked).toBe(1);
    expect(body.results[0]).toMatchObject({ ok: false, status: "stale" });
    expect(body.results[1]).toEqual({ leaseId: held!.leaseId, ok: true, status: "acked" });
  });

  it("acks a lease once even when a request repeats it", async () => {
    const queue = uniqueName("leases-repeat");
    await enqueue(queue, { data: "once" });
    const [message] = await pull(queue);
    const results = await ack(queue, [message!.leaseId, message!.leaseId]);
    expect(results.map((result) => result.status)).toEqual(["acked", "stale"]);
    expect((await stats(queue)).acked).toBe(1);
  });

  it("acks nothing with a lease that was already acked", async () => {
    const queue = uniqueName("leases-acked");
    await enqueue(queue, { data: "once" });
    const [message] = await pull(queue);
    expect((await ack(queue, [message!.leaseId]))[0]!.status).toBe("acked");
    const again = await api(`/v1/queues/${queue}/ack`, { body: { leaseIds: [message!.leaseId] } });
    expect(await json(again)).toEqual({ results: [{ leaseId: message!.leaseId, ok: false, status: "stale" }], acked: 0 });
    expect((await stats(queue)).acked).toBe(1);
  });

  it("acks nothing with a lease that was nacked, and the message stays", async () => {
    const queue = uniqueName("leases-nacked");
    await configureQueue(queue, FAST);
    await enqueue(queue, { data: "retry me" });
    const [message] = await pull(queue);
    expect(await nack(queue, [message!.leaseId])).toEqual([{ leaseId: message!.leaseId, ok: true, status: "nacked" }]);
    expect(await ack(queue, [message!.leaseId])).toEqual([{ leaseId: message!.leaseId, ok: false, status: "stale" }]);
    expect((await nack(queue, [message!.leaseId]))[0]!.status).toBe("stale");
    expect((await extend(queue, [message!.leaseId], 10))[0]!.status).toBe("stale");
    const [back] = await pullEventually(queue, "the nacked message to come back", { runAlarms: false });
    expect(back).toMatchObject({ seq: message!.seq, attempt: 2 });
    expect((await stats(queue)).acked).toBe(0);
  });

  it("acks nothing with an expired lease; the message is delivered again", async () => {
    const queue = uniqueName("leases-expired");
    await configureQueue(queue, FAST);
    await enqueue(queue, { data: "slow consumer" });
    const [message] = await pull(queue);
    await waitPast(message!.leaseExpiresAt);
    expect(await ack(queue, [message!.leaseId])).toEqual([{ leaseId: message!.leaseId, ok: false, status: "stale" }]);
    expect((await stats(queue)).acked).toBe(0);
    const [again] = await pullEventually(queue, "the expired message to be redelivered");
    expect(again).toMatchObject({ seq: message!.seq, id: message!.id, attempt: 2 });
  });

  it("keeps an extended lease past its original expiry", async () => {
    const queue = uniqueName("leases-extend");
    await configureQueue(queue, FAST);
    await enqueue(queue, { data: "long job" });
    const [message] = await pull(queue);
    const [extended] = await extend(queue, [message!.leaseId], 3);
    expect(extended).toEqual({ leaseId: message!.leaseId, ok: true, status: "extended" });

    await waitPast(message!.leaseExpiresAt, 300);
    // The alarm may run; it must not expire the extended lease.
    await runAlarm(queue);
    expect(await pull(queue)).toEqual([]);
    expect(await stats(queue)).toMatchObject({ inFlight: 1, ready: 0, delayed: 0 });
    expect(await ack(queue, [message!.leaseId])).toEqual([{ leaseId: message!.leaseId, ok: true, status: "acked" }]);
    expect((await stats(queue)).redeliveries).toBe(0);
  });

  it("redelivers an expired lease with attempt 2 and a new lease id; the old one is stale", async () => {
    const queue = uniqueName("leases-redeliver");
    await configureQueue(queue, FAST);
    const { id } = await enqueue(queue, { data: { n: 1 } });
    const [first] = await pull(queue);
    expect(first!.attempt).toBe(1);

    const [second] = await pullEventually(queue, "redelivery after the lease expired");
    // Expiry, then at least the first backoff (0.1 s), before it is visible again.
    expect(Date.now()).toBeGreaterThanOrEqual(first!.leaseExpiresAt + 100);
    expect(second).toMatchObject({ seq: first!.seq, id, data: { n: 1 }, attempt: 2 });
    expect(second!.leaseId).not.toBe(first!.leaseId);

    expect((await ack(queue, [first!.leaseId]))[0]!.status).toBe("stale");
    expect((await ack(queue, [second!.leaseId]))[0]!.status).toBe("acked");
    expect(await stats(queue)).toMatchObject({ redeliveries: 1, acked: 1, inFlight: 0, ready: 0 });
  });

  it("lets a pull override the visibility timeout", async () => {
    const queue = uniqueName("leases-override");
    await enqueue(queue, { data: "x" });
    const before = Date.now();
    const [message] = await pull(queue, { visibilityTimeoutSeconds: 1 });
    expect(message!.leaseExpiresAt).toBeLessThanOrEqual(Date.now() + 1000);
    expect(message!.leaseExpiresAt).toBeGreaterThanOrEqual(before + 1000 - 50);
    // The queue's own timeout is still 30 s, but the backoff default (1 s) applies after expiry.
    const back = await eventually(
      async () => {
        await runAlarm(queue);
        const messages = await pull(queue);
        return messages.length > 0 ? messages : undefined;
      },
      "the short lease to expire and the message to return",
      6000,
    );
    expect(back[0]).toMatchObject({ seq: message!.seq, attempt: 2 });
  });
});
