/**
 * Forwarding from a topic to its bound queues across a crash (issue 7). Publishers keep a
 * topic with two bound queues busy; the server's process group is killed at a moment chosen by
 * reading the objects' SQLite files (persisted.ts): forwarding runs right after each publish
 * reply and catches up within milliseconds, so the moment is caught by freezing the process
 * first (CrashableServer.killWhen). After the restart nothing is sent to the topic: only its
 * alarm, which workerd kept, can finish the forwarding. Each message must reach each queue
 * exactly once, in topic order.
 */
import { describe, expect, it } from "vitest";
import { call, uniqueName } from "./clients";
import { useCrashableServer, sleep } from "./chaos";
import { Ledger, runPuller } from "./consumers";
import { countRows, objectDatabase, persistedAlarmAt, readDatabase, type ObjectClass } from "./persisted";
import { publishLoop, type PublishRecord } from "./resilient";
import { pollUntil, range } from "./wait";

const ALARM_TIMEOUT_MS = 20_000;

const server = useCrashableServer("crash-forwarding");

/** Per bound queue, at one moment: messages the topic logged that the queue lacks, and forwards the outbox still owes it. */
interface ForwardingState {
  missing: number;
  owed: number;
}

interface Crashed {
  topic: string;
  queues: string[];
  topicFile: string;
  /** The topic's log as the kill left it. */
  log: { seq: number; id: string }[];
  atKill: ForwardingState[];
}

/** Attempts at catching a moment before the test gives up (each sets the situation up anew). */
const CRASH_ATTEMPTS = 5;

/**
 * Bind two queues (with `queueConfig`), publish batches of 50 from four publishers, and kill the
 * server when `when` holds for the files' state; then stop the publishers. `when` is checked
 * again on what the kill left on disk (a live reader of SQLite's WAL may see less than is
 * durable): if the moment was missed, the server is revived and it all starts again on a new
 * topic, so load can delay the moment but not fail the test.
 */
function crashWhileForwarding(queueConfig: Record<string, unknown>, when: (states: ForwardingState[]) => boolean, describe: string): Promise<Crashed> {
  return server.crashAt(() => attemptCrash(queueConfig, when, describe), (crashed) => when(crashed.atKill), { attempts: CRASH_ATTEMPTS, describe });
}

async function attemptCrash(queueConfig: Record<string, unknown>, when: (states: ForwardingState[]) => boolean, describe: string): Promise<Crashed> {
  const topic = uniqueName("fwd");
  const queues = [uniqueName("fwd-a"), uniqueName("fwd-b")];
  for (const queue of queues) await call(server, "PUT", `/v1/queues/${queue}`, queueConfig, 200);
  for (const queue of queues) await call(server, "PUT", `/v1/topics/${topic}/subscriptions/${queue}`, undefined, 200);

  const records: PublishRecord[] = [];
  let stopped = false;
  const next = { n: 0 };
  const acked = () => records.filter((record) => record.outcome === "acked").length;
  const idPrefix = uniqueName("evt");
  const publishers = range(0, 3).map((publisher) =>
    publishLoop(server, { publisher, pathFor: () => `/v1/topics/${topic}/messages`, next, idPrefix, size: () => 50, stop: () => stopped, record: (record) => records.push(record) }),
  );
  await pollUntil(async () => (acked() >= 20 ? true : undefined), 30_000, () => `20 batches published; have ${acked()}`, 5);

  // Each object's file is found through its alarm row; every one of them has one as soon as it
  // holds messages (retention). Wait for all three before watching for the moment.
  const findFile = (className: ObjectClass, name: string) => {
    try {
      return objectDatabase(server.persistDir, className, name);
    } catch {
      return undefined;
    }
  };
  const [topicFile, ...queueFiles] = await pollUntil(
    async () => {
      const files = [findFile("TopicObject", topic), ...queues.map((queue) => findFile("QueueObject", queue))];
      return files.every((file) => file !== undefined) ? (files as string[]) : undefined;
    },
    30_000,
    () => `the database files of ${topic} and its bound queues (forwarding has not reached them)`,
    20,
  );
  // Messages a queue holds; none are consumed yet, so: how many were forwarded to it.
  const states = (): ForwardingState[] => {
    const logged = countRows(topicFile!, "messages");
    return queues.map((queue, index) => ({ missing: logged - countRows(queueFiles[index]!, "messages"), owed: countRows(topicFile!, "outbox", `queue = '${queue}'`) }));
  };
  // A read that fails while workerd writes (busy) says nothing: not the moment.
  const holds = () => {
    try {
      return when(states());
    } catch {
      return false;
    }
  };
  await server.killWhen(holds, 30_000, describe);
  stopped = true;

  const log = readDatabase(topicFile!, (db) => db.prepare("SELECT seq, id FROM messages ORDER BY seq").all() as { seq: number; id: string }[]);
  const atKill = states();
  console.log(`crash-forwarding: ${log.length} messages logged; per queue when killed: ${atKill.map((state) => `${state.missing} missing, ${state.owed} owed`).join("; ")}`);
  expect(persistedAlarmAt(server.persistDir, "TopicObject", topic), "the topic's alarm was stored").not.toBeNull();
  const logged = new Set(log.map((row) => row.id));
  expect(records.filter((record) => record.outcome === "acked").flatMap((record) => record.ids).filter((id) => !logged.has(id)), "acknowledged but not logged").toEqual([]);
  // Publishers stop at their first failure and wait for the restart, then see `stopped`.
  void Promise.all(publishers);
  return { topic, queues, topicFile: topicFile!, log, atKill };
}

/** Consume both queues (never touching the topic) and check each got the log exactly once, in order. */
async function expectForwardedExactlyOnce({ queues, topicFile, log }: Crashed): Promise<void> {
  const total = log.length;
  const ledgers = queues.map(() => new Ledger());
  const pullers = queues.map((queue, index) => runPuller(server, queue, `puller ${queue}`, ledgers[index]!, () => ledgers[index]!.ackedCounts().size >= total, 100));
  for (const [index, ledger] of ledgers.entries()) {
    await ledger.waitUntil(() => ledger.ackedCounts().size >= total, 60_000, () => `${total} acked from ${queues[index]}; have ${ledger.ackedCounts().size}, outbox ${countRows(topicFile, "outbox")}`);
  }
  await Promise.all(pullers);
  // Forwards that reached a queue before the kill but were not yet struck from the outbox are
  // sent again by the alarm: the queue must recognise them (its counters below).
  await pollUntil(async () => (countRows(topicFile, "outbox") === 0 ? true : undefined), ALARM_TIMEOUT_MS, () => `outbox emptied; ${countRows(topicFile, "outbox")} left`, 100);

  const topicSeqById = new Map(log.map((row) => [row.id, row.seq]));
  for (const [index, ledger] of ledgers.entries()) {
    const queue = queues[index]!;
    expect(await call(server, "GET", `/v1/queues/${queue}`, undefined, 200), `${queue}: stored each message once, all consumed`).toMatchObject({ enqueued: total, acked: total, ready: 0, inFlight: 0 });
    const deliveries = ledger.deliveries.map((delivery) => delivery.message);
    expect(deliveries.length, `${queue}: each message delivered once`).toBe(total);
    expect(new Set(deliveries.map((message) => message.id))).toEqual(new Set(topicSeqById.keys()));
    const inQueueOrder = [...deliveries].sort((a, b) => a.seq - b.seq).map((message) => topicSeqById.get(message.id));
    expect(inQueueOrder, `${queue}: topic order kept`).toEqual(range(1, total));
  }
}

describe("topic to queue forwarding across a crash", () => {
  it("resumes forwarding by the topic's own alarm: each message reaches each bound queue once, in order", async () => {
    const crashed = await crashWhileForwarding({}, (states) => states.some((state) => state.missing > 0), "a bound queue is behind the topic");
    expect(Math.max(...crashed.atKill.map((state) => state.missing)), "forwarding was unfinished when the server died").toBeGreaterThan(0);
    for (const state of crashed.atKill) expect(state.owed, "what a queue lacks is owed in the outbox").toBeGreaterThanOrEqual(state.missing);
    await server.revive();
    await expectForwardedExactlyOnce(crashed);
  });

  it("does not forward twice what a queue stored just before the crash, even when the queue's dedup window has passed by the restart", async () => {
    // The kill lands after a queue stored a batch and before the topic struck it from its
    // outbox, so the topic sends it again after the restart. The queue recognises forwards by
    // key only within its publisher dedup window (dedupWindowSeconds); here that window (1 s)
    // is over by then, as the default 10 minutes would be after a longer outage.
    const crashed = await crashWhileForwarding({ dedupWindowSeconds: 1 }, (states) => states.some((state) => state.owed > state.missing), "a queue holds forwards its outbox still owes");
    expect(crashed.atKill.some((state) => state.owed > state.missing), "forwards delivered but not struck when killed").toBe(true);
    // The window is wall-clock time: let it pass (a pause for time itself, not for a state).
    await sleep(2000);
    await server.revive();
    await expectForwardedExactlyOnce(crashed);
  });
});
