/**
 * Subscribing to a partitioned topic (issue 11): one socket for the whole topic, held by a
 * relay fed by every partition. The subscription opens with its cursor, frames carry their
 * partition, order holds per partition (so per key), and a cursor resumes over WebSocket and
 * SSE (an SSE event's id is the cursor after it). A grow reaches live subscribers.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { TestSocket, uniqueName, type Frame } from "./helpers";
import { publishAll, setPartitions } from "./partition-helpers";
import { SseStream, waitUntil } from "./topic-helpers";

const subscribePath = (topic: string, query = "") => `/v1/topics/${topic}/subscribe${query ? `?${query}` : ""}`;

interface PartitionedMessage {
  partition: number;
  seq: number;
  data: { key: string; n: number };
}

/** Messages from single and batched frames, in arrival order. */
function messagesOf(frames: readonly Frame[]): PartitionedMessage[] {
  const messages: PartitionedMessage[] = [];
  for (const frame of frames) {
    if (frame.type === "message") messages.push(frame as unknown as PartitionedMessage);
    if (frame.type === "messages") messages.push(...(frame.messages as PartitionedMessage[]));
  }
  return messages;
}

/** Per partition, the seqs in arrival order. */
function seqsByPartition(messages: readonly PartitionedMessage[]): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const message of messages) map.set(message.partition, [...(map.get(message.partition) ?? []), message.seq]);
  return map;
}

const keyed = (count: number, keys: number, tag = "m") => Array.from({ length: count }, (_, n) => ({ data: { key: `k${n % keys}`, n }, key: `k${n % keys}`, id: `${tag}-${n}` }));

describe("subscribing to a partitioned topic", () => {
  it("opens with the cursor, tags frames with their partition, keeps each partition and each key in order", async () => {
    const topic = uniqueName("ps-live");
    await setPartitions(topic, 3);
    const plain = await TestSocket.open(subscribePath(topic));
    const batched = await TestSocket.open(subscribePath(topic, "batch=1"));
    await plain.waitFor((s) => s.frames.some((frame) => frame.type === "cursor"), "the cursor frame");
    expect(plain.frames[0]).toEqual({ type: "cursor", topic, cursor: "0,0,0" });
    // Four publishers at once, each key's messages in its own publisher's order.
    const lanes = Array.from({ length: 4 }, (_, lane) => keyed(40, 6, `lane${lane}`).filter((_, n) => n % 4 === lane));
    await Promise.all(lanes.map(async (lane) => {
      for (const message of lane) await publishAll(topic, [message]);
    }));
    for (const socket of [plain, batched]) {
      await socket.waitFor((s) => messagesOf(s.frames).length >= 40, "40 messages", 10_000);
      const messages = messagesOf(socket.frames);
      expect(messages).toHaveLength(40);
      for (const [, seqs] of seqsByPartition(messages)) expect(seqs).toEqual(seqs.map((_, index) => index + 1));
      // Per key, the order it was published in (n ascending within a key here).
      const byKey = new Map<string, number[]>();
      for (const message of messages) byKey.set(message.data.key, [...(byKey.get(message.data.key) ?? []), message.data.n]);
      for (const [, ns] of byKey) expect(ns).toEqual([...ns].sort((a, b) => a - b));
    }
    expect(batched.frames.some((frame) => frame.type === "messages"), "batch=1 gets messages frames").toBe(true);
    plain.close();
    batched.close();
  });

  it("resumes from a cursor over WebSocket: per partition only what came after it", async () => {
    const topic = uniqueName("ps-resume");
    await setPartitions(topic, 4);
    const answers = await publishAll(topic, keyed(60, 9));
    const last = [0, 0, 0, 0];
    for (const answer of answers) last[answer.partition!] = Math.max(last[answer.partition!]!, answer.seq);
    const cursor = last.map((seq) => Math.max(0, seq - 2));
    const socket = await TestSocket.open(subscribePath(topic, `after=${cursor.join(",")}`));
    const expected = last.reduce((sum, seq, partition) => sum + (seq - cursor[partition]!), 0);
    await socket.waitFor((s) => messagesOf(s.frames).length >= expected, `${expected} messages`);
    expect(socket.frames[0]).toEqual({ type: "cursor", topic, cursor: cursor.join(",") });
    const byPartition = seqsByPartition(messagesOf(socket.frames));
    for (let partition = 0; partition < 4; partition++) {
      const from = cursor[partition]! + 1;
      expect(byPartition.get(partition) ?? []).toEqual(Array.from({ length: last[partition]! - cursor[partition]! }, (_, index) => from + index));
    }
    // A short cursor (taken before a grow) means 0 for the partitions it does not name.
    const short = await TestSocket.open(subscribePath(topic, "after=0,0"));
    await short.waitFor((s) => messagesOf(s.frames).length >= 60, "all 60 messages");
    expect(short.frames[0]).toEqual({ type: "cursor", topic, cursor: "0,0,0,0" });
    socket.close();
    short.close();
  });

  it("over SSE: opens with a cursor event, every id is the cursor after it, and Last-Event-ID resumes", async () => {
    const topic = uniqueName("ps-sse");
    await setPartitions(topic, 2);
    await publishAll(topic, keyed(10, 4));
    const stream = await SseStream.open(subscribePath(topic, "after=0,0"));
    try {
      await stream.waitForMessages(10);
      expect(stream.events[0]).toMatchObject({ event: "cursor", id: "0,0" });
      // Replaying each partition in turn: the ids walk the cursor forward, one entry at a time.
      const ids = stream.messages().map((event) => event.id!);
      const final = ids[ids.length - 1]!;
      const [p0, p1] = final.split(",").map(Number);
      expect(p0! + p1!).toBe(10);
      for (const [index, event] of stream.messages().entries()) {
        const message = JSON.parse(event.data) as PartitionedMessage;
        expect(Number(event.id!.split(",")[message.partition])).toBe(message.seq);
        if (index > 0) expect(event.id).not.toBe(ids[index - 1]);
      }
      // Resume from the middle id: exactly the messages after it.
      const middle = ids[4]!;
      const resumed = await SseStream.open(subscribePath(topic), { "last-event-id": middle });
      try {
        await resumed.waitForMessages(5);
        expect(resumed.messages().map((event) => event.id)).toEqual(ids.slice(5));
      } finally {
        await resumed.cancel();
      }
    } finally {
      await stream.cancel();
    }
  });

  it("reaches live subscribers with a grow: the new partition's messages arrive after a fresh cursor frame", async () => {
    const topic = uniqueName("ps-grow");
    await setPartitions(topic, 2);
    const socket = await TestSocket.open(subscribePath(topic));
    await publishAll(topic, keyed(6, 3));
    await socket.waitFor((s) => messagesOf(s.frames).length >= 6, "6 messages");
    await setPartitions(topic, 3);
    // Enough keys that some land on the new partition 2.
    const answers = await publishAll(topic, keyed(30, 30, "after-grow"));
    expect(answers.some((answer) => answer.partition === 2)).toBe(true);
    await socket.waitFor((s) => messagesOf(s.frames).length >= 36, "36 messages", 10_000);
    const cursors = socket.frames.filter((frame) => frame.type === "cursor").map((frame) => frame.cursor as string);
    expect(cursors.at(-1)!.split(",")).toHaveLength(3);
    for (const [, seqs] of seqsByPartition(messagesOf(socket.frames))) expect(seqs).toEqual(seqs.map((_, index) => index + 1));
    await waitUntil(() => messagesOf(socket.frames).length === 36, "no stray extra messages");
    socket.close();
  });

  it("sends a subscriber through a relay even when this worker's cached route predates the grow", async () => {
    const topic = uniqueName("ps-stale");
    await publishAll(topic, keyed(3, 3));
    // A subscribe caches the route: one partition, no relays.
    const before = await TestSocket.open(subscribePath(topic, "after=0"));
    await before.waitFor((s) => messagesOf(s.frames).length >= 3, "3 messages");
    // The grow happens elsewhere (as through another isolate): this worker's cache is stale.
    const grown = await env.TOPIC.getByName(topic).configure({ partitions: 2 });
    expect(grown.ok).toBe(true);
    await before.waitFor((s) => s.closed !== null, "the direct subscriber to be told to reconnect");
    const socket = await TestSocket.open(subscribePath(topic, "after=3"));
    await socket.waitFor((s) => s.frames.some((frame) => frame.type === "cursor"), "the cursor frame");
    expect(socket.frames[0]).toEqual({ type: "cursor", topic, cursor: "3,0" });
    const answers = await publishAll(topic, keyed(10, 10, "grown"));
    await socket.waitFor((s) => messagesOf(s.frames).length >= 10, "10 messages");
    expect(new Set(messagesOf(socket.frames).map((message) => message.partition))).toEqual(new Set(answers.map((answer) => answer.partition)));
    socket.close();
  });
});
