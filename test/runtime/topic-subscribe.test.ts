/**
 * WebSocket subscribers: replay from `after` then live, in order with no gap or duplicate even
 * while publishes race the replay; the frame shape; ping/pong; bad frames; subscriber counts.
 */
import { describe, expect, it } from "vitest";
import { TestSocket, uniqueName } from "./helpers";
import { publishMany, publishOk, range, stats, waitUntil } from "./topic-helpers";

const subscribePath = (topic: string, after?: number) => `/v1/topics/${topic}/subscribe${after === undefined ? "" : `?after=${after}`}`;

const seqsOf = (socket: TestSocket) => socket.messages().map((frame) => frame.seq);

/** `lanes` concurrent publishers, each publishing `each` messages one after another. */
async function publishInLanes(topic: string, lanes: number, each: number): Promise<void> {
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let index = 0; index < each; index++) await publishOk(topic, { data: { lane, index } });
    }),
  );
}

describe("topic subscribe over WebSocket", () => {
  it("replays after `after` then goes live with no gap or duplicate while publishes race the replay", async () => {
    const topic = uniqueName("sub-race");
    await publishMany(topic, 300);
    const after = 50;
    // Start the subscribe, then 200 publishes in 4 lanes so they keep landing during the replay.
    const opening = TestSocket.open(subscribePath(topic, after));
    const publishing = publishInLanes(topic, 4, 50);
    const socket = await opening;
    await publishing;
    const last = 500;
    await socket.waitForMessages(last - after, 10_000);
    expect(seqsOf(socket)).toEqual(range(after + 1, last));
    // Nothing further arrives: the next message is the next seq, not a stray duplicate.
    await publishOk(topic, { data: "final" });
    await socket.waitForMessages(last - after + 1);
    expect(seqsOf(socket)).toEqual(range(after + 1, last + 1));
    socket.close();
  });

  it("keeps order when 200 publishes are started together with the subscribe", async () => {
    const topic = uniqueName("sub-burst");
    await publishMany(topic, 300);
    const publishing = Promise.all(Array.from({ length: 200 }, (_, index) => publishOk(topic, { data: { burst: index } })));
    const socket = await TestSocket.open(subscribePath(topic, 0));
    await publishing;
    await socket.waitForMessages(500, 10_000);
    expect(seqsOf(socket)).toEqual(range(1, 500));
    socket.close();
  });

  it("finishes its replay while publishes keep coming", async () => {
    const topic = uniqueName("sub-catchup");
    const retained = await publishMany(topic, 1000);
    const socket = await TestSocket.open(subscribePath(topic, 0));
    // Publish without pause until the subscriber has the whole replay, at most 400 times.
    let published = 0;
    const caughtUp = () => socket.messages().length >= retained;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!caughtUp() && published < 400) {
          published++;
          await publishOk(topic, { data: "live" });
        }
      }),
    );
    expect(caughtUp(), `replay of ${retained} still incomplete after ${published} publishes (got ${socket.messages().length})`).toBe(true);
    await socket.waitForMessages(retained + published);
    expect(seqsOf(socket)).toEqual(range(1, retained + published));
    socket.close();
  });

  it("replays from after=0 to a subscriber that opens before anything is published", async () => {
    const topic = uniqueName("sub-empty");
    const socket = await TestSocket.open(subscribePath(topic, 0));
    await publishMany(topic, 3);
    await socket.waitForMessages(3);
    expect(seqsOf(socket)).toEqual([1, 2, 3]);
    socket.close();
  });

  it("sends only new messages to a subscriber without `after`", async () => {
    const topic = uniqueName("sub-new");
    await publishMany(topic, 3);
    const socket = await TestSocket.open(subscribePath(topic));
    await publishOk(topic, { data: "four" });
    await publishOk(topic, { data: "five" });
    await socket.waitForMessages(2);
    expect(seqsOf(socket)).toEqual([4, 5]);
    expect(socket.messages().map((frame) => frame.data)).toEqual(["four", "five"]);
    socket.close();
  });

  it("sends only seqs above an `after` beyond lastSeq", async () => {
    const topic = uniqueName("sub-beyond");
    await publishMany(topic, 3);
    const socket = await TestSocket.open(subscribePath(topic, 10));
    await publishMany(topic, 9, 4);
    await socket.waitForMessages(2);
    expect(seqsOf(socket)).toEqual([11, 12]);
    socket.close();
  });

  it("sends frames of the documented shape", async () => {
    const topic = uniqueName("sub-frame");
    const socket = await TestSocket.open(subscribePath(topic, 0));
    const published = await publishOk(topic, { data: { nested: [1, "é"] }, id: "frame-1", attributes: { a: "b" } });
    await publishOk(topic, { data: null });
    await socket.waitForMessages(2);
    const [first, second] = socket.messages();
    expect(Object.keys(first!).sort()).toEqual(["attributes", "data", "id", "publishedAt", "seq", "topic", "type"]);
    expect(first).toMatchObject({ type: "message", topic, seq: published.seq, id: "frame-1", data: { nested: [1, "é"] }, attributes: { a: "b" } });
    expect(typeof first!.publishedAt).toBe("number");
    expect(second).toMatchObject({ type: "message", topic, seq: 2, data: null, attributes: {} });
    socket.close();
  });

  it("answers a \"ping\" text frame with \"pong\"", async () => {
    const topic = uniqueName("sub-ping");
    const socket = await TestSocket.open(subscribePath(topic));
    socket.send("ping");
    await socket.waitFor((s) => s.frames.some((frame) => frame.type === "pong"), "pong");
    socket.close();
  });

  it("answers any other text frame with an error frame and keeps the socket usable", async () => {
    const topic = uniqueName("sub-badtext");
    const socket = await TestSocket.open(subscribePath(topic));
    socket.send({ type: "subscribe", topic: "other" });
    await socket.waitFor((s) => s.frames.some((frame) => frame.type === "error"), "an error frame");
    const error = socket.frames.find((frame) => frame.type === "error")!;
    expect(typeof error.code).toBe("string");
    expect(typeof error.message).toBe("string");
    expect(socket.closed).toBeNull();
    // Still subscribed, still answering pings.
    await publishOk(topic, { data: "still here" });
    await socket.waitForMessages(1);
    expect(seqsOf(socket)).toEqual([1]);
    socket.send("ping");
    await socket.waitFor((s) => s.frames.some((frame) => frame.type === "pong"), "pong after the error");
    socket.close();
  });

  it("closes with code 4400 on a binary frame", async () => {
    const topic = uniqueName("sub-binary");
    const socket = await TestSocket.open(subscribePath(topic));
    socket.socket.send(new Uint8Array([1, 2, 3]));
    await socket.waitFor((s) => s.closed !== null, "the socket to close");
    expect(socket.closed!.code).toBe(4400);
  });

  it("counts open sockets in stats.subscribers", async () => {
    const topic = uniqueName("sub-count");
    expect((await stats(topic)).subscribers).toBe(0);
    const first = await TestSocket.open(subscribePath(topic));
    const second = await TestSocket.open(subscribePath(topic, 0));
    expect(await stats(topic)).toMatchObject({ subscribers: 2, webSocketSubscribers: 2 });
    first.close();
    await waitUntil(async () => (await stats(topic)).subscribers === 1, "subscribers to drop to 1");
    second.close();
    await waitUntil(async () => (await stats(topic)).subscribers === 0, "subscribers to drop to 0");
  });
});
