/**
 * Alarms across a crash (issue 7). Each object's alarm is stored by workerd beside its state
 * (do/-<Class>/metadata.sqlite, table _cf_ALARM) and workerd runs alarms that fell due while it
 * was down as soon as it starts again, without any request to the object: these tests watch the
 * object's own SQLite file to show that, and then check what clients see. Covered: leases that
 * expired during the outage, delayed messages that fell due during it (and after it), and
 * forwarding from a topic to its bound queues cut short by the kill.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, uniqueName, type LeasedMessage, type PublishResult } from "./clients";
import { CrashableServer, sleep } from "./chaos";
import { Ledger, runPuller, startWsConsumer } from "./consumers";
import { messageId } from "./load";
import { countRows, objectDatabase, persistedAlarmAt, readDatabase } from "./persisted";
import { publishLoop, type PublishRecord } from "./resilient";
import { stopAllServers } from "./server";
import { pollUntil, range } from "./wait";

const ALARM_TIMEOUT_MS = 20_000;

let server: CrashableServer;

beforeAll(async () => {
  server = await CrashableServer.start("crash-alarms");
});

afterAll(async () => {
  await stopAllServers();
  await server?.server.dispose();
});

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

  it("forwards every message of a topic to each bound queue exactly once after a crash, resumed by the topic's own alarm", async () => {
    const topic = uniqueName("fwd");
    const queues = [uniqueName("fwd-a"), uniqueName("fwd-b")];
    const idPrefix = uniqueName("evt");
    for (const queue of queues) await call(server, "PUT", `/v1/topics/${topic}/subscriptions/${queue}`, undefined, 200);

    // Publishers keep the topic busy; the kill lands among their batches, at a moment when a
    // bound queue's file holds fewer messages than the topic's log: forwards are owed and not
    // yet delivered. Forwarding runs right after each reply and catches up within milliseconds,
    // so the moment is caught by freezing the process first (killWhen).
    const records: PublishRecord[] = [];
    let stopped = false;
    const next = { n: 0 };
    const acked = () => records.filter((record) => record.outcome === "acked").length;
    const publishers = range(0, 3).map((publisher) =>
      publishLoop(server, { publisher, pathFor: () => `/v1/topics/${topic}/messages`, next, idPrefix, size: () => 50, stop: () => stopped, record: (record) => records.push(record) }),
    );
    await pollUntil(async () => (acked() >= 20 ? true : undefined), 30_000, () => `20 batches published; have ${acked()}`, 5);
    const topicFile = objectDatabase(server.persistDir, "TopicObject", topic);
    /** Messages a queue holds (none consumed yet, so: how many were forwarded to it). */
    const forwarded = (queue: string) => {
      try {
        return countRows(objectDatabase(server.persistDir, "QueueObject", queue), "messages");
      } catch {
        return 0; // Nothing forwarded yet: the queue has no state, no alarm, no file.
      }
    };
    const behind = () => {
      const logged = countRows(topicFile, "messages");
      return queues.map((queue) => logged - forwarded(queue));
    };
    await server.killWhen(() => behind().some((missing) => missing > 0), 30_000, "a bound queue is behind the topic");
    stopped = true;

    // The topic's log and outbox, and the queues, as the kill left them, read from their files.
    const log = readDatabase(topicFile, (db) => db.prepare("SELECT seq, id FROM messages ORDER BY seq").all() as { seq: number; id: string }[]);
    const missing = behind();
    console.log(`crash-alarms: ${log.length} messages stored, ${countRows(topicFile, "outbox")} forwards owed, queues behind by ${missing.join(" and ")} when killed`);
    expect(Math.max(...missing), "forwarding was unfinished when the server died").toBeGreaterThan(0);
    expect(countRows(topicFile, "outbox"), "what is missing is owed in the outbox").toBeGreaterThanOrEqual(Math.max(...missing));
    expect(persistedAlarmAt(server.persistDir, "TopicObject", topic), "the topic's alarm was stored").not.toBeNull();
    const storedIds = new Set(log.map((row) => row.id));
    expect(records.filter((record) => record.outcome === "acked").flatMap((record) => record.ids).filter((id) => !storedIds.has(id)), "acknowledged but not stored").toEqual([]);
    await server.revive();
    await Promise.all(publishers);

    // Consume both queues; nothing is sent to the topic, so only its alarm can resume forwarding.
    const total = log.length;
    const ledgers = queues.map(() => new Ledger());
    const pullers = queues.map((queue, index) => runPuller(server, queue, `puller ${queue}`, ledgers[index]!, () => ledgers[index]!.ackedCounts().size >= total, 100));
    for (const [index, ledger] of ledgers.entries()) {
      await ledger.waitUntil(
        () => ledger.ackedCounts().size >= total,
        60_000,
        () => `${total} acked from ${queues[index]}; have ${ledger.ackedCounts().size}, outbox ${countRows(topicFile, "outbox")}`,
      );
    }
    await Promise.all(pullers);
    // Forwards that reached a queue before the kill but were not yet struck from the outbox are
    // sent again by the alarm; the queue recognises them (stats below: nothing stored twice).
    await pollUntil(async () => (countRows(topicFile, "outbox") === 0 ? true : undefined), ALARM_TIMEOUT_MS, () => `outbox emptied; ${countRows(topicFile, "outbox")} left`, 100);

    const topicSeqById = new Map(log.map((row) => [row.id, row.seq]));
    for (const [index, ledger] of ledgers.entries()) {
      const deliveries = ledger.deliveries.map((delivery) => delivery.message);
      expect(deliveries.length, `${queues[index]}: each message delivered once`).toBe(total);
      expect(new Set(deliveries.map((message) => message.id))).toEqual(storedIds);
      const inQueueOrder = [...deliveries].sort((a, b) => a.seq - b.seq).map((message) => topicSeqById.get(message.id));
      expect(inQueueOrder, `${queues[index]}: topic order kept`).toEqual(range(1, total));
      expect(await call(server, "GET", `/v1/queues/${queues[index]}`, undefined, 200)).toMatchObject({ enqueued: total, acked: total, ready: 0, inFlight: 0 });
    }
  });
});
