/**
 * Topics end to end (issue 2), over real sockets against the bundled worker served on workerd:
 * fan-out to WebSocket and SSE subscribers under concurrent publishing, resume by seq after a
 * cut connection, and durability of acknowledged publishes across server restarts.
 */
import { describe, expect, it } from "vitest";
import { call, JsonSocket, readHistory, SseStream, uniqueName, type PublishResult, type StoredMessage, type TopicFrame } from "./clients";
import { messageId, publishConcurrently, type Acked } from "./load";
import { useServer } from "./server";
import { range } from "./wait";

const DELIVERY_TIMEOUT_MS = 30_000;

const server = useServer();

const messagesPath = (topic: string) => `/v1/topics/${topic}/messages`;
const subscribePath = (topic: string, after?: number) => `/v1/topics/${topic}/subscribe${after === undefined ? "" : `?after=${after}`}`;

/** Seqs of acknowledged publishes must be exactly 1..count, each with its own id. */
function expectAcksCover(acked: readonly Acked[], count: number, idPrefix: string): Map<number, Acked> {
  const bySeq = new Map(acked.map((entry) => [entry.seq, entry]));
  expect(bySeq.size, "every acknowledged publish got its own seq").toBe(count);
  expect([...bySeq.keys()].sort((a, b) => a - b)).toEqual(range(1, count));
  for (const entry of acked) expect(entry.id).toBe(messageId(idPrefix, entry.n));
  return bySeq;
}

/** A subscriber's frames are exactly seqs 1..last, and each is the message acknowledged for it. */
function expectCompleteStream(frames: readonly TopicFrame[], topic: string, bySeq: Map<number, Acked>, last: number, label: string): void {
  expect(
    frames.map((frame) => frame.seq),
    `${label}: seqs in order, no gap, no duplicate`,
  ).toEqual(range(1, last));
  for (const frame of frames) {
    expect(frame.type).toBe("message");
    expect(frame.topic).toBe(topic);
    const acked = bySeq.get(frame.seq);
    if (!acked) continue; // The end marker: checked by seq above.
    expect(frame.id, `${label}: id of seq ${frame.seq}`).toBe(acked.id);
    expect(frame.data, `${label}: data of seq ${frame.seq}`).toEqual({ n: acked.n });
  }
}

/** Publish one more message and return its seq: once a subscriber has it, it has everything before. */
async function publishEndMarker(topic: string): Promise<number> {
  const result = await call<PublishResult>(server, "POST", messagesPath(topic), { data: "end" }, 201);
  return result.seq;
}

describe("fan-out to WebSocket and SSE subscribers", () => {
  it("delivers 1,000 messages from 8 concurrent publishers to 3 WebSocket and 1 SSE subscriber, complete and in order", async () => {
    const topic = uniqueName("fanout");
    const idPrefix = uniqueName("msg");
    const sockets = await Promise.all(range(1, 3).map((index) => JsonSocket.open<TopicFrame>(server, subscribePath(topic), `WebSocket subscriber ${index}`)));
    const sse = await SseStream.open(server, subscribePath(topic));

    const acked = await publishConcurrently(server, { path: messagesPath(topic), count: 1000, publishers: 8, idPrefix });
    const bySeq = expectAcksCover(acked, 1000, idPrefix);
    // Each publisher sent one request after another: its own messages keep their order.
    for (let publisher = 0; publisher < 8; publisher++) {
      const seqs = acked.filter((entry) => entry.publisher === publisher).map((entry) => entry.seq);
      expect(seqs, `publisher ${publisher}'s seqs`).toEqual([...seqs].sort((a, b) => a - b));
    }

    const end = await publishEndMarker(topic);
    expect(end).toBe(1001);
    for (const socket of sockets) {
      await socket.inbox.waitUntil((frames) => frames.some((frame) => frame.seq === end), DELIVERY_TIMEOUT_MS, `seq ${end}`);
    }
    await sse.inbox.waitUntil((events) => events.some((event) => event.id === String(end)), DELIVERY_TIMEOUT_MS, `event id ${end}`);

    sockets.forEach((socket, index) => expectCompleteStream(socket.inbox.items, topic, bySeq, end, `WebSocket subscriber ${index + 1}`));
    const sseFrames = sse.messages<TopicFrame>();
    expectCompleteStream(sseFrames, topic, bySeq, end, "SSE subscriber");
    const messageEvents = sse.inbox.items.filter((event) => event.event === "message");
    expect(messageEvents.map((event) => event.id), "SSE event id is the seq").toEqual(sseFrames.map((frame) => String(frame.seq)));

    await Promise.all(sockets.map((socket) => socket.close()));
    sse.close();
  });
});

describe("resume by seq after a cut connection", () => {
  it("a live subscriber cut off mid-stream and resumed with after=<last seq seen> ends with the complete sequence", async () => {
    const topic = uniqueName("resume-live");
    const idPrefix = uniqueName("msg");
    const first = await JsonSocket.open<TopicFrame>(server, subscribePath(topic), "subscriber before the cut");
    first.terminateAfterFrames(150);

    // Publishing goes on throughout: the cut, the reconnect and the replay all race it.
    const publishing = publishConcurrently(server, { path: messagesPath(topic), count: 600, publishers: 2, idPrefix });
    await first.inbox.waitUntil(() => first.inbox.ended !== null, DELIVERY_TIMEOUT_MS, "the cut after 150 frames");
    const seen = first.inbox.items;
    expect(seen.map((frame) => frame.seq)).toEqual(range(1, 150));

    const resumed = await JsonSocket.open<TopicFrame>(server, subscribePath(topic, seen.at(-1)!.seq), "resumed subscriber");
    const bySeq = expectAcksCover(await publishing, 600, idPrefix);
    const end = await publishEndMarker(topic);
    await resumed.inbox.waitUntil((frames) => frames.some((frame) => frame.seq === end), DELIVERY_TIMEOUT_MS, `seq ${end}`);

    expectCompleteStream([...seen, ...resumed.inbox.items], topic, bySeq, end, "cut and resumed subscriber");
    await resumed.close();
  });

  it("a subscriber cut off during replay and resumed with after=<last seq seen> ends with the complete sequence", async () => {
    const topic = uniqueName("resume-replay");
    const idPrefix = uniqueName("msg");
    const retained = await publishConcurrently(server, { path: messagesPath(topic), count: 500, publishers: 4, idPrefix, batchSize: 25 });

    // after=0 replays all 500 retained messages; the cut falls in the middle of that replay.
    const first = await JsonSocket.open<TopicFrame>(server, subscribePath(topic, 0), "replaying subscriber");
    first.terminateAfterFrames(120);
    await first.inbox.waitUntil(() => first.inbox.ended !== null, DELIVERY_TIMEOUT_MS, "the cut after 120 frames");
    const seen = first.inbox.items;
    expect(seen.map((frame) => frame.seq)).toEqual(range(1, 120));

    const live = publishConcurrently(server, { path: messagesPath(topic), count: 200, publishers: 2, idPrefix: `${idPrefix}-live` });
    const resumed = await JsonSocket.open<TopicFrame>(server, subscribePath(topic, 120), "resumed subscriber");
    const acked = [...retained, ...(await live)];
    const bySeq = new Map(acked.map((entry) => [entry.seq, entry]));
    expect([...bySeq.keys()].sort((a, b) => a - b)).toEqual(range(1, 700));
    const end = await publishEndMarker(topic);
    await resumed.inbox.waitUntil((frames) => frames.some((frame) => frame.seq === end), DELIVERY_TIMEOUT_MS, `seq ${end}`);

    expectCompleteStream([...seen, ...resumed.inbox.items], topic, bySeq, end, "cut and resumed subscriber");
    await resumed.close();
  });
});

/** History after a restart holds every acknowledged publish, with its seq, id and data. */
function expectHistoryKeeps(history: readonly StoredMessage[], acked: readonly Acked[]): void {
  const stored = new Map(history.map((message) => [message.seq, message]));
  const missing = acked.filter((entry) => stored.get(entry.seq)?.id !== entry.id);
  expect(missing.map((entry) => `${entry.seq}:${entry.id}`), "acknowledged publishes missing after the restart").toEqual([]);
  for (const entry of acked) expect(stored.get(entry.seq)!.data).toEqual({ n: entry.n });
}

describe("durability across server restarts", () => {
  it("keeps every acknowledged publish across a stop and start on the same state, and lastSeq continues", async () => {
    const topic = uniqueName("restart");
    const idPrefix = uniqueName("msg");
    const singles = await publishConcurrently(server, { path: messagesPath(topic), count: 200, publishers: 4, idPrefix });
    const batches = await publishConcurrently(server, { path: messagesPath(topic), count: 200, publishers: 4, idPrefix: `${idPrefix}-b`, batchSize: 10 });
    const acked = [...singles, ...batches];
    const pidBefore = server.pid;

    await server.restart();
    expect(server.pid, "a new server process").not.toBe(pidBefore);

    const { messages, lastSeq } = await readHistory(server, topic);
    expect(lastSeq).toBe(400);
    expect(messages.map((message) => message.seq)).toEqual(range(1, 400));
    expectHistoryKeeps(messages, acked);

    const next = await call<PublishResult>(server, "POST", messagesPath(topic), { data: "after restart" }, 201);
    expect(next.seq).toBe(lastSeq + 1);
    // The idempotency keys survived too: a retried publish is recognised, not stored again.
    const retry = await call<PublishResult>(server, "POST", messagesPath(topic), { id: singles[0]!.id, data: { n: singles[0]!.n } }, 200);
    expect(retry).toEqual({ seq: singles[0]!.seq, id: singles[0]!.id, duplicate: true });
  });

  it("keeps every acknowledged publish when the server is killed while publishers are running", async () => {
    const topic = uniqueName("crash");
    const idPrefix = uniqueName("msg");
    const acked: Acked[] = [];
    let killed: Promise<void> | null = null;
    // Publishers run until the server dies under them; only what was acknowledged counts.
    const publishing = publishConcurrently(server, {
      path: messagesPath(topic),
      count: 100_000,
      publishers: 4,
      idPrefix,
      onAck: (entry) => {
        acked.push(entry);
        if (acked.length === 300) killed = server.stop({ hard: true });
      },
    });
    await expect(publishing, "publishers fail once the server is gone").rejects.toThrow();
    expect(killed, "the server was killed after 300 acknowledged publishes").not.toBeNull();
    await killed;

    await server.restart();
    const { messages, lastSeq } = await readHistory(server, topic);
    expect(acked.length).toBeGreaterThanOrEqual(300);
    expect(lastSeq).toBeGreaterThanOrEqual(Math.max(...acked.map((entry) => entry.seq)));
    expect(messages.map((message) => message.seq), "the log has no holes").toEqual(range(1, lastSeq));
    expectHistoryKeeps(messages, acked);

    const next = await call<PublishResult>(server, "POST", messagesPath(topic), { data: "after crash" }, 201);
    expect(next.seq).toBe(lastSeq + 1);
  });
});
