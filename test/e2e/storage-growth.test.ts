/**
 * Storage growth (issue 7): retention and acks really free storage. Measured in the objects'
 * own SQLite files (persisted.ts) as well as through the stats endpoints.
 *
 * What "freed" means here, honestly: SQLite does not shrink a file without VACUUM (and the
 * objects never run one). Deleted rows' pages go to the freelist and are reused by later
 * writes. So the tests assert (1) the rows are gone, (2) the pages they used are on the
 * freelist, and (3) under a workload that keeps writing, the file stops growing once it has
 * reached the size of the largest working set.
 */
import { describe, expect, it } from "vitest";
import { call, uniqueName, type LeasedMessage, type LeaseResult } from "./clients";
import { countRows, databaseSize, objectDatabase, usedPages, type DatabaseSize } from "./persisted";
import { useServer } from "./server";
import { pollUntil, range } from "./wait";

const ALARM_TIMEOUT_MS = 20_000;
/** About 2 KB of data per message, so the messages dominate the file. */
const PAD = "x".repeat(2000);

interface TopicStats {
  lastSeq: number;
  retainedMessages: number;
  retainedBytes: number;
  firstRetainedSeq: number | null;
}

const server = useServer();

const topicStats = (topic: string) => call<TopicStats>(server, "GET", `/v1/topics/${topic}`, undefined, 200);

/** Publish (or enqueue) `count` padded messages with ids from `first`, in batches of 100. */
async function publishPadded(path: string, first: number, count: number): Promise<void> {
  for (let start = first; start < first + count; start += 100) {
    const messages = range(start, Math.min(start + 99, first + count - 1)).map((n) => ({ id: `m-${n}`, data: { n, pad: PAD } }));
    await call(server, "POST", path, { messages }, 201);
  }
}

function describeSize(label: string, rows: number, size: DatabaseSize): string {
  return `${label}: ${rows} rows, ${size.pages} pages (${size.freePages} free) of ${size.pageSize} B, file ${size.fileBytes} B, WAL ${size.walBytes} B`;
}

/**
 * After the first `warmup` rounds the database stops growing: the last rounds fit in freed pages.
 * How requests group into commits depends on load (group commit), and with it where b-tree
 * splits land, so the size may settle a little above the warm-up's (seen 2026-12-02 beside a
 * second e2e run: 2049, then 2063 four times): what must hold is that it settles, not its level.
 */
function expectPlateau(pages: number[], warmup: number, label: string): void {
  const ceiling = Math.max(...pages.slice(0, warmup));
  const later = pages.slice(warmup);
  const settled = later.slice(Math.floor(later.length / 2));
  // A page or two of slack per round for b-tree splits landing differently; not growth.
  expect(Math.max(...settled) - Math.min(...settled), `${label}: pages in the last rounds (${pages.join(", ")})`).toBeLessThanOrEqual(4);
  // And the level it settles at is the warm-up's, give or take 2 % (a leak grows every round).
  expect(Math.max(...later), `${label}: pages after warm-up (${pages.join(", ")})`).toBeLessThanOrEqual(Math.ceil(ceiling * 1.02) + 4);
}

describe("topic retention frees storage", () => {
  it("keeps retentionMessages rows and bytes, puts trimmed pages on the freelist, and the file stops growing", async () => {
    const topic = uniqueName("retained");
    await call(server, "PUT", `/v1/topics/${topic}`, { retentionMessages: 200 }, 200);
    // Each round is one batch (one transaction), so every round's working set is the same:
    // 200 retained plus 100 new rows, until the trim alarm takes it back to 200.
    const rounds = 10;
    const pad = "y".repeat(9000);
    const pages: number[] = [];
    let file = "";

    for (let round = 0; round < rounds; round++) {
      const ns = range(round * 100, round * 100 + 99);
      await call(server, "POST", `/v1/topics/${topic}/messages`, { messages: ns.map((n) => ({ data: { n, pad } })) }, 201);
      file ||= objectDatabase(server.persistDir, "TopicObject", topic);
      const lastSeq = (round + 1) * 100;
      const retained = Math.min(200, lastSeq);
      // Count trimming is coalesced to one alarm a second: wait for it.
      const trimmed = await pollUntil(
        async () => {
          const stats = await topicStats(topic);
          return stats.retainedMessages === retained && stats.lastSeq === lastSeq ? stats : undefined;
        },
        ALARM_TIMEOUT_MS,
        () => `round ${round + 1}: ${retained} messages retained`,
        100,
      );
      expect(trimmed.firstRetainedSeq).toBe(lastSeq - retained + 1);
      // Message n (seq n + 1) is stored as its data's JSON: the retained bytes are the newest ones'.
      const expectedBytes = range(lastSeq - retained, lastSeq - 1).reduce((sum, n) => sum + JSON.stringify({ n, pad }).length, 0);
      expect(trimmed.retainedBytes, "retained bytes are those of the retained messages").toBe(expectedBytes);
      expect(countRows(file, "messages"), "rows in the file").toBe(retained);
      const size = databaseSize(file);
      console.log(describeSize(`topic round ${round + 1}`, retained, size));
      pages.push(size.pages);
      // What holds data is about the retained messages' worth (b-tree pages are not full).
      expect(usedPages(size) * size.pageSize, "bytes in use").toBeLessThan(2 * expectedBytes + 64 * 1024);
      if (lastSeq > 200) expect(size.freePages * size.pageSize, "trimmed messages' pages on the freelist").toBeGreaterThan(90 * 9000);
    }
    // Round 2 reaches the steady working set (300 rows); from then on the file holds still
    // while another 800 messages (7 MB) pass through it.
    expectPlateau(pages, 3, "topic");
  });

  it("trims by age down to nothing: no rows, no retained bytes, no idempotency keys", async () => {
    const topic = uniqueName("aged");
    await call(server, "PUT", `/v1/topics/${topic}`, { retentionSeconds: 2, dedupWindowSeconds: 1 }, 200);
    await publishPadded(`/v1/topics/${topic}/messages`, 0, 500);
    const file = objectDatabase(server.persistDir, "TopicObject", topic);
    expect(countRows(file, "messages")).toBe(500);
    const before = databaseSize(file);

    const stats = await pollUntil(
      async () => {
        const current = await topicStats(topic);
        return current.retainedMessages === 0 ? current : undefined;
      },
      ALARM_TIMEOUT_MS,
      () => "every message trimmed by age",
      100,
    );
    expect(stats).toMatchObject({ lastSeq: 500, retainedMessages: 0, retainedBytes: 0, firstRetainedSeq: null });
    expect(countRows(file, "messages")).toBe(0);
    const after = databaseSize(file);
    console.log(describeSize("aged topic before", 500, before));
    console.log(describeSize("aged topic after", 0, after));
    // At least the 500 messages' ~1 MB of pages are free again.
    expect((after.freePages - before.freePages) * after.pageSize).toBeGreaterThan(500 * 2000);
    // The idempotency keys went too, once their one-second window had passed.
    await pollUntil(async () => (countRows(file, "dedup") === 0 ? true : undefined), ALARM_TIMEOUT_MS, () => `dedup rows expired; ${countRows(file, "dedup")} left`, 100);
  });
});

describe("acks free queue storage", () => {
  it("leaves no rows once every message is acked, reuses the freed pages, and forgets expired idempotency keys", async () => {
    const queue = uniqueName("acked");
    await call(server, "PUT", `/v1/queues/${queue}`, { dedupWindowSeconds: 1 }, 200);
    const rounds = 5;
    const perRound = 2000;
    const pages: number[] = [];
    let file = "";

    for (let round = 0; round < rounds; round++) {
      await publishPadded(`/v1/queues/${queue}/messages`, round * perRound, perRound);
      file ||= objectDatabase(server.persistDir, "QueueObject", queue);
      expect(countRows(file, "messages"), "rows once enqueued").toBe(perRound);
      const full = databaseSize(file);

      for (let acked = 0; acked < perRound; ) {
        const { messages } = await call<{ messages: LeasedMessage[] }>(server, "POST", `/v1/queues/${queue}/pull`, { max: 100 }, 200);
        expect(messages.length, "pulled while messages remain").toBeGreaterThan(0);
        const { results } = await call<{ results: LeaseResult[] }>(server, "POST", `/v1/queues/${queue}/ack`, { leaseIds: messages.map((message) => message.leaseId) }, 200);
        expect(results.every((result) => result.ok)).toBe(true);
        acked += messages.length;
      }
      expect(await call(server, "GET", `/v1/queues/${queue}`, undefined, 200)).toMatchObject({ ready: 0, inFlight: 0, delayed: 0, acked: (round + 1) * perRound });
      expect(countRows(file, "messages"), "rows once all are acked").toBe(0);
      const empty = databaseSize(file);
      console.log(describeSize(`queue round ${round + 1} full`, perRound, full));
      console.log(describeSize(`queue round ${round + 1} acked`, 0, empty));
      expect((empty.freePages - full.freePages) * empty.pageSize, "the acked messages' pages are free").toBeGreaterThan(perRound * 2000 * 0.9);
      pages.push(empty.pages);

      // Idempotency keys outlive the messages by their window, then the alarm removes them.
      await pollUntil(async () => (countRows(file, "dedup") === 0 ? true : undefined), ALARM_TIMEOUT_MS, () => `dedup rows expired; ${countRows(file, "dedup")} left`, 100);
    }
    expectPlateau(pages, 1, "queue");
  });
});
