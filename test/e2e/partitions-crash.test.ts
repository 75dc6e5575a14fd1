/**
 * Partitioned topics under repeated crashes (issue 11): publishers send single and batch
 * publishes (keyed, or with an id only) to a topic of 4 partitions with a queue bound to it,
 * retrying each request with the same body until it is answered; the server's process group
 * is SIGKILLed at random moments and restarted on the same state. Afterwards every message is
 * stored exactly once, in the partition its key (else id) hashes to, each key in sending
 * order; a retried batch finds each partition's part stored entirely or not at all; and the
 * queue received every partition's messages once, each partition in order.
 */
import { describe, expect, it } from "vitest";
import { api, call, uniqueName, type LeasedMessage, type StoredMessage } from "./clients";
import { useCrashableServer } from "./chaos";
import { pollUntil, range } from "./wait";

const PARTITIONS = 4;
const KILLS = 3;
const PUBLISHERS = 4;
const KEYS_PER_PUBLISHER = 3;

const server = useCrashableServer("partitions-crash");

/** FNV-1a 32-bit over UTF-8 bytes, written here again from README "Partitioned topics". */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash;
}

interface Sent {
  id: string;
  key?: string;
  data: { n: number };
}

interface Answer {
  seq: number;
  id: string;
  partition: number;
  duplicate?: true;
}

/** One request and how it went: attempts until answered, and the answers of the last one. */
interface Request {
  messages: Sent[];
  batch: boolean;
  attempts: number;
  /** Attempts that got no answer (cut by a kill) or were refused while the server was down. */
  unanswered: number;
  answers: Answer[];
}

type Row = StoredMessage & { partition: number };

async function partitionLog(topic: string, partition: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (let after = 0; ; ) {
    const page = await call<{ messages: Row[] }>(server, "GET", `/v1/topics/${topic}/messages?partition=${partition}&after=${after}&limit=1000`, undefined, 200);
    if (page.messages.length === 0) return rows;
    rows.push(...page.messages);
    after = page.messages.at(-1)!.seq;
  }
}

/** Send `request` until it is answered, with the same body every time. */
async function publishUntilAnswered(topic: string, request: Request): Promise<void> {
  const body = request.batch ? { messages: request.messages } : request.messages[0];
  for (;;) {
    request.attempts++;
    try {
      const response = await api<Answer & { messages?: Answer[] }>(server, "POST", `/v1/topics/${topic}/messages`, body);
      if (response.status !== 200 && response.status !== 201) throw new Error(`publish answered ${response.status}: ${JSON.stringify(response.body)}`);
      request.answers = request.batch ? response.body.messages! : [response.body];
      return;
    } catch (error) {
      // Refused while down, or cut by a kill: either way, the same body again once it is up.
      if (error instanceof Error && error.message.startsWith("publish answered")) throw error;
      request.unanswered++;
      await server.whenUp();
    }
  }
}

describe("partitioned topics under repeated SIGKILL", () => {
  it("stores every retried publish once, in its key's partition and order, whole per partition; the bound queue gets each partition in order", async () => {
    const topic = uniqueName("pcrash");
    const queue = uniqueName("pcrash-q");
    await call(server, "PUT", `/v1/topics/${topic}`, { partitions: PARTITIONS }, 200);
    await call(server, "PUT", `/v1/topics/${topic}/subscriptions/${queue}`, {}, 200);

    const requests: Request[] = [];
    const next = { n: 0 };
    let stopped = false;
    const sentMessages = () => requests.reduce((sum, request) => sum + (request.answers.length > 0 ? request.messages.length : 0), 0);
    const publishers = range(0, PUBLISHERS - 1).map(async (publisher) => {
      while (!stopped) {
        const size = server.random() < 0.4 ? 1 : server.between(2, 20);
        const messages = range(1, size).map(() => {
          const n = next.n++;
          // Three in four keyed (a few keys per publisher), the rest routed by their id.
          const key = server.random() < 0.75 ? `p${publisher}-k${server.between(0, KEYS_PER_PUBLISHER - 1)}` : undefined;
          return { id: `${topic}-${n}`, ...(key === undefined ? {} : { key }), data: { n } };
        });
        const request: Request = { messages, batch: size > 1, attempts: 0, unanswered: 0, answers: [] };
        requests.push(request);
        await publishUntilAnswered(topic, request);
      }
    });
    await server.crashRepeatedly({ kills: KILLS, progress: sentMessages, minStep: 150, maxStep: 600, timeoutMs: 60_000 });
    const settledAt = sentMessages() + 150;
    await pollUntil(async () => (sentMessages() >= settledAt ? true : undefined), 60_000, () => `150 more answered after the last kill; have ${sentMessages()}`, 10);
    stopped = true;
    await Promise.all(publishers);

    const retried = requests.filter((request) => request.unanswered > 0);
    console.log(`partitions-crash: ${server.kills} kills, ${requests.length} requests, ${retried.length} retried`);
    expect(server.kills).toBe(KILLS);
    expect(retried.length, "requests the kills cut off, then retried").toBeGreaterThan(0);

    // Every message where its key (else id) routes it, once, as its answer says.
    const logs = await Promise.all(range(0, PARTITIONS - 1).map((partition) => partitionLog(topic, partition)));
    const stored = new Map<string, Row[]>();
    logs.forEach((rows, partition) => {
      expect(rows.map((row) => row.seq), `partition ${partition}: no holes`).toEqual(range(1, rows.length));
      for (const row of rows) {
        expect(row.partition).toBe(partition);
        stored.set(row.id, [...(stored.get(row.id) ?? []), row]);
      }
    });
    const sent = requests.flatMap((request) => request.messages);
    expect(stored.size, "stored exactly the messages sent").toBe(sent.length);
    expect([...stored].filter(([, copies]) => copies.length !== 1).map(([id]) => id), "stored more than once").toEqual([]);
    for (const request of requests) {
      request.messages.forEach((message, index) => {
        const row = stored.get(message.id)![0]!;
        expect(row.partition, `${message.id} routed by ${message.key ?? "its id"}`).toBe(fnv1a(message.key ?? message.id) % PARTITIONS);
        expect(row.data).toEqual(message.data);
        const answer = request.answers[index]!;
        expect([answer.id, answer.partition, answer.seq], `answer for ${message.id}`).toEqual([message.id, row.partition, row.seq]);
      });
    }
    // Each key in the order its publisher sent it (a publisher sends one request at a time).
    const seqsByKey = new Map<string, number[]>();
    for (const message of sent) if (message.key) seqsByKey.set(message.key, [...(seqsByKey.get(message.key) ?? []), stored.get(message.id)![0]!.seq]);
    for (const [key, seqs] of seqsByKey) expect(seqs, `key ${key}: sending order`).toEqual([...seqs].sort((a, b) => a - b));

    // A retried request found each partition's part stored entirely (duplicates) or not at all.
    let partial = 0;
    for (const request of retried) {
      const byPartition = new Map<number, boolean[]>();
      for (const answer of request.answers) byPartition.set(answer.partition, [...(byPartition.get(answer.partition) ?? []), answer.duplicate === true]);
      for (const [partition, flags] of byPartition) expect(new Set(flags).size, `retry of ${request.messages[0]!.id}: partition ${partition}'s part all or nothing`).toBe(1);
      if (new Set([...byPartition.values()].map((flags) => flags[0])).size > 1) partial++;
    }
    console.log(`partitions-crash: retried requests stored in some partitions but not others before the kill: ${partial}`);

    // The bound queue: every message once, each partition's in increasing seq.
    const received: LeasedMessage[] = [];
    await pollUntil(
      async () => {
        received.push(...(await call<{ messages: LeasedMessage[] }>(server, "POST", `/v1/queues/${queue}/pull`, { max: 100 }, 200)).messages);
        if (received.length > sent.length) throw new Error(`the queue received ${received.length} messages, more than the ${sent.length} sent`);
        return received.length === sent.length ? true : undefined;
      },
      60_000,
      () => `${sent.length} messages in the queue; have ${received.length}`,
    );
    expect(new Set(received.map((message) => message.id)).size).toBe(sent.length);
    const lastSeqOf = new Map<number, number>();
    for (const message of [...received].sort((a, b) => a.seq - b.seq)) {
      const row = stored.get(message.id)![0]!;
      expect(row.seq, `queue order within partition ${row.partition}`).toBeGreaterThan(lastSeqOf.get(row.partition) ?? 0);
      lastSeqOf.set(row.partition, row.seq);
    }
  });
});
