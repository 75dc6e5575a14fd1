/**
 * Batched frames (`batch=1`, DESIGN.md): topic subscribers get `{"type":"messages"}` frames,
 * one per replay page and one per commit, in seq order with no gap and no duplicate across
 * frames; queue consumers get pushed batches and settle many leases with one frame.
 */
import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { PreparedMessage } from "../../src/protocol/frames";
import { api, TestSocket, uniqueName, type Frame } from "./helpers";
import { expectError, publishMany, range } from "./topic-helpers";
import { enqueueBatch, pull, stats as queueStats } from "./queue-helpers";

interface BatchFrame extends Frame {
  type: "messages";
  messages: { seq: number; id: string; data: unknown; leaseId?: string; attempt?: number }[];
}

const batchesOf = (socket: TestSocket) => socket.frames.filter((frame): frame is BatchFrame => frame.type === "messages");
const seqsOf = (socket: TestSocket) => batchesOf(socket).flatMap((frame) => frame.messages.map((message) => message.seq));

function prepared(data: unknown): PreparedMessage {
  const text = JSON.stringify(data);
  return { data: text, attributes: null, size: text.length };
}

/** Publish `count` messages in one turn of the topic object: one group, one commit. */
function publishInOneTurn(topic: string, count: number): Promise<void> {
  return runInDurableObject(env.TOPIC.getByName(topic), async (instance) => {
    const object = instance as unknown as { publish(messages: PreparedMessage[]): Promise<unknown> };
    await Promise.all(range(1, count).map((n) => object.publish([prepared({ n })])));
  });
}

describe("batched frames: topic subscribers", () => {
  it("replays page by page, one frame per page, then live, with no gap or duplicate across frames", async () => {
    const topic = uniqueName("bf-replay");
    await publishMany(topic, 450);
    const socket = await TestSocket.open(`/v1/topics/${topic}/subscribe?after=0&batch=1`);
    // Live publishes while the replay runs: concurrent singles and batches.
    const live = Array.from({ length: 30 }, (_, k) =>
      api(`/v1/topics/${topic}/messages`, { body: k % 3 === 0 ? { messages: [{ data: { k, part: 0 } }, { data: { k, part: 1 } }] } : { data: { k } } }),
    );
    const responses = await Promise.all(live);
    expect(responses.every((response) => response.status === 201)).toBe(true);
    const total = 450 + 30 + 10;
    await socket.waitFor((s) => seqsOf(s).length >= total, `${total} messages in batched frames`, 15_000);
    expect(socket.frames.filter((frame) => frame.type === "message"), "no single-message frames on a batch socket").toEqual([]);
    expect(seqsOf(socket)).toEqual(range(1, total));
    for (const frame of batchesOf(socket)) {
      expect(frame.topic).toBe(topic);
      expect(frame.messages.length).toBeGreaterThan(0);
      expect(Object.keys(frame.messages[0]!).sort()).toEqual(["attributes", "data", "id", "publishedAt", "seq"]);
    }
    // The replay's first page is one frame of 200 (REPLAY_PAGE).
    expect(batchesOf(socket)[0]!.messages.map((message) => message.seq)).toEqual(range(1, 200));
    socket.close();
  });

  it("sends a lone message at once in its own frame, and what one commit stored as one frame", async () => {
    const topic = uniqueName("bf-live");
    const socket = await TestSocket.open(`/v1/topics/${topic}/subscribe?batch=1`);
    const plain = await TestSocket.open(`/v1/topics/${topic}/subscribe`);
    expect((await api(`/v1/topics/${topic}/messages`, { body: { data: "alone" } })).status).toBe(201);
    await socket.waitFor((s) => seqsOf(s).length >= 1, "the lone message");
    expect(batchesOf(socket).map((frame) => frame.messages.map((message) => message.data))).toEqual([["alone"]]);

    await publishInOneTurn(topic, 25);
    await socket.waitFor((s) => seqsOf(s).length >= 26, "the group's messages");
    expect(batchesOf(socket).map((frame) => frame.messages.length), "the group of 25 publishes is one frame").toEqual([1, 25]);
    expect(seqsOf(socket)).toEqual(range(1, 26));
    // The same topic's plain subscriber still gets one frame per message.
    await plain.waitForMessages(26);
    expect(plain.messages().map((frame) => frame.seq)).toEqual(range(1, 26));
    expect(plain.frames.filter((frame) => frame.type === "messages")).toEqual([]);
    socket.close();
    plain.close();
  });

  it("resumes with after= across frames: nothing twice, nothing missing", async () => {
    const topic = uniqueName("bf-resume");
    await publishMany(topic, 120);
    const first = await TestSocket.open(`/v1/topics/${topic}/subscribe?after=0&batch=1`);
    await first.waitFor((s) => seqsOf(s).length >= 120, "the first 120");
    first.close();
    const lastSeen = seqsOf(first).at(-1)!;
    await publishMany(topic, 50, 121);
    const second = await TestSocket.open(`/v1/topics/${topic}/subscribe?after=${lastSeen}&batch=1`);
    await publishInOneTurn(topic, 5);
    await second.waitFor((s) => seqsOf(s).length >= 55, "the rest");
    expect([...seqsOf(first), ...seqsOf(second)]).toEqual(range(1, 175));
    second.close();
  });

  it("keeps batching across hibernation: the choice lives in the socket's attachment", async () => {
    const topic = uniqueName("bf-hibernate");
    const socket = await TestSocket.open(`/v1/topics/${topic}/subscribe?batch=1`);
    const plain = await TestSocket.open(`/v1/topics/${topic}/subscribe`);
    await publishInOneTurn(topic, 3);
    await socket.waitFor((s) => seqsOf(s).length >= 3, "3 messages before eviction");
    await evictDurableObject(env.TOPIC.getByName(topic));
    await publishInOneTurn(topic, 4);
    await socket.waitFor((s) => seqsOf(s).length >= 7, "4 more after eviction");
    expect(batchesOf(socket).map((frame) => frame.messages.map((message) => message.seq))).toEqual([
      [1, 2, 3],
      [4, 5, 6, 7],
    ]);
    await plain.waitForMessages(7);
    expect(plain.messages().map((frame) => frame.seq)).toEqual(range(1, 7));
    socket.close();
    plain.close();
  });

  it("skips messages at or below a future `after` inside a batch, and refuses a bad batch value", async () => {
    const topic = uniqueName("bf-after");
    await publishMany(topic, 3);
    const socket = await TestSocket.open(`/v1/topics/${topic}/subscribe?after=5&batch=1`);
    await publishInOneTurn(topic, 4);
    await socket.waitFor((s) => seqsOf(s).length >= 2, "seqs 6 and 7");
    expect(seqsOf(socket)).toEqual([6, 7]);
    socket.close();
    await expectError(await api(`/v1/topics/${topic}/subscribe?batch=yes`, { headers: { upgrade: "websocket" } }), 400, "invalid_query");
  });
});

describe("batched frames: queue consumers", () => {
  it("pushes batches within prefetch and settles many leases with one ack frame, answered by one results frame", async () => {
    const queue = uniqueName("bf-consume");
    const consumer = await TestSocket.open(`/v1/queues/${queue}/consume?prefetch=40&batch=1`);
    await enqueueBatch(queue, range(1, 60).map((n) => ({ data: n })));
    await consumer.waitFor((s) => seqsOf(s).length >= 40, "40 pushed messages");
    expect(consumer.frames.filter((frame) => frame.type === "message")).toEqual([]);
    const first = batchesOf(consumer).flatMap((frame) => frame.messages);
    expect(first.map((message) => message.seq)).toEqual(range(1, 40));
    expect(batchesOf(consumer)[0]!.queue).toBe(queue);
    expect(first.every((message) => typeof message.leaseId === "string" && message.attempt === 1)).toBe(true);

    consumer.send({ type: "ack", leaseIds: first.map((message) => message.leaseId) });
    await consumer.waitFor((s) => s.frames.some((frame) => frame.type === "results"), "the results frame");
    const results = consumer.frames.find((frame) => frame.type === "results")!;
    expect(results.op).toBe("ack");
    expect(results.results).toEqual(first.map((message) => ({ leaseId: message.leaseId, ok: true, status: "acked" })));
    // Credit came back: the other 20 are pushed.
    await consumer.waitFor((s) => seqsOf(s).length >= 60, "the last 20");
    expect(seqsOf(consumer)).toEqual(range(1, 60));
    const counts = await queueStats(queue);
    expect(counts.acked).toBe(40);
    expect(counts.inFlight).toBe(20);
    consumer.close();
  });

  it("keeps a batch consumer batching across hibernation, and acks over the same socket", async () => {
    const queue = uniqueName("bf-q-hibernate");
    const consumer = await TestSocket.open(`/v1/queues/${queue}/consume?prefetch=10&batch=1`);
    await evictDurableObject(env.QUEUE.getByName(queue));
    await enqueueBatch(queue, range(1, 5).map((n) => ({ data: n })));
    await consumer.waitFor((s) => seqsOf(s).length >= 5, "5 messages after eviction");
    expect(consumer.frames.filter((frame) => frame.type === "message")).toEqual([]);
    const leases = batchesOf(consumer).flatMap((frame) => frame.messages).map((message) => message.leaseId!);
    consumer.send({ type: "ack", leaseIds: leases });
    await consumer.waitFor((s) => s.frames.some((frame) => frame.type === "results"), "the results frame");
    expect((await queueStats(queue)).acked).toBe(5);
    consumer.close();
  });

  it("answers stale and foreign lease ids in a batched ack as stale, per lease, in order, and acks the live ones", async () => {
    const queue = uniqueName("bf-stale");
    const other = uniqueName("bf-other");
    await enqueueBatch(other, [{ data: "elsewhere" }]);
    const foreign = (await pull(other))[0]!.leaseId;
    const consumer = await TestSocket.open(`/v1/queues/${queue}/consume?prefetch=5&batch=1`);
    await enqueueBatch(queue, range(1, 3).map((n) => ({ data: n })));
    await consumer.waitFor((s) => seqsOf(s).length >= 3, "3 messages");
    const [a, b, c] = batchesOf(consumer).flatMap((frame) => frame.messages).map((message) => message.leaseId!);
    consumer.send({ type: "ack", leaseId: a });
    await consumer.waitFor((s) => s.frames.some((frame) => frame.type === "result"), "the single result");
    expect(consumer.frames.find((frame) => frame.type === "result")).toEqual({ type: "result", op: "ack", leaseId: a, ok: true, status: "acked" });
    const made = "00000000-0000-4000-8000-000000000000";
    consumer.send({ type: "ack", leaseIds: [b, a, foreign, made, c] });
    await consumer.waitFor((s) => s.frames.some((frame) => frame.type === "results"), "the results frame");
    expect(consumer.frames.find((frame) => frame.type === "results")!.results).toEqual([
      { leaseId: b, ok: true, status: "acked" },
      { leaseId: a, ok: false, status: "stale" },
      { leaseId: foreign, ok: false, status: "stale" },
      { leaseId: made, ok: false, status: "stale" },
      { leaseId: c, ok: true, status: "acked" },
    ]);
    // The foreign lease still holds its message in its own queue.
    expect((await queueStats(other)).inFlight).toBe(1);
    expect((await queueStats(queue)).acked).toBe(3);
    consumer.close();
  });

  it("nacks many leases with one frame and redelivers them; refuses malformed lease lists", async () => {
    const queue = uniqueName("bf-nack");
    await api(`/v1/queues/${queue}`, { method: "PUT", body: { backoff: { minSeconds: 0.1, maxSeconds: 0.2 } } });
    const consumer = await TestSocket.open(`/v1/queues/${queue}/consume?prefetch=10&batch=1`);
    await enqueueBatch(queue, range(1, 4).map((n) => ({ data: n })));
    await consumer.waitFor((s) => seqsOf(s).length >= 4, "4 messages");
    const leases = batchesOf(consumer).flatMap((frame) => frame.messages).map((message) => message.leaseId!);
    consumer.send({ type: "nack", leaseIds: leases, delaySeconds: 0 });
    await consumer.waitFor((s) => s.frames.some((frame) => frame.type === "results"), "the nack results");
    expect(consumer.frames.find((frame) => frame.type === "results")!.results).toEqual(leases.map((leaseId) => ({ leaseId, ok: true, status: "nacked" })));
    await consumer.waitFor((s) => seqsOf(s).length >= 8, "the 4 redelivered");
    const again = batchesOf(consumer).flatMap((frame) => frame.messages).slice(4);
    expect(again.map((message) => [message.seq, message.attempt])).toEqual(range(1, 4).map((seq) => [seq, 2]));

    consumer.send({ type: "ack", leaseIds: [] });
    consumer.send({ type: "ack", leaseIds: range(1, 101).map((n) => `lease-${n}`) });
    await consumer.waitFor((s) => s.frames.filter((frame) => frame.type === "error").length >= 2, "two error frames");
    expect(consumer.frames.filter((frame) => frame.type === "error").map((frame) => frame.code)).toEqual(["invalid_frame", "invalid_frame"]);
    consumer.close();
  });
});
