/**
 * The SDK on partitioned topics (issue 11, DESIGN.md "Partitioned topics") against the bundled
 * worker on workerd: `publish` with a key (same key, same partition, in publish order; a
 * retried id finds its duplicate), `history` per partition, and a subscriber that tracks the
 * cursor (the server's start frame, then each message's partition and seq) and resumes with
 * it across a server restart under running publishes, over WebSocket and SSE: every
 * partition complete, in order, once.
 */
import { describe, expect, it } from "vitest";
import { Edgepost, EdgepostError, type After, type PublishResult, type Subscription, type TopicMessage } from "../../src/client";
import { crashAt } from "./chaos";
import { uniqueName } from "./clients";
import { ROOT_KEY, useServer } from "./server";
import { Inbox, range, withTimeout } from "./wait";

const DELIVERY_TIMEOUT_MS = 60_000;
const PARTITIONS = 4;
const KEYS = 8;
const PUBLISHES = 400;
/** Restart once the subscriber holds this many: some before the drop, most after. */
const RESTART_AFTER_RECEIVED = 80;
/** Runs of the restart scenario before giving up on catching publishes still running. */
const RESTART_ATTEMPTS = 5;

const server = useServer();

/** Rides out a restart: retries and reconnects come quickly. */
function resilientClient(): Edgepost {
  return new Edgepost({
    url: server.url,
    token: ROOT_KEY,
    retry: { attempts: 100, minDelayMs: 50, maxDelayMs: 500 },
    reconnect: { minDelayMs: 100, maxDelayMs: 1_000 },
  });
}

function directClient(): Edgepost {
  return new Edgepost({ url: server.url, token: ROOT_KEY, retry: { attempts: 1 } });
}

async function partitionedTopic(prefix: string, settings: { relays?: number } = {}): Promise<string> {
  const topic = uniqueName(prefix);
  const config = await directClient().configureTopic(topic, { partitions: PARTITIONS, ...settings });
  expect(config.partitions).toBe(PARTITIONS);
  return topic;
}

/** The cursor the acknowledged publishes add up to: per partition, the highest seq. */
function cursorOf(results: readonly PublishResult[]): string {
  const seqs = new Array<number>(PARTITIONS).fill(0);
  for (const result of results) seqs[result.partition!] = Math.max(seqs[result.partition!]!, result.seq);
  return seqs.join(",");
}

/** Seqs received per partition, in arrival order. */
function byPartition(messages: readonly TopicMessage[]): number[][] {
  const seqs = Array.from({ length: PARTITIONS }, () => [] as number[]);
  for (const message of messages) seqs[message.partition!]!.push(message.seq);
  return seqs;
}

describe("publish with a key, history per partition", () => {
  it("same key, same partition, in publish order; an id without a key finds its duplicate; batches too", async () => {
    const topic = await partitionedTopic("sdk-keys");
    const client = directClient();
    const results: Array<PublishResult & { key: string; n: number }> = [];
    for (let n = 1; n <= 40; n++) {
      const key = `user-${n % KEYS}`;
      results.push({ ...(await client.publish(topic, { n }, { key, id: `${topic}-${n}` })), key, n });
    }
    for (const result of results) expect(result.partition, `publish ${result.n}`).toSatisfy((p: number) => Number.isInteger(p) && p >= 0 && p < PARTITIONS);
    const partitionOfKey = new Map<string, number>();
    for (const result of results) {
      expect(partitionOfKey.get(result.key) ?? result.partition, `key ${result.key}`).toBe(result.partition);
      partitionOfKey.set(result.key, result.partition!);
    }
    // Each partition numbers its own messages 1, 2, 3, ... in publish order.
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const seqs = results.filter((result) => result.partition === partition).map((result) => result.seq);
      expect(seqs, `partition ${partition}`).toEqual(range(1, seqs.length));
    }

    // A retry without its key still routes by id, to the same partition: a duplicate.
    const first = await client.publish(topic, "by-id", { id: `${topic}-by-id` });
    const retry = await client.publish(topic, "by-id", { id: `${topic}-by-id` });
    expect(retry).toEqual({ ...first, duplicate: true });

    const batch = range(1, 20).map((n) => ({ data: { batch: n }, key: `user-${n % KEYS}`, id: `${topic}-batch-${n}` }));
    const stored = await client.publishBatch(topic, batch);
    expect(stored.map((result) => result.partition)).toEqual(batch.map((message) => partitionOfKey.get(message.key)));
    const again = await client.publishBatch(topic, batch);
    expect(again.map(({ seq, partition, duplicate }) => ({ seq, partition, duplicate }))).toEqual(stored.map(({ seq, partition }) => ({ seq, partition, duplicate: true })));

    // History, one partition at a time, in the order each key's messages were published.
    const key = "user-3";
    const partition = partitionOfKey.get(key)!;
    const page = await client.history(topic, { partition, limit: 1000 });
    expect(page.messages.every((message) => message.partition === partition)).toBe(true);
    expect(page.lastSeq).toBe(Math.max(...[...results, ...stored].filter((r) => r.partition === partition).map((r) => r.seq)));
    const published = results.filter((result) => result.key === key).map((result) => result.n);
    const numbered = page.messages.map((message) => (message.data as { n?: number }).n);
    expect(numbered.filter((n) => n !== undefined && published.includes(n))).toEqual(published);

    const refused = await client.history(topic).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused, "history without ?partition= on a partitioned topic").toBeInstanceOf(EdgepostError);
    expect(refused).toMatchObject({ status: 400 });
  });
});

/** What one run of the restart scenario saw; `publishedWhenDown` < PUBLISHES: it caught its moment. */
interface RestartRun {
  topic: string;
  subscription: Subscription;
  inbox: Inbox<TopicMessage>;
  opens: Array<{ reconnects: number; after: After | null }>;
  acked: PublishResult[];
  publishedWhenDown: number;
}

/**
 * A keyed publisher and a subscriber on a new partitioned topic; once the subscriber holds
 * RESTART_AFTER_RECEIVED messages the server is stopped (killed with `hard`) and started again
 * on the same port, and the publisher runs to the end. The moment counts only if publishes
 * were still owed while the server was down (a loaded machine can let the publisher finish
 * first); a missed run is closed and `crashAt` sets it up again on a new topic.
 */
async function publishAcrossRestart(transport: "websocket" | "sse", hard: boolean, relays: number): Promise<RestartRun> {
  const topic = await partitionedTopic(`sdk-cursor-${transport}`, { relays });
  const client = resilientClient();
  const inbox = new Inbox<TopicMessage>(`${transport} subscriber`);
  const opens: RestartRun["opens"] = [];
  const subscription = client.subscribe(topic, {
    after: 0,
    transport,
    onOpen: (info) => opens.push(info),
    onMessage: (message) => inbox.push(message),
    onError: (error) => inbox.end(`subscription failed: ${String(error)}`),
  });

  // One publisher, in order, retrying through the outage with the same id (and key) each time.
  const acked: PublishResult[] = [];
  const publishing = (async () => {
    for (let n = 1; n <= PUBLISHES; n++) acked.push(await client.publish(topic, { n }, { key: `k-${n % KEYS}`, id: `${topic}-${n}` }));
  })();

  await inbox.waitUntil((items) => items.length >= RESTART_AFTER_RECEIVED, DELIVERY_TIMEOUT_MS, `${RESTART_AFTER_RECEIVED} messages before the restart`);
  await server.stop({ hard });
  // Counted while the server is down: nothing can be acked now.
  const publishedWhenDown = acked.length;
  await server.revive();
  await withTimeout(publishing, DELIVERY_TIMEOUT_MS, () => `publisher stuck at ${acked.length} of ${PUBLISHES}`);
  if (publishedWhenDown >= PUBLISHES) {
    subscription.close();
    await subscription.closed;
  }
  return { topic, subscription, inbox, opens, acked, publishedWhenDown };
}

describe("a subscriber resumes with its cursor across a server restart under running publishes", () => {
  for (const [transport, hard, relays] of [
    ["websocket", false, 2],
    ["sse", true, 0],
  ] as const) {
    it(`${transport} (relays ${relays}, server ${hard ? "killed" : "stopped"}): every partition 1..n, in order, once`, async () => {
      const { topic, subscription, inbox, opens, acked } = await crashAt(server, () => publishAcrossRestart(transport, hard, relays), (run) => run.publishedWhenDown < PUBLISHES, {
        attempts: RESTART_ATTEMPTS,
        describe: "the server down while publishes were still running",
      });
      // Everything is in once the subscriber stands where the acknowledged publishes end.
      const end = cursorOf(acked);
      await inbox.waitUntil(() => subscription.cursor === end, DELIVERY_TIMEOUT_MS, `cursor ${end} (at ${subscription.cursor})`);
      subscription.close();
      await subscription.closed;

      expect(subscription.partitioned).toBe(true);
      expect(subscription.reconnects, "the subscriber reconnected after the drop").toBeGreaterThanOrEqual(1);
      const resumedWith = opens.find((open) => open.reconnects > 0)?.after;
      expect(typeof resumedWith === "string" && resumedWith.split(",").length === PARTITIONS, `resumed with a cursor, not ${String(resumedWith)}`).toBe(true);
      const counts = end.split(",").map(Number);
      expect(counts.reduce((sum, n) => sum + n, 0), "each publish stored once").toBe(PUBLISHES);
      expect(byPartition(inbox.items), "per partition: complete, in order, no duplicate").toEqual(counts.map((n) => range(1, n)));
      const sent = new Map(acked.map((result, index) => [`${result.partition}:${result.seq}`, index + 1]));
      for (const item of inbox.items) {
        expect(item.topic).toBe(topic);
        expect(item.data, `p${item.partition} #${item.seq}`).toEqual({ n: sent.get(`${item.partition}:${item.seq}`) });
        expect(item.id).toBe(`${topic}-${sent.get(`${item.partition}:${item.seq}`)}`);
      }
    });
  }

});

describe("the subscription's cursor", () => {
  it("without after: starts at the topic's end; its cursor, kept, resumes exactly after the last message", async () => {
    const topic = await partitionedTopic("sdk-cursor-end");
    const client = directClient();
    await client.publishBatch(topic, range(1, 12).map((n) => ({ data: { old: n }, key: `k-${n % KEYS}` })));
    const inbox = new Inbox<TopicMessage>("subscriber from the end");
    const subscription = client.subscribe(topic, { onMessage: (message) => inbox.push(message), onError: (error) => inbox.end(String(error)) });
    // The server's first frame says where the subscription starts.
    const start = await withTimeout(
      (async () => {
        while (subscription.cursor === null) await new Promise((resolve) => setTimeout(resolve, 20));
        return subscription.cursor;
      })(),
      DELIVERY_TIMEOUT_MS,
      () => "the start cursor",
    );
    const before = await Promise.all(range(0, PARTITIONS - 1).map((partition) => client.history(topic, { partition, after: 1e12 })));
    expect(start).toBe(before.map((page) => page.lastSeq).join(","));

    const fresh = await client.publishBatch(topic, range(1, 6).map((n) => ({ data: { fresh: n }, key: `k-${n % KEYS}` })));
    await inbox.waitUntil((items) => items.length >= fresh.length, DELIVERY_TIMEOUT_MS, `${fresh.length} new messages`);
    const kept = subscription.cursor!;
    subscription.close();
    expect(inbox.items.map((item) => item.data)).toEqual(expect.arrayContaining(range(1, 6).map((n) => ({ fresh: n }))));
    expect(inbox.items).toHaveLength(fresh.length);
    expect(kept).toBe(cursorOf([...before.map((page, partition) => ({ seq: page.lastSeq, partition, id: "" })), ...fresh]));

    const later = await client.publishBatch(topic, range(1, 3).map((n) => ({ data: { later: n }, key: `k-${n}` })));
    const resumed: TopicMessage[] = [];
    const reading = (async () => {
      for await (const message of client.subscribe(topic, { after: kept })) {
        resumed.push(message);
        if (resumed.length === later.length) break;
      }
    })();
    await withTimeout(reading, DELIVERY_TIMEOUT_MS, () => `resumed ${JSON.stringify(resumed.map((m) => m.data))}`);
    expect(resumed.map((message) => message.data)).toEqual(expect.arrayContaining(range(1, 3).map((n) => ({ later: n }))));
  });

  for (const transport of ["websocket", "sse"] as const) {
    it(`${transport}: a subscriber of a topic that grows from 1 to ${PARTITIONS} partitions goes on without gap or duplicate`, async () => {
      const topic = uniqueName(`sdk-grow-${transport}`);
      const client = resilientClient();
      await client.publishBatch(topic, range(1, 5).map((n) => ({ data: { before: n } })));
      const inbox = new Inbox<TopicMessage>(`${transport} subscriber across a grow`);
      const subscription = client.subscribe(topic, { after: 0, transport, onMessage: (message) => inbox.push(message), onError: (error) => inbox.end(String(error)) });
      await inbox.waitUntil((items) => items.length >= 5, DELIVERY_TIMEOUT_MS, "the 5 messages from before the grow");
      expect(subscription.cursor).toBe("5");

      // Its subscribers are closed (1012) and come back through a relay with their seq: partition 0's place.
      await client.configureTopic(topic, { partitions: PARTITIONS });
      const after = await client.publishBatch(topic, range(1, 12).map((n) => ({ data: { after: n }, key: `k-${n % KEYS}`, id: `${topic}-after-${n}` })));
      const end = cursorOf([{ seq: 5, id: "", partition: 0 }, ...after]);
      await inbox.waitUntil(() => subscription.cursor === end, DELIVERY_TIMEOUT_MS, `cursor ${end} (at ${subscription.cursor})`);
      subscription.close();

      expect(subscription.partitioned).toBe(true);
      expect(inbox.items.slice(0, 5).map((item) => item.data)).toEqual(range(1, 5).map((n) => ({ before: n })));
      const grown = inbox.items.slice(5);
      expect(grown.map((item) => item.data)).toEqual(expect.arrayContaining(after.map((_, index) => ({ after: index + 1 }))));
      expect(grown).toHaveLength(after.length);
      expect(byPartition(grown)).toEqual(end.split(",").map((n, partition) => range(partition === 0 ? 6 : 1, Number(n))));
    });
  }

  it("an unpartitioned topic keeps resuming with a seq: its cursor is the last seq", async () => {
    const topic = uniqueName("sdk-cursor-plain");
    const client = directClient();
    await client.publishBatch(topic, range(1, 3).map((n) => ({ data: n })));
    const seen: number[] = [];
    const subscription = client.subscribe(topic, { after: 1 });
    for await (const message of subscription) {
      seen.push(message.seq);
      expect(message.partition).toBeUndefined();
      if (message.seq === 3) break;
    }
    expect(seen).toEqual([2, 3]);
    expect(subscription.cursor).toBe("3");
    expect(subscription.partitioned).toBe(false);
    expect(() => client.subscribe(topic, { after: "1,x" })).toThrow(TypeError);
  });
});
