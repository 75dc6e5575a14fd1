/**
 * Publishing to a topic through the worker: seq assignment, response shapes, batches (in
 * order, all or nothing) and publisher idempotency by `id` within the dedup window.
 */
import { describe, expect, it } from "vitest";
import { json, sleep, uniqueName } from "./helpers";
import { configure, fullHistory, publish, publishOk, range, stats, type PublishResult } from "./topic-helpers";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("topic publish", () => {
  it("assigns seqs 1, 2, 3 in order and answers 201 {seq, id}", async () => {
    const topic = uniqueName("pub-seq");
    const results: PublishResult[] = [];
    for (const data of ["a", "b", "c"]) {
      const response = await publish(topic, { data });
      expect(response.status).toBe(201);
      const body = await json<PublishResult>(response);
      expect(Object.keys(body).sort()).toEqual(["id", "seq"]);
      results.push(body);
    }
    expect(results.map((result) => result.seq)).toEqual([1, 2, 3]);
    const stored = await fullHistory(topic);
    expect(stored.messages.map((message) => [message.seq, message.data])).toEqual([
      [1, "a"],
      [2, "b"],
      [3, "c"],
    ]);
    expect(stored.lastSeq).toBe(3);
  });

  it("generates a distinct id when none is given and keeps a given one", async () => {
    const topic = uniqueName("pub-id");
    const first = await publishOk(topic, { data: 1 });
    const second = await publishOk(topic, { data: 2 });
    const named = await publishOk(topic, { data: 3, id: "order-17" });
    expect(first.id).toMatch(UUID);
    expect(second.id).toMatch(UUID);
    expect(first.id).not.toBe(second.id);
    expect(named).toEqual({ seq: 3, id: "order-17" });
    const stored = await fullHistory(topic);
    expect(stored.messages.map((message) => message.id)).toEqual([first.id, second.id, "order-17"]);
  });

  it("stores a batch in order and answers 201 {messages: [{seq, id}]}", async () => {
    const topic = uniqueName("pub-batch");
    await publishOk(topic, { data: "before" });
    const response = await publish(topic, { messages: [{ data: "x" }, { data: "y", id: "y-id" }, { data: "z", attributes: { k: "v" } }] });
    expect(response.status).toBe(201);
    const body = await json<{ messages: PublishResult[] }>(response);
    expect(body.messages.map((result) => result.seq)).toEqual([2, 3, 4]);
    expect(body.messages[1]).toEqual({ seq: 3, id: "y-id" });
    expect(body.messages[0]!.id).toMatch(UUID);
    const stored = await fullHistory(topic);
    expect(stored.messages.map((message) => message.data)).toEqual(["before", "x", "y", "z"]);
    expect(stored.messages[3]!.attributes).toEqual({ k: "v" });
  });

  it("stores nothing from a batch with one message of the wrong type (400)", async () => {
    const topic = uniqueName("pub-atomic-type");
    await publishOk(topic, { data: "kept" });
    const response = await publish(topic, { messages: [{ data: 1 }, { data: 2, attributes: { n: 3 } }, { data: 3 }] });
    expect(response.status).toBe(400);
    expect((await json<{ error: { code: string } }>(response)).error.code).toBe("invalid_request");
    const stored = await fullHistory(topic);
    expect(stored.lastSeq).toBe(1);
    expect(stored.messages.map((message) => message.data)).toEqual(["kept"]);
  });

  it("stores nothing from a batch with one message over the size limit (413)", async () => {
    const topic = uniqueName("pub-atomic-size");
    await publishOk(topic, { data: "kept" });
    const tooLarge = "x".repeat(256 * 1024 + 1);
    const response = await publish(topic, { messages: [{ data: "small" }, { data: tooLarge }] });
    expect(response.status).toBe(413);
    expect((await json<{ error: { code: string } }>(response)).error.code).toBe("message_too_large");
    const stored = await fullHistory(topic);
    expect(stored.lastSeq).toBe(1);
    expect(stored.messages).toHaveLength(1);
    expect((await publishOk(topic, { data: "next" })).seq).toBe(2);
  });

  it("answers a repeated id with 200, the original seq and duplicate: true, storing nothing", async () => {
    const topic = uniqueName("pub-dedup");
    const original = await publishOk(topic, { data: "first", id: "once" });
    await publishOk(topic, { data: "other" });
    const repeat = await publish(topic, { data: "second", id: "once" });
    expect(repeat.status).toBe(200);
    expect(await json(repeat)).toEqual({ seq: original.seq, id: "once", duplicate: true });
    const stored = await fullHistory(topic);
    expect(stored.lastSeq).toBe(2);
    expect(stored.messages.map((message) => message.data)).toEqual(["first", "other"]);
    expect((await stats(topic)).lastSeq).toBe(2);
  });

  it("deduplicates ids within one batch and against earlier publishes", async () => {
    const topic = uniqueName("pub-dedup-batch");
    await publishOk(topic, { data: "earlier", id: "e" });
    const response = await publish(topic, {
      messages: [
        { data: "a1", id: "a" },
        { data: "b", id: "b" },
        { data: "a2", id: "a" },
        { data: "e2", id: "e" },
        { data: "c" },
      ],
    });
    // Some messages were stored, so the batch as a whole is a 201.
    expect(response.status).toBe(201);
    const body = await json<{ messages: PublishResult[] }>(response);
    expect(body.messages.map(({ seq, id, duplicate }) => ({ seq, id, duplicate }))).toEqual([
      { seq: 2, id: "a", duplicate: undefined },
      { seq: 3, id: "b", duplicate: undefined },
      { seq: 2, id: "a", duplicate: true },
      { seq: 1, id: "e", duplicate: true },
      { seq: 4, id: body.messages[4]!.id, duplicate: undefined },
    ]);
    const stored = await fullHistory(topic);
    expect(stored.messages.map((message) => message.data)).toEqual(["earlier", "a1", "b", "c"]);
    expect(stored.messages.map((message) => message.seq)).toEqual(range(1, 4));
  });

  it("answers 200 when every message of a batch is a duplicate", async () => {
    const topic = uniqueName("pub-dedup-all");
    await publish(topic, { messages: [{ data: 1, id: "p" }, { data: 2, id: "q" }] });
    const response = await publish(topic, { messages: [{ data: 1, id: "p" }, { data: 2, id: "q" }] });
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({
      messages: [
        { seq: 1, id: "p", duplicate: true },
        { seq: 2, id: "q", duplicate: true },
      ],
    });
    expect((await stats(topic)).lastSeq).toBe(2);
  });

  it("stores an id anew once its dedup window has passed", async () => {
    // The moments: a repeat sent and answered within the window of the publish before it. When
    // load stretches the requests past a window, it starts again on a new topic with a window
    // twice as long, rather than asserting on a window that already closed.
    for (let windowSeconds = 1; ; windowSeconds *= 2) {
      const windowMs = windowSeconds * 1000;
      const missed = () => {
        if (windowSeconds >= 8) throw new Error(`requests outlasted a ${windowSeconds} s dedup window`);
        return true;
      };
      const topic = uniqueName("pub-dedup-window");
      await configure(topic, { dedupWindowSeconds: windowSeconds });
      const firstSentAt = Date.now();
      const first = await publishOk(topic, { data: "first", id: "again" });
      const firstRepliedAt = Date.now();
      expect(first.seq).toBe(1);
      const within = await publish(topic, { data: "within", id: "again" });
      if (Date.now() >= firstSentAt + windowMs && missed()) continue;
      expect(within.status).toBe(200);
      // The window runs from the first publish (stored between send and reply): only the clock to await.
      await sleep(Math.max(0, firstRepliedAt + windowMs + 100 - Date.now()));
      const afterSentAt = Date.now();
      const after = await publish(topic, { data: "after", id: "again" });
      expect(after.status).toBe(201);
      expect(await json(after)).toEqual({ seq: 2, id: "again" });
      // And the new publish opened a new window.
      const repeat = await publish(topic, { data: "repeat", id: "again" });
      if (Date.now() >= afterSentAt + windowMs && missed()) continue;
      expect(repeat.status).toBe(200);
      expect(await json(repeat)).toEqual({ seq: 2, id: "again", duplicate: true });
      const stored = await fullHistory(topic);
      expect(stored.messages.map((message) => message.data)).toEqual(["first", "after"]);
      return;
    }
  });
});
