/**
 * The SDK (src/client) against the bundled worker served on workerd: a subscriber keeps a
 * complete, duplicate-free sequence while the server is stopped and started under running
 * publishes (as a deploy drops every socket), over WebSocket and over the SSE fallback; a
 * queue consumer's ack/nack helpers settle every message once; API failures arrive as
 * EdgepostError with the contract's status and code.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Edgepost, EdgepostError, type ConsumedMessage, type LeaseResult, type PublishResult, type Subscription, type TopicMessage } from "../../src/client";
import { crashAt } from "./chaos";
import { uniqueName } from "./clients";
import { ROOT_KEY, useServer } from "./server";
import { Inbox, range, withTimeout } from "./wait";

const DELIVERY_TIMEOUT_MS = 60_000;
const PUBLISHES = 500;
/** Restart once the subscriber holds this many: some before the drop, most after. */
const RESTART_AFTER_RECEIVED = 100;
/** Runs of the restart scenario before giving up on catching publishes still running. */
const RESTART_ATTEMPTS = 5;

/**
 * A fixed address in front of the server, like the hostname a deploy keeps: a restarted
 * server comes back on a new port, the relay's stays. While the server is down, connections
 * are refused; when it stops, every connection through the relay drops with it.
 */
class Relay {
  private readonly open = new Set<net.Socket>();
  private constructor(private readonly listener: net.Server) {}

  static async start(upstream: () => URL | null): Promise<Relay> {
    const listener = net.createServer();
    const relay = new Relay(listener);
    listener.on("connection", (client) => relay.pipe(client, upstream()));
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    return relay;
  }

  get url(): string {
    const address = this.listener.address() as net.AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }

  private pipe(client: net.Socket, target: URL | null): void {
    if (!target) return void client.destroy();
    const server = net.connect(Number(target.port), target.hostname);
    this.open.add(client).add(server);
    const drop = () => {
      client.destroy();
      server.destroy();
      this.open.delete(client);
      this.open.delete(server);
    };
    for (const socket of [client, server]) {
      // No Nagle delay: small frames pass through at once, as they would without the relay.
      socket.setNoDelay(true);
      socket.on("error", drop);
      socket.on("close", drop);
    }
    client.pipe(server);
    server.pipe(client);
  }
}

const server = useServer();
let relay: Relay;

beforeAll(async () => {
  relay = await Relay.start(() => (server.pid === null ? null : new URL(server.url)));
});

afterAll(async () => {
  await relay?.close();
});

/** A client through the relay that rides out a restart: retries and reconnects come quickly. */
function resilientClient(token = ROOT_KEY): Edgepost {
  return new Edgepost({
    url: relay.url,
    token,
    retry: { attempts: 100, minDelayMs: 50, maxDelayMs: 500 },
    reconnect: { minDelayMs: 100, maxDelayMs: 1_000 },
  });
}

/** A client straight to the server that never retries, for error cases. */
function directClient(token = ROOT_KEY): Edgepost {
  return new Edgepost({ url: server.url, token, retry: { attempts: 1 } });
}

/** The EdgepostError `promise` rejects with (fails the test if it resolves or throws anything else). */
async function edgepostError(promise: Promise<unknown>, label: string): Promise<EdgepostError> {
  const error = await withTimeout(
    promise.then(
      () => new Error(`${label}: expected an EdgepostError, but it succeeded`),
      (caught: unknown) => caught,
    ),
    DELIVERY_TIMEOUT_MS,
    () => `${label}: no outcome`,
  );
  if (!(error instanceof EdgepostError)) throw new Error(`${label}: expected an EdgepostError, got ${String(error)}`);
  return error;
}

/** What one run of the restart scenario saw; `publishedWhenDown` < PUBLISHES: it caught its moment. */
interface RestartRun {
  topic: string;
  client: Edgepost;
  subscription: Subscription;
  inbox: Inbox<TopicMessage>;
  acked: PublishResult[];
  publishedWhenDown: number;
}

/**
 * One publisher and one subscriber on a new topic; once the subscriber holds
 * RESTART_AFTER_RECEIVED messages the server is stopped (killed with `hard`) and started again
 * on a new port, and the publisher runs to the end. The moment counts only if publishes were
 * still owed when the server was down (a loaded machine can let the publisher finish first);
 * a missed run is closed and `crashAt` sets it up again on a new topic.
 */
async function publishAcrossRestart(transport: "websocket" | "sse", hard: boolean): Promise<RestartRun> {
  const topic = uniqueName(`sdk-${transport}`);
  const client = resilientClient();
  const inbox = new Inbox<TopicMessage>(`${transport} subscriber`);
  const subscription = client.subscribe(topic, {
    after: 0,
    transport,
    onMessage: (message) => inbox.push(message),
    onError: (error) => inbox.end(`subscription failed: ${String(error)}`),
  });

  // One publisher, in order, retrying through the outage with the same id each time.
  const acked: PublishResult[] = [];
  const publishing = (async () => {
    for (let n = 1; n <= PUBLISHES; n++) acked.push(await client.publish(topic, { n }, { id: `${topic}-${n}` }));
  })();

  await inbox.waitUntil((items) => items.length >= RESTART_AFTER_RECEIVED, DELIVERY_TIMEOUT_MS, `${RESTART_AFTER_RECEIVED} messages before the restart`);
  await server.stop({ hard });
  // Counted while the server is down: nothing can be acked now.
  const publishedWhenDown = acked.length;
  await server.revive({ samePort: false });
  await withTimeout(publishing, DELIVERY_TIMEOUT_MS, () => `publisher stuck at ${acked.length} of ${PUBLISHES}`);
  if (publishedWhenDown >= PUBLISHES) {
    subscription.close();
    await subscription.closed;
  }
  return { topic, client, subscription, inbox, acked, publishedWhenDown };
}

describe("subscribers across a server restart under running publishes", () => {
  for (const [transport, hard] of [
    ["websocket", false],
    ["sse", true],
  ] as const) {
    it(`${transport}: seqs 1..N, no gap, no duplicate, each the message published (server ${hard ? "killed" : "stopped"} mid-stream)`, async () => {
      const { topic, client, subscription, inbox, acked } = await crashAt(server, () => publishAcrossRestart(transport, hard), (run) => run.publishedWhenDown < PUBLISHES, {
        attempts: RESTART_ATTEMPTS,
        describe: "the server down while publishes were still running",
      });
      // One more message: once it arrives, everything before it has arrived (or never will).
      const marker = await client.publish(topic, "end", { id: `${topic}-end` });
      await inbox.waitUntil((items) => items.some((item) => item.seq === marker.seq), DELIVERY_TIMEOUT_MS, `the end marker (seq ${marker.seq})`);
      subscription.close();

      expect(subscription.reconnects, "the subscriber reconnected after the drop").toBeGreaterThanOrEqual(1);
      expect(acked.map((result) => result.seq), "each publish stored once, in order").toEqual(range(1, PUBLISHES));
      expect(marker.seq).toBe(PUBLISHES + 1);
      expect(inbox.items.map((item) => item.seq), "received seqs: complete, in order, no duplicate").toEqual(range(1, PUBLISHES + 1));
      for (const item of inbox.items.slice(0, PUBLISHES)) {
        expect(item.topic).toBe(topic);
        expect(item.id).toBe(`${topic}-${item.seq}`);
        expect(item.data).toEqual({ n: item.seq });
      }
      await subscription.closed;
    });
  }

  it("is an async iterator too: replays from `after`, and `break` closes it", async () => {
    const topic = uniqueName("sdk-iterate");
    const client = directClient();
    await client.publishBatch(topic, range(1, 5).map((n) => ({ data: n })));
    const subscription = client.subscribe(topic, { after: 2 });
    const seen: number[] = [];
    const reading = (async () => {
      for await (const message of subscription) {
        seen.push(message.seq);
        if (message.seq === 6) break;
      }
    })();
    // Live messages follow the replay on the same iterator.
    await client.publish(topic, 6);
    await withTimeout(reading, DELIVERY_TIMEOUT_MS, () => `iterator saw ${JSON.stringify(seen)}`);
    expect(seen).toEqual([3, 4, 5, 6]);
    await withTimeout(subscription.closed, DELIVERY_TIMEOUT_MS, () => "break did not close the subscription");
  });
});

describe("queue consume with ack and nack helpers", () => {
  it("settles every message once: acked on the first delivery, or nacked then acked on the second", async () => {
    const queue = uniqueName("sdk-consume");
    const client = directClient();
    const count = 60;
    await client.enqueueBatch(queue, range(1, count).map((n) => ({ data: { n }, id: `job-${n}` })));

    const acks = new Inbox<{ id: string; attempt: number; first: LeaseResult; again: LeaseResult }>("acks");
    const nacked: string[] = [];
    const consumer = client.consume(queue, {
      prefetch: 8,
      handler: async (message: ConsumedMessage) => {
        const n = (message.data as { n: number }).n;
        // Every fifth job fails its first attempt and comes back at once.
        if (n % 5 === 0 && message.attempt === 1) {
          const result = await message.nack({ delaySeconds: 0 });
          expect(result.status, `nack of ${message.id}`).toBe("nacked");
          nacked.push(message.id);
          return;
        }
        const first = await message.ack();
        const again = await message.ack();
        acks.push({ id: message.id, attempt: message.attempt, first, again });
      },
      onError: (error) => acks.end(`consumer failed: ${String(error)}`),
    });

    await acks.waitUntil((items) => items.length >= count, DELIVERY_TIMEOUT_MS, `${count} acks`);
    const stats = await client.queueStats(queue);
    consumer.close();
    await consumer.closed;

    expect(acks.items.map((item) => item.id).sort()).toEqual(range(1, count).map((n) => `job-${n}`).sort());
    for (const item of acks.items) {
      expect(item.first, `ack of ${item.id}`).toMatchObject({ ok: true, status: "acked" });
      expect(item.again, `a second ack() of ${item.id} returns the first result`).toBe(item.first);
      expect(item.attempt, `attempt of ${item.id}`).toBe(Number(item.id.slice(4)) % 5 === 0 ? 2 : 1);
    }
    expect(nacked.sort()).toEqual(range(1, count / 5).map((k) => `job-${k * 5}`).sort());
    expect(stats).toMatchObject({ acked: count, ready: 0, inFlight: 0, delayed: 0, redeliveries: count / 5, deadLettered: 0 });
  });
});

describe("errors are EdgepostError with the contract's status and code", () => {
  it("bad credentials, out of scope, bad input and no server", async () => {
    const topic = uniqueName("sdk-errors");
    const admin = directClient();
    const { token } = await admin.mintToken({ scopes: { subscribe: [`${topic}*`] }, ttlSeconds: 600 });
    const subscriber = directClient(token);

    expect(await edgepostError(directClient("not-a-key").publish(topic, 1), "bad key")).toMatchObject({ status: 401, code: "unauthorized" });
    expect(await edgepostError(subscriber.publish(topic, 1), "publish without scope")).toMatchObject({ status: 403, code: "forbidden" });
    expect(await edgepostError(admin.publish("not a name!", 1), "bad name")).toMatchObject({ status: 400, code: "invalid_name" });
    expect(await edgepostError(admin.history(topic, { limit: 5_000 }), "limit too large")).toMatchObject({ status: 400, code: "invalid_query" });
    const tooLarge = await edgepostError(admin.publish(topic, "x".repeat(300 * 1024)), "message too large");
    expect(tooLarge).toMatchObject({ status: 413, code: "message_too_large" });

    const refused = new Edgepost({ url: "http://127.0.0.1:9", token: ROOT_KEY, retry: { attempts: 1 } });
    expect(await edgepostError(refused.topicStats(topic), "no server")).toMatchObject({ status: 0, code: "network_error" });
  });

  it("a subscription or consumer the server refuses ends with that error instead of reconnecting forever", async () => {
    const topic = uniqueName("sdk-refused");
    const admin = directClient();
    const { token } = await admin.mintToken({ scopes: { subscribe: [topic] }, ttlSeconds: 600 });
    const scoped = directClient(token);

    for (const transport of ["websocket", "sse"] as const) {
      const badKey = directClient("not-a-key").subscribe(topic, { after: 0, transport });
      expect(await edgepostError(badKey.closed, `${transport} with a bad key`)).toMatchObject({ status: 401, code: "unauthorized" });
      const outOfScope = scoped.subscribe(`${topic}-other`, { after: 0, transport });
      expect(await edgepostError(outOfScope.closed, `${transport} out of scope`)).toMatchObject({ status: 403, code: "forbidden" });
    }

    // The iterator throws the same error.
    const iterating = (async () => {
      for await (const _message of directClient("not-a-key").subscribe(topic, { after: 0 })) break;
    })();
    expect(await edgepostError(iterating, "iterating with a bad key")).toMatchObject({ status: 401 });

    const consumer = scoped.consume(uniqueName("sdk-refused-queue"), { handler: () => {} });
    expect(await edgepostError(consumer.closed, "consume without the consume scope")).toMatchObject({ status: 403, code: "forbidden" });
  });
});
