/**
 * Batched frames end to end (issue 10), with real `ws` clients against the bundled worker:
 * `batch=1` subscribers under concurrent publishing (singles and batches, coalesced by group
 * commit) receive `{"type":"messages"}` frames whose messages are exactly 1..N in order, live
 * and during replay; `batch=1` consumers get pushed batches and settle them with one
 * `{"type":"ack","leaseIds"}` frame each, and every message is acked exactly once.
 */
import { describe, expect, it } from "vitest";
import { call, JsonSocket, uniqueName, type LeasedMessage, type LeaseResult, type PublishResult, type StoredMessage } from "./clients";
import { publishConcurrently } from "./load";
import { useServer } from "./server";
import { pollUntil, range } from "./wait";

const DELIVERY_TIMEOUT_MS = 30_000;

type TopicBatch = { type: "messages"; topic: string; messages: StoredMessage[] } | { type: "message"; seq: number };
type ConsumerBatch =
  | { type: "messages"; queue: string; messages: LeasedMessage[] }
  | { type: "results"; op: "ack"; results: LeaseResult[] }
  | { type: "message" | "result" | "error" };

const server = useServer();

const messagesOf = (frames: readonly TopicBatch[]) => frames.flatMap((frame) => (frame.type === "messages" ? frame.messages : []));

describe("batched topic frames over real sockets", () => {
  it("live and replaying batch subscribers get exactly 1..N across frames while 8 publishers send singles and batches", async () => {
    const topic = uniqueName("batched");
    const idPrefix = uniqueName("msg");
    const path = `/v1/topics/${topic}/messages`;
    const live = await Promise.all(range(1, 2).map((index) => JsonSocket.open<TopicBatch>(server, `/v1/topics/${topic}/subscribe?batch=1`, `live batch subscriber ${index}`)));
    let replaying: JsonSocket<TopicBatch> | undefined;
    const singles = publishConcurrently(server, {
      path,
      count: 600,
      publishers: 6,
      idPrefix,
    });
    const batches = publishConcurrently(server, { path, count: 400, publishers: 2, idPrefix: `${idPrefix}-b`, batchSize: 20 });
    // Once 300 are stored, a subscriber from seq 0 starts: it replays while publishing goes on.
    const late = (async () => {
      await pollUntil(async () => ((await call<{ lastSeq: number }>(server, "GET", `/v1/topics/${topic}`, undefined, 200)).lastSeq >= 300 ? true : undefined), DELIVERY_TIMEOUT_MS, () => "300 messages stored");
      replaying = await JsonSocket.open<TopicBatch>(server, `/v1/topics/${topic}/subscribe?after=0&batch=1`, "replaying batch subscriber");
    })();
    const acked = [...(await singles), ...(await batches)];
    await late;
    expect(acked).toHaveLength(1000);
    const end = (await call<PublishResult>(server, "POST", path, { data: "end" }, 201)).seq;
    expect(end).toBe(1001);
    const idOf = new Map(acked.map((entry) => [entry.seq, entry.id]));
    for (const socket of [...live, replaying!]) {
      await socket.inbox.waitUntil((frames) => messagesOf(frames).some((message) => message.seq === end), DELIVERY_TIMEOUT_MS, `seq ${end}`);
      const frames = socket.inbox.items;
      expect(frames.filter((frame) => frame.type !== "messages"), "only batched frames").toEqual([]);
      const messages = messagesOf(frames);
      expect(messages.map((message) => message.seq), "1..N across frames: no gap, no duplicate, in order").toEqual(range(1, end));
      expect(messages.filter((message) => message.seq < end && message.id !== idOf.get(message.seq)).map((message) => message.seq), "each message is the one acknowledged").toEqual([]);
      expect(frames.every((frame) => frame.type === "messages" && frame.topic === topic && frame.messages.length > 0)).toBe(true);
    }
    // The replay came in pages, one frame each: far fewer frames than messages.
    expect(replaying!.inbox.items.length).toBeLessThan(end / 2);
    await Promise.all([...live, replaying!].map((socket) => socket.close()));
  });
});

describe("batched consumers over real sockets", () => {
  it("two batch consumers settle with leaseIds frames: every message acked exactly once, results per lease", async () => {
    const queue = uniqueName("batched-q");
    const idPrefix = uniqueName("job");
    const consumers = await Promise.all(range(1, 2).map((index) => JsonSocket.open<ConsumerBatch>(server, `/v1/queues/${queue}/consume?prefetch=50&batch=1`, `batch consumer ${index}`)));
    const delivered: LeasedMessage[] = [];
    for (const consumer of consumers) {
      consumer.onFrame((frame) => {
        if (frame.type !== "messages") return;
        delivered.push(...frame.messages);
        consumer.send({ type: "ack", leaseIds: frame.messages.map((message) => message.leaseId) });
      });
    }
    const acked = await publishConcurrently(server, { path: `/v1/queues/${queue}/messages`, count: 500, publishers: 4, idPrefix, batchSize: 5 });
    expect(acked).toHaveLength(500);
    const results = () => consumers.flatMap((consumer) => consumer.inbox.items.flatMap((frame) => (frame.type === "results" ? frame.results : [])));
    await pollUntil(async () => (results().length >= 500 ? true : undefined), DELIVERY_TIMEOUT_MS, () => `500 ack results, have ${results().length}`);
    expect(results().every((result) => result.ok && result.status === "acked"), "every ack found its lease live").toBe(true);
    expect(new Set(results().map((result) => result.leaseId)).size).toBe(500);
    expect(delivered.map((message) => message.seq).sort((a, b) => a - b), "each message delivered once").toEqual(range(1, 500));
    for (const consumer of consumers) expect(consumer.inbox.items.filter((frame) => frame.type === "message" || frame.type === "error")).toEqual([]);
    const stats = await call<{ acked: number; inFlight: number; ready: number }>(server, "GET", `/v1/queues/${queue}`, undefined, 200);
    expect(stats).toMatchObject({ acked: 500, inFlight: 0, ready: 0 });
    await Promise.all(consumers.map((consumer) => consumer.close()));
  });
});
