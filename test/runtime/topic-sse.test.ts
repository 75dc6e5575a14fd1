/**
 * Subscribing over Server-Sent Events: the same URL as the WebSocket subscribe with
 * `Accept: text/event-stream`; events carry the seq as their id and the frame as their data,
 * and both `after` and the `Last-Event-ID` header resume. A stream that stops reading is cut off.
 */
import { describe, expect, it } from "vitest";
import { uniqueName } from "./helpers";
import { publish, publishMany, publishOk, range, SseStream, stats, waitUntil } from "./topic-helpers";

const subscribePath = (topic: string, after?: number) => `/v1/topics/${topic}/subscribe${after === undefined ? "" : `?after=${after}`}`;

describe("topic subscribe over SSE", () => {
  it("streams retained then live messages as `id: <seq>`, `event: message`, `data: <frame>`", async () => {
    const topic = uniqueName("sse-basic");
    await publishOk(topic, { data: { hello: "wörld" }, id: "m1", attributes: { k: "v" } });
    await publishMany(topic, 2, 2);
    const stream = await SseStream.open(subscribePath(topic, 0));
    try {
      expect(stream.response.headers.get("content-type")).toMatch(/^text\/event-stream/);
      await stream.waitForMessages(3);
      await publishOk(topic, { data: "live" });
      await stream.waitForMessages(4);
      expect(stream.seqs()).toEqual([1, 2, 3, 4]);

      const frames = stream.messages().map((event) => JSON.parse(event.data) as Record<string, unknown>);
      expect(Object.keys(frames[0]!).sort()).toEqual(["attributes", "data", "id", "publishedAt", "seq", "topic", "type"]);
      expect(frames[0]).toMatchObject({ type: "message", topic, seq: 1, id: "m1", data: { hello: "wörld" }, attributes: { k: "v" } });
      expect(frames[3]).toMatchObject({ type: "message", topic, seq: 4, data: "live", attributes: {} });
      // The event id is the frame's seq.
      expect(stream.messages().map((event) => Number(event.id))).toEqual(frames.map((frame) => frame.seq));
    } finally {
      await stream.cancel();
    }
  });

  it("sends only new messages without `after`", async () => {
    const topic = uniqueName("sse-new");
    await publishMany(topic, 3);
    const stream = await SseStream.open(subscribePath(topic));
    try {
      await publishMany(topic, 2, 4);
      await stream.waitForMessages(2);
      expect(stream.seqs()).toEqual([4, 5]);
    } finally {
      await stream.cancel();
    }
  });

  it("resumes after `after`", async () => {
    const topic = uniqueName("sse-after");
    await publishMany(topic, 6);
    const stream = await SseStream.open(subscribePath(topic, 4));
    try {
      await publishOk(topic, { data: 7 });
      await stream.waitForMessages(3);
      expect(stream.seqs()).toEqual([5, 6, 7]);
    } finally {
      await stream.cancel();
    }
  });

  it("resumes after the Last-Event-ID header, which wins over `after` (EventSource keeps its URL)", async () => {
    const topic = uniqueName("sse-last-event-id");
    await publishMany(topic, 6);
    const byHeader = await SseStream.open(subscribePath(topic), { "last-event-id": "3" });
    const both = await SseStream.open(subscribePath(topic, 1), { "last-event-id": "5" });
    try {
      await publishOk(topic, { data: 7 });
      await byHeader.waitForMessages(4);
      await both.waitForMessages(2);
      expect(byHeader.seqs()).toEqual([4, 5, 6, 7]);
      expect(both.seqs()).toEqual([6, 7]);
    } finally {
      await byHeader.cancel();
      await both.cancel();
    }
  });

  it("delivers a burst of live messages in order with no gap or duplicate", async () => {
    const topic = uniqueName("sse-burst");
    await publishMany(topic, 250);
    const stream = await SseStream.open(subscribePath(topic, 10));
    try {
      await Promise.all(Array.from({ length: 4 }, async () => {
        for (let index = 0; index < 25; index++) await publishOk(topic, { data: index });
      }));
      await stream.waitForMessages(340, 10_000);
      expect(stream.seqs()).toEqual(range(11, 350));
    } finally {
      await stream.cancel();
    }
  });

  it("counts open streams in stats and forgets a cancelled one", async () => {
    const topic = uniqueName("sse-count");
    const stream = await SseStream.open(subscribePath(topic, 0));
    expect(await stats(topic)).toMatchObject({ subscribers: 1, sseSubscribers: 1, webSocketSubscribers: 0 });
    await stream.cancel();
    // The object learns of the cancel when its next write fails.
    await waitUntil(async () => {
      await publishOk(topic, { data: "probe" });
      return (await stats(topic)).sseSubscribers === 0;
    }, "the cancelled stream to be forgotten");
  });

  it("cuts off a stream that stops reading once 4 MiB are queued, and it resumes with Last-Event-ID", async () => {
    const topic = uniqueName("sse-slow");
    const stream = await SseStream.open(subscribePath(topic, 0));
    // Publish 40 messages of 250 KiB (10 MiB) while the client reads nothing.
    const big = "x".repeat(250 * 1024);
    for (let batch = 0; batch < 20; batch++) {
      const response = await publish(topic, { messages: [{ data: big }, { data: big }] });
      expect(response.status).toBe(201);
    }
    expect((await stats(topic)).sseSubscribers, "the slow stream is cut off").toBe(0);
    await stream.waitFor((s) => s.events.some((event) => event.event === "close"), "the close event", 10_000);
    const close = stream.events.find((event) => event.event === "close")!;
    expect(JSON.parse(close.data)).toMatchObject({ reason: expect.stringContaining("after") });
    const seen = stream.seqs();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(40);
    expect(seen).toEqual(range(1, seen.length));
    await stream.cancel();

    const resumed = await SseStream.open(subscribePath(topic), { "last-event-id": String(seen.length) });
    try {
      await resumed.waitForMessages(40 - seen.length, 10_000);
      expect([...seen, ...resumed.seqs()]).toEqual(range(1, 40));
    } finally {
      await resumed.cancel();
    }
  });
});
