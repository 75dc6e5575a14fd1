/**
 * Alarms across a crash (issue 7). Each object's alarm is stored by workerd beside its state
 * (do/-<Class>/metadata.sqlite, table _cf_ALARM) and workerd runs alarms that fell due while it
 * was down as soon as it starts again, without any request to the object: these tests watch the
 * object's own SQLite file to show that, and then check what clients see. Covered: leases that
 * expired during the outage, and delayed messages that fell due during it (and after it).
 * Forwarding from a topic to its bound queues, also resumed by the alarm: crash-forwarding.
 */
import { describe, expect, it } from "vitest";
import { call, uniqueName, type LeasedMessage, type PublishResult } from "./clients";
import { useCrashableServer, sleep } from "./chaos";
import { Ledger, startWsConsumer } from "./consumers";
import { messageId } from "./load";
import { countRows, objectDatabase, persistedAlarmAt } from "./persisted";
import { pollUntil, range } from "./wait";

const ALARM_TIMEOUT_MS = 20_000;

const server = useCrashableServer("crash-alarms");

const sleepUntil = (at: number) => sleep(Math.max(0, at - Date.now()));

async function enqueueBatch(queue: string, ids: string[], extra: Record<string, unknown> = {}): Promise<PublishResult[]> {
  const messages = ids.map((id) => ({ id, data: { id }, ...extra }));
  return (await call<{ messages: PublishResult[] }>(server, "POST", `/v1/queues/${queue}/messages`, { messages }, 201)).messages;
}

describe("alarms across a crash", () => {
  it("retires leases that expired while the server was down by the alarm workerd kept, and delivers them again", async () => {
    const queue = uniqueName("leases");
    await call(server, "PUT", `/v1/queues/${queue}`, { visibilityTimeoutSeconds: 2, backoff: { minSeconds: 0.1, maxSeconds: 0.2 } }, 200);
    const ids = range(1, 40).map((n) => messageId(queue, n));
    await enqueueBatch(queue, ids);
    const { messages: leased } = await call<{ messages: LeasedMessage[] }>(server, "POST", `/v1/queues/${queue}/pull`, { max: 40 }, 200);
    expect(leased.map((message) => message.attempt)).toEqual(ids.map(() => 1));
    const expiresAt = Math.max(...leased.map((message) => message.leaseExpiresAt));

    await server.kill();
    const file = objectDatabase(server.persistDir, "QueueObject", queue);
    expect(countRows(file, "messages", "lease_id IS NOT NULL"), "leased when killed").toBe(40);
    const alarmAt = persistedAlarmAt(server.persistDir, "QueueObject", queue);
    expect(alarmAt, "the alarm stored for the first lease expiry").not.toBeNull();
    expect(alarmAt!).toBeLessThanOrEqual(expiresAt);
    // The leases run out while nothing is running.
    await sleepUntil(expiresAt + 500);
    await server.revive();

    // No request reaches the queue: only its stored alarm can end the leases.
    await pollUntil(
      async () => (countRows(file, "messages", "lease_id IS NOT NULL") === 0 ? true : undefined),
      ALARM_TIMEOUT_MS,
      () => `leases retired by the alarm; ${countRows(file, "messages", "lease_id IS NOT NULL")} still held`,
      100,
    );
    const again: LeasedMessage[] = [];
    await pollUntil(
      async () => {
        again.push(...(await call<{ messages: LeasedMessage[] }>(server, "POST", `/v1/queues/${queue}/pull`, { max: 40 }, 200)).messages);
        return again.length >= 40 ? true : undefined;
      },
      ALARM_TIMEOUT_MS,
      () => `all 40 delivered again; have ${again.length}`,
    );
    expect(again.map((message) => message.id).sort()).toEqual([...ids].sort());
    expect(new Set(again.map((message) => message.attempt)), "each the second delivery").toEqual(new Set([2]));
    expect(await call(server, "GET", `/v1/queues/${queue}`, undefined, 200)).toMatchObject({ redeliveries: 40, inFlight: 40, ready: 0 });
  });

  it("delivers delayed messages that fell due during the outage at once, and those due after the restart on time", async () => {
    const queue = uniqueName("delayed");
    const duringIds = range(1, 20).map((n) => messageId(`${queue}-during`, n));
    const afterIds = range(1, 20).map((n) => messageId(`${queue}-after`, n));
    const enqueuedAt = Date.now();
    await enqueueBatch(queue, duringIds, { delaySeconds: 2 });
    await enqueueBatch(queue, afterIds, { delaySeconds: 14 });
    const due = { during: enqueuedAt + 2000, after: enqueuedAt + 14_000 };

    await server.kill();
    await sleepUntil(due.during + 500);
    await server.revive();
    expect(await call(server, "GET", `/v1/queues/${queue}`, undefined, 200), "after the restart").toMatchObject({ ready: 20, delayed: 20 });

    // An idle consumer: once it has the first 20, only the alarm can push the other 20.
    const ledger = new Ledger();
    const connectedAt = Date.now();
    expect(connectedAt, "the restart left time before the later messages fall due").toBeLessThan(due.after - 2000);
    const consumer = await startWsConsumer(server, queue, "consumer", ledger, { prefetch: 50, ack: true });
    await ledger.waitUntil(() => ledger.ackedCounts().size >= 40, 30_000, () => `40 acked; have ${ledger.ackedCounts().size}`);

    const receivedAt = new Map(ledger.deliveries.map((delivery) => [delivery.message.id, delivery.receivedAt]));
    for (const id of duringIds) expect(receivedAt.get(id)! - connectedAt, `${id}: due during the outage, delivered at once`).toBeLessThan(5000);
    for (const id of afterIds) {
      const at = receivedAt.get(id)!;
      // Stored due times are whole ms from the server's clock, the same clock as this one.
      const stored = ledger.deliveries.find((delivery) => delivery.message.id === id)!.message.publishedAt + 14_000;
      expect(at, `${id}: not before it was due`).toBeGreaterThanOrEqual(stored);
      expect(at - stored, `${id}: delivered by the alarm soon after it fell due`).toBeLessThan(3000);
    }
    expect([...ledger.ackedCounts().values()].every((count) => count === 1)).toBe(true);
    expect(ledger.deliveries.every((delivery) => delivery.message.attempt === 1)).toBe(true);
    await consumer.close();
  });
});
