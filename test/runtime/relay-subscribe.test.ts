/**
 * Relays (issue 11): with `"relays": K`, subscribers are held by K relay objects fed by the
 * topic; for the subscriber nothing changes: same frames, same seqs, same resume, no gap, no
 * duplicate, in order, over WebSocket and SSE. Stats count the relays' subscribers.
 */
import { env, evictDurableObject, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { TestSocket, uniqueName } from "./helpers";
import { configure, publishMany, publishOk, range, SseStream, stats, waitUntil } from "./topic-helpers";

const subscribePath = (topic: string, query = "") => `/v1/topics/${topic}/subscribe${query ? `?${query}` : ""}`;
const seqsOf = (socket: TestSocket) => socket.messages().map((frame) => frame.seq);

describe("subscribing through relays", () => {
  it("delivers every message once, in order, to subscribers spread over the relays while publishes race the connects", async () => {
    const topic = uniqueName("relay-race");
    await configure(topic, { relays: 3 } as never);
    await publishMany(topic, 120);
    const publishing = (async () => {
      for (let index = 0; index < 80; index++) await publishOk(topic, { data: { live: index } });
    })();
    const sockets = await Promise.all(Array.from({ length: 12 }, (_, index) => TestSocket.open(subscribePath(topic, index % 2 === 0 ? "after=0" : "after=0&batch=1"))));
    await publishing;
    for (const socket of sockets) {
      await socket.waitFor((s) => allSeqs(s).length >= 200, "200 messages", 20_000);
      expect(allSeqs(socket)).toEqual(range(1, 200));
    }
    // The frames are a topic's frames: the topic's name, no partition on a one-partition topic.
    const plain = sockets[0]!.messages()[0]!;
    expect(plain).toMatchObject({ type: "message", topic, seq: 1 });
    expect(plain).not.toHaveProperty("partition");
    const batched = sockets[1]!.frames.find((frame) => frame.type === "messages");
    expect(batched, "batch=1 subscribers get messages frames").toBeDefined();
    await waitUntil(async () => (await stats(topic)).subscribers === 12, "stats to count the relays' 12 subscribers", 10_000);
    expect(await stats(topic)).toMatchObject({ webSocketSubscribers: 12, sseSubscribers: 0, relays: 3 });
    // The topic object itself holds none: they are all on relays.
    expect(await runInDurableObject(env.TOPIC.getByName(topic), (_instance, state) => state.getWebSockets().length)).toBe(0);
    for (const socket of sockets) socket.close();
    await waitUntil(async () => (await stats(topic)).subscribers === 0, "the count to fall back to 0", 10_000);
  });

  it("starts a subscriber without `after` at the next message, and resumes one from `after`", async () => {
    const topic = uniqueName("relay-resume");
    await configure(topic, { relays: 2 } as never);
    await publishMany(topic, 30);
    const fromNow = await TestSocket.open(subscribePath(topic));
    const resumed = await TestSocket.open(subscribePath(topic, "after=25"));
    await resumed.waitForMessages(5);
    await publishMany(topic, 3, 31);
    await fromNow.waitForMessages(3);
    await resumed.waitForMessages(8);
    expect(seqsOf(fromNow)).toEqual([31, 32, 33]);
    expect(seqsOf(resumed)).toEqual(range(26, 33));
    fromNow.close();
    resumed.close();
  });

  it("serves SSE through a relay, resuming from Last-Event-ID", async () => {
    const topic = uniqueName("relay-sse");
    await configure(topic, { relays: 2 } as never);
    await publishMany(topic, 10);
    const stream = await SseStream.open(subscribePath(topic), { "last-event-id": "4" });
    try {
      await publishOk(topic, { data: 11 });
      await stream.waitForMessages(7);
      expect(stream.seqs()).toEqual(range(5, 11));
      expect(JSON.parse(stream.messages()[0]!.data)).toMatchObject({ type: "message", topic, seq: 5 });
      await waitUntil(async () => (await stats(topic)).sseSubscribers === 1, "the SSE subscriber in stats", 10_000);
    } finally {
      await stream.cancel();
    }
  });

  it("rejects a cursor with more entries than the topic has partitions", async () => {
    const topic = uniqueName("relay-bad-cursor");
    await configure(topic, { relays: 1 } as never);
    const response = await SELF.fetch(`http://edgepost.test${subscribePath(topic, "after=1,2")}`, { headers: { accept: "text/event-stream", authorization: "Bearer test-root-key" } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("invalid_query");
  });

  it("re-syncs its relays when the topic object restarts with rows they were never fed", async () => {
    const topic = uniqueName("relay-topic-restart");
    await configure(topic, { relays: 1 } as never);
    const socket = await TestSocket.open(subscribePath(topic, "after=0"));
    await publishMany(topic, 5);
    await socket.waitForMessages(5);
    // A row written straight into the log is what a crash between commit and feed leaves.
    await runInDurableObject(env.TOPIC.getByName(topic), (_instance, state) => {
      state.storage.sql.exec("INSERT INTO messages (seq, id, data, attributes, published_at, size) VALUES (6, 'crash-6', '6', NULL, ?, 1)", Date.now());
    });
    await evictDurableObject(env.TOPIC.getByName(topic));
    // Anything that wakes the topic: it knows its relays but not what they hold, and re-syncs.
    expect((await stats(topic)).lastSeq).toBe(6);
    await socket.waitForMessages(6, 10_000);
    await publishOk(topic, { data: 7 });
    await socket.waitForMessages(7);
    expect(seqsOf(socket)).toEqual(range(1, 7));
    socket.close();
  });

  it("keeps a relay's hibernated subscribers in order after the relay is evicted", async () => {
    const topic = uniqueName("relay-evicted");
    await configure(topic, { relays: 1 } as never);
    const socket = await TestSocket.open(subscribePath(topic, "after=0"));
    await publishMany(topic, 4);
    await socket.waitForMessages(4);
    await evictDurableObject(env.RELAY.getByName(`${topic}#0`));
    expect(socket.closed).toBeNull();
    await publishMany(topic, 4, 5);
    await socket.waitForMessages(8);
    expect(seqsOf(socket)).toEqual(range(1, 8));
    // A new subscriber on the woken relay replays from before the eviction, then goes live.
    const late = await TestSocket.open(subscribePath(topic, "after=2"));
    await late.waitForMessages(6);
    await publishOk(topic, { data: 9 });
    await late.waitForMessages(7);
    await socket.waitForMessages(9);
    expect(seqsOf(late)).toEqual(range(3, 9));
    expect(seqsOf(socket)).toEqual(range(1, 9));
    socket.close();
    late.close();
  });

  it("closes the relays' subscribers (1001) when the topic is deleted, and the name starts afresh", async () => {
    const topic = uniqueName("relay-delete");
    await configure(topic, { relays: 2 } as never);
    await publishMany(topic, 3);
    const sockets = await Promise.all([1, 2, 3, 4].map(() => TestSocket.open(subscribePath(topic, "after=0"))));
    for (const socket of sockets) await socket.waitForMessages(3);
    const deleted = await SELF.fetch(`http://edgepost.test/v1/topics/${topic}`, { method: "DELETE", headers: { authorization: "Bearer test-root-key" } });
    expect(deleted.status).toBe(200);
    for (const socket of sockets) {
      await socket.waitFor((s) => s.closed !== null, "the relay to close the socket");
      expect(socket.closed!.code).toBe(1001);
    }
    // Afresh: no relays configured, seqs from 1, no relay still fed or counted.
    const fresh = await TestSocket.open(subscribePath(topic, "after=0"));
    await publishOk(topic, { data: "new" });
    await fresh.waitForMessages(1);
    expect(seqsOf(fresh)).toEqual([1]);
    expect(await stats(topic)).toMatchObject({ relays: 0, subscribers: 1, lastSeq: 1 });
    fresh.close();
  });

  it("stops feeding a relay once it holds nobody", async () => {
    const topic = uniqueName("relay-release");
    await configure(topic, { relays: 1 } as never);
    const socket = await TestSocket.open(subscribePath(topic));
    await publishOk(topic, { data: 1 });
    await socket.waitForMessages(1);
    const registered = () => runInDurableObject(env.TOPIC.getByName(topic), (_instance, state) => state.storage.sql.exec("SELECT relay FROM relays").toArray().length);
    expect(await registered()).toBe(1);
    socket.close();
    await waitUntil(async () => (await stats(topic)).subscribers === 0, "the relay to report no subscribers", 10_000);
    // The next feed finds nobody there: the relay releases itself and the topic forgets it.
    await publishOk(topic, { data: 2 });
    await waitUntil(async () => (await registered()) === 0, "the registration to go", 10_000);
    // A new subscriber attaches again and is fed.
    const again = await TestSocket.open(subscribePath(topic, "after=1"));
    await publishOk(topic, { data: 3 });
    await again.waitForMessages(2);
    expect(seqsOf(again)).toEqual([2, 3]);
    expect(await registered()).toBe(1);
    again.close();
  });
});

/** Seqs from `message` and batched `messages` frames alike. */
function allSeqs(socket: TestSocket): number[] {
  const seqs: number[] = [];
  for (const frame of socket.frames) {
    if (frame.type === "message") seqs.push(frame.seq!);
    if (frame.type === "messages") for (const message of frame.messages as { seq: number }[]) seqs.push(message.seq);
  }
  return seqs;
}
