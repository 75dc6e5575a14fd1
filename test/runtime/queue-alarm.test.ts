/** The queue's alarm: idempotent runs, bounded runs, re-armed after its work throws, armed to the earliest due time. */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { QueueObject } from "../../src/queue/queue-object";
import { uniqueName } from "./helpers";
import { acceptInserts, alarmOf, configureQueue, enqueue, enqueueBatch, eventually, FAST, nack, pull, pullEventually, queueStub, refuseInserts, runAlarm, sleep, stats, storedMessages, type LeasedMessage } from "./queue-helpers";

async function waitPast(at: number, marginMs = 150): Promise<void> {
  const remaining = at + marginMs - Date.now();
  if (remaining > 0) await sleep(remaining);
}

describe("queue alarm", () => {
  it("does no harm when it runs twice: expired leases are redelivered once", async () => {
    const queue = uniqueName("alarm-twice");
    await configureQueue(queue, FAST);
    await enqueueBatch(queue, [{ data: "a" }, { data: "b" }, { data: "c" }]);
    const leased = await pull(queue, { max: 3 });
    await waitPast(Math.max(...leased.map((message) => message.leaseExpiresAt)));

    await runAlarm(queue);
    await runAlarm(queue);
    const rows = await storedMessages(queue);
    expect(rows.map((row) => [row.seq, row.attempt, row.lease_id])).toEqual(leased.map((message) => [message.seq, 1, null]));

    const redelivered = new Map<number, number>();
    await eventually(async () => {
      await runAlarm(queue);
      for (const message of await pull(queue, { max: 10 })) redelivered.set(message.seq, (redelivered.get(message.seq) ?? 0) + 1);
      return redelivered.size === 3 ? true : undefined;
    }, "all three messages to come back");
    await runAlarm(queue);
    expect(await pull(queue, { max: 10 })).toEqual([]);
    expect([...redelivered.values()]).toEqual([1, 1, 1]);
    expect(await stats(queue)).toMatchObject({ redeliveries: 3, inFlight: 3, ready: 0 });
  });

  it("does not put a dead letter twice into the dead-letter queue when run again", async () => {
    const queue = uniqueName("alarm-dead-twice");
    const dlq = `${queue}-dlq`;
    await configureQueue(queue, { ...FAST, maxAttempts: 1 });
    await enqueueBatch(queue, [{ data: 1, id: "one" }, { data: 2, id: "two" }]);
    const leased = await pull(queue, { max: 2 });
    await waitPast(Math.max(...leased.map((message) => message.leaseExpiresAt)));
    await Promise.all([runAlarm(queue), runAlarm(queue)]);
    await runAlarm(queue);
    await eventually(async () => {
      await runAlarm(queue);
      return (await stats(queue)).deadLettered === 2 ? true : undefined;
    }, "both dead letters to move");
    await runAlarm(queue);
    expect(await stats(dlq)).toMatchObject({ ready: 2, enqueued: 2 });
    expect((await pull(dlq, { max: 10 })).map((message) => message.id)).toEqual(["one", "two"]);
  });

  it("stores a repeated dead-letter transfer once (the target deduplicates on source and seq)", async () => {
    const dlq = uniqueName("alarm-dedup-dlq");
    const stub = queueStub(dlq) as unknown as DurableObjectStub<QueueObject>;
    const moved = { key: "d:some-queue:7", id: "m-7", data: '"payload"', attributes: null, source: "some-queue" };
    expect(await stub.transfer([moved])).toEqual({ ok: true, value: 1 });
    // A source that lost the reply retries the same batch.
    expect(await stub.transfer([moved])).toEqual({ ok: true, value: 0 });
    expect(await stats(dlq)).toMatchObject({ ready: 1, enqueued: 1 });
  });

  it("re-arms itself after its work throws, and finishes the work on a later run", async () => {
    const queue = uniqueName("alarm-throws");
    const dlq = uniqueName("alarm-throws-target");
    await configureQueue(queue, { ...FAST, maxAttempts: 1, deadLetterQueue: dlq });
    await refuseInserts(dlq);
    await enqueue(queue, { data: "must not be lost", id: "precious" });
    const [message] = await pull(queue);
    expect((await nack(queue, [message!.leaseId]))[0]).toMatchObject({ deadLettered: true });

    // The move fails: the dead-letter queue refuses it.
    const ranAt = Date.now();
    expect(await runAlarm(queue)).toBe(true);
    const armed = await alarmOf(queue);
    expect(armed, "alarm re-armed after a failing run").not.toBeNull();
    expect(armed!).toBeGreaterThan(ranAt);
    expect(armed!).toBeLessThanOrEqual(Date.now() + 10_000);
    expect(await stats(queue)).toMatchObject({ deadLetterPending: 1, deadLettered: 0, ready: 0 });
    expect(await stats(dlq)).toMatchObject({ enqueued: 0 });
    expect(await pull(queue)).toEqual([]);

    // Once the target accepts messages again, the re-armed alarm completes the move.
    await acceptInserts(dlq);
    expect(await runAlarm(queue)).toBe(true);
    const [dead] = await pullEventually(dlq, "the dead letter after the retry");
    expect(dead).toMatchObject({ id: "precious", data: "must not be lost" });
    expect(await stats(queue)).toMatchObject({ deadLetterPending: 0, deadLettered: 1 });
  });

  it("bounds each run (1,000 expired leases) and re-arms at once when more remain", async () => {
    const queue = uniqueName("alarm-bounded");
    await configureQueue(queue, FAST);
    for (let batch = 0; batch < 11; batch++) {
      await enqueueBatch(
        queue,
        Array.from({ length: batch < 10 ? 100 : 1 }, (_, n) => ({ data: batch * 100 + n })),
      );
    }
    const leased: LeasedMessage[] = [];
    for (let round = 0; round < 11; round++) leased.push(...(await pull(queue, { max: 100 })));
    expect(leased).toHaveLength(1001);
    // Keep the platform from running the alarm on its own: this test runs it itself.
    await runInDurableObject(queueStub(queue), (_instance, state) => state.storage.deleteAlarm());
    await waitPast(Math.max(...leased.map((message) => message.leaseExpiresAt)));

    const afterOneRun = await runInDurableObject(queueStub(queue), async (instance, state) => {
      await (instance as unknown as QueueObject).alarm();
      const { stillLeased } = state.storage.sql.exec<{ stillLeased: number }>("SELECT COUNT(*) AS stillLeased FROM messages WHERE lease_id IS NOT NULL").one();
      return { stillLeased, alarm: await state.storage.getAlarm(), now: Date.now() };
    });
    expect(afterOneRun.stillLeased).toBe(1);
    expect(afterOneRun.alarm).not.toBeNull();
    expect(afterOneRun.alarm!).toBeLessThanOrEqual(afterOneRun.now);

    await eventually(async () => {
      await runAlarm(queue);
      return (await stats(queue)).inFlight === 0 ? true : undefined;
    }, "the last expired lease to be retired");
    const after = await stats(queue);
    expect(after.ready + after.delayed).toBe(1001);
  });

  it("is armed to the lease expiry after a pull", async () => {
    const queue = uniqueName("alarm-lease");
    await enqueue(queue, { data: "x" });
    const [message] = await pull(queue, { visibilityTimeoutSeconds: 60 });
    expect(await alarmOf(queue)).toBe(message!.leaseExpiresAt);
    // An earlier lease moves the alarm earlier.
    await enqueue(queue, { data: "y" });
    const [sooner] = await pull(queue, { visibilityTimeoutSeconds: 20 });
    expect(await alarmOf(queue)).toBe(sooner!.leaseExpiresAt);
  });

  it("is armed to a delayed message's due time, the earliest of several, also after an early run", async () => {
    const queue = uniqueName("alarm-delay");
    await enqueue(queue, { data: "in a minute", delaySeconds: 60 });
    const [later] = await storedMessages(queue);
    expect(await alarmOf(queue)).toBe(later!.visible_at);

    await enqueue(queue, { data: "in 20 s", delaySeconds: 20 });
    const sooner = (await storedMessages(queue))[1]!;
    expect(await alarmOf(queue)).toBe(sooner.visible_at);

    // Running it early does nothing and re-arms to the same due time.
    expect(await runAlarm(queue)).toBe(true);
    expect(await alarmOf(queue)).toBe(sooner.visible_at);
    expect(await stats(queue)).toMatchObject({ delayed: 2, ready: 0 });
  });
});
