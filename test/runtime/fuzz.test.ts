/**
 * Property-based fuzzing (fast-check) of bodies, query parameters, names, headers and frames.
 * Whatever comes in, the service answers with a status below 500 and a JSON error body, the
 * objects keep serving, and the messages stored before the fuzzing are intact and in order.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { SELF } from "cloudflare:test";
import { api, json, ROOT_KEY, TestSocket, uniqueName } from "./helpers";

const topic = uniqueName("fuzz.t");
const queue = uniqueName("fuzz.q");
const SEEDED = 20;
const RUNS = 400;

interface History {
  messages: { seq: number; id: string; data: unknown }[];
  lastSeq: number;
}

async function expectSafe(response: Response, what: string): Promise<void> {
  expect(response.status, `${what} -> ${response.status}`).toBeLessThan(500);
  if (response.status >= 400) {
    const body = await json<{ error?: { code?: unknown; message?: unknown } }>(response);
    expect(typeof body.error?.code, `${what}: error body`).toBe("string");
    expect(typeof body.error?.message).toBe("string");
  } else await response.body?.cancel();
}

/** Any JSON text, or arbitrary text that is mostly not JSON. */
const bodyText = fc.oneof(
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.record({ data: fc.jsonValue(), id: fc.option(fc.string(), { nil: undefined }), attributes: fc.option(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())), { nil: undefined }) }).map((value) => JSON.stringify(value)),
  fc.record({ messages: fc.array(fc.record({ data: fc.jsonValue() }), { maxLength: 120 }) }).map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 200 }),
);

beforeAll(async () => {
  for (let index = 1; index <= SEEDED; index++) {
    expect((await api(`/v1/topics/${topic}/messages`, { body: { data: { index }, id: `seed-${index}` } })).status).toBe(201);
  }
  await api(`/v1/queues/${queue}/messages`, { body: { messages: Array.from({ length: SEEDED }, (_, index) => ({ data: index })) } });
});

describe("fuzzing", () => {
  it("publish bodies", async () => {
    await fc.assert(
      fc.asyncProperty(bodyText, async (text) => {
        await expectSafe(await api(`/v1/topics/${topic}/messages`, { rawBody: text }), `publish ${text.slice(0, 80)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it("queue bodies: enqueue, pull, ack, nack, extend, settings", async () => {
    const path = fc.constantFrom("messages", "pull", "ack", "nack", "extend", "redrive");
    await fc.assert(
      fc.asyncProperty(path, bodyText, async (where, text) => {
        await expectSafe(await api(`/v1/queues/${queue}/${where}`, { rawBody: text }), `${where} ${text.slice(0, 80)}`);
      }),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(bodyText, async (text) => {
        await expectSafe(await api(`/v1/queues/${queue}-cfg`, { method: "PUT", rawBody: text }), `settings ${text.slice(0, 80)}`);
      }),
      { numRuns: RUNS / 4 },
    );
  });

  it("names", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 140 }), fc.constantFrom("topics", "queues"), async (name, kind) => {
        await expectSafe(await api(`/v1/${kind}/${encodeURIComponent(name)}`), `${kind} name ${JSON.stringify(name)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it("query parameters", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }), async (after, limit) => {
        const query = new URLSearchParams({ after, limit });
        await expectSafe(await api(`/v1/topics/${topic}/messages?${query}`), `history ?${query}`);
      }),
      { numRuns: RUNS },
    );
  });

  it("headers: credentials and content types", async () => {
    const printable = fc.string({ maxLength: 100 }).map((value) => value.replace(/[^\x20-\x7e]/g, ""));
    await fc.assert(
      fc.asyncProperty(printable, printable, async (authorization, contentType) => {
        const response = await SELF.fetch(`http://edgepost.test/v1/topics/${topic}/messages`, {
          method: "POST",
          headers: { authorization, "content-type": contentType },
          body: JSON.stringify({ data: "x" }),
        });
        expect(response.status, `authorization ${JSON.stringify(authorization)}`).toBe(401);
        await expectSafe(response, "headers");
      }),
      { numRuns: RUNS },
    );
  });

  it("WebSocket frames to subscribers and consumers", async () => {
    const frames = fc.oneof(fc.string({ maxLength: 300 }), fc.jsonValue().map((value) => JSON.stringify(value)), fc.record({ type: fc.constantFrom("ack", "nack", "extend", "token", "subscribe"), leaseId: fc.string() }).map((value) => JSON.stringify(value)));
    const sent = fc.sample(frames, RUNS);
    const subscriber = await TestSocket.open(`/v1/topics/${topic}/subscribe`, ROOT_KEY);
    const consumer = await TestSocket.open(`/v1/queues/${queue}-ws/consume?prefetch=1`, ROOT_KEY);
    for (const frame of sent) {
      if (!subscriber.closed) subscriber.send(frame);
      if (!consumer.closed) consumer.send(frame);
    }
    // Every frame is answered in order (an error, a result, or "pong"), or the socket was closed
    // with one of the documented codes: bad frame 4400, too many frames 4429, or 4401 for a
    // token frame that carries no valid token.
    const answered = (socket: TestSocket) => socket.frames.filter((frame) => frame.type !== "message").length >= sent.length;
    for (const socket of [subscriber, consumer]) {
      await socket.waitFor((s) => answered(s) || s.closed !== null, "an answer to every frame, or a documented close", 15_000);
      if (socket.closed) expect([4400, 4401, 4429]).toContain(socket.closed.code);
    }
    // Both objects still answer.
    await expectSafe(await api(`/v1/topics/${topic}`), "topic stats after frames");
    await expectSafe(await api(`/v1/queues/${queue}-ws`), "queue stats after frames");
    subscriber.close();
    consumer.close();
  });

  it("left what was stored before intact and in order", async () => {
    const history = await json<History>(await api(`/v1/topics/${topic}/messages?after=0&limit=${SEEDED}`));
    expect(history.messages.map((message) => message.id)).toEqual(Array.from({ length: SEEDED }, (_, index) => `seed-${index + 1}`));
    expect(history.messages.map((message) => message.seq)).toEqual(Array.from({ length: SEEDED }, (_, index) => index + 1));
    expect(history.messages.map((message) => message.data)).toEqual(Array.from({ length: SEEDED }, (_, index) => ({ index: index + 1 })));
    // The fuzzed publishes that were accepted continued the sequence without gaps.
    const all = await json<History>(await api(`/v1/topics/${topic}/messages?after=0&limit=1000`));
    expect(all.messages.map((message) => message.seq)).toEqual(Array.from({ length: all.messages.length }, (_, index) => index + 1));
    const stats = await json<{ enqueued: number }>(await api(`/v1/queues/${queue}`));
    expect(stats.enqueued).toBeGreaterThanOrEqual(SEEDED);
  });
});
