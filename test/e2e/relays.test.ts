/**
 * Relays at scale (issue 11), with real `ws` clients against the bundled worker: thousands of
 * WebSocket subscribers connect through a topic's relays in waves while publishes race the
 * connects; every subscriber gets every message once, in order, and the topic's stats count
 * them all. 2,000 subscribers here; `npm run test:scale` runs the same test with 10,000
 * (EDGEPOST_SCALE_SUBSCRIBERS).
 */
import { describe, expect, it } from "vitest";
import { call, JsonSocket, uniqueName, type PublishResult, type StoredMessage } from "./clients";
import { useServer } from "./server";
import { pollUntil, range } from "./wait";

const SUBSCRIBERS = Number(process.env.EDGEPOST_SCALE_SUBSCRIBERS ?? 2000);
/** Sockets opened at once: a reconnect storm's shape, without one burst of thousands. */
const WAVE = 200;
/** Messages published while each wave connects: the race the test is about. */
const PUBLISHES_PER_WAVE = 4;
const RETAINED_BEFORE = 20;
/** One relay per 2,500 subscribers, at least 2: each relay holds a few thousand sockets. */
const RELAYS = Math.max(2, Math.ceil(SUBSCRIBERS / 2500));

type TopicFrame = { type: "message"; seq: number } | { type: "messages"; messages: StoredMessage[] } | { type: string };

const server = useServer();

/** The seqs a subscriber received, from single and batched frames alike. */
function seqsOf(socket: JsonSocket<TopicFrame>): number[] {
  const seqs: number[] = [];
  for (const frame of socket.inbox.items) {
    if (frame.type === "message") seqs.push((frame as { seq: number }).seq);
    else if (frame.type === "messages") for (const message of (frame as { messages: StoredMessage[] }).messages) seqs.push(message.seq);
  }
  return seqs;
}

async function publishSome(topic: string, count: number, label: string): Promise<void> {
  for (let index = 0; index < count; index++) {
    await call<PublishResult>(server, "POST", `/v1/topics/${topic}/messages`, { data: { label, index } }, 201);
  }
}

describe("relays", () => {
  it(`deliver every message once and in order to ${SUBSCRIBERS} WebSocket subscribers whose connects race the publishes`, { timeout: 60_000 + SUBSCRIBERS * 60 }, async () => {
    const topic = uniqueName("relayed");
    await call(server, "PUT", `/v1/topics/${topic}`, { relays: RELAYS }, 200);
    await publishSome(topic, RETAINED_BEFORE, "before");
    const sockets: JsonSocket<TopicFrame>[] = [];
    try {
      for (let opened = 0; opened < SUBSCRIBERS; opened += WAVE) {
        const size = Math.min(WAVE, SUBSCRIBERS - opened);
        // Every other subscriber asks for batched frames: both kinds ride the same relays.
        const connecting = Promise.all(
          range(opened, opened + size - 1).map((index) => JsonSocket.open<TopicFrame>(server, `/v1/topics/${topic}/subscribe?after=0${index % 2 ? "&batch=1" : ""}`, `subscriber ${index}`)),
        );
        const [wave] = await Promise.all([connecting, publishSome(topic, PUBLISHES_PER_WAVE, `wave ${opened / WAVE}`)]);
        sockets.push(...wave);
      }
      const total = RETAINED_BEFORE + Math.ceil(SUBSCRIBERS / WAVE) * PUBLISHES_PER_WAVE;
      const expected = range(1, total);
      for (const socket of sockets) {
        await socket.inbox.waitUntil(() => seqsOf(socket).length >= total, 60_000, `${total} messages`);
      }
      const wrong = sockets.map((socket, index) => ({ index, seqs: seqsOf(socket) })).filter(({ seqs }) => seqs.length !== total || seqs.some((seq, at) => seq !== expected[at]));
      expect(wrong.slice(0, 3), `${wrong.length} of ${SUBSCRIBERS} subscribers got a gap, a duplicate or a reordering`).toEqual([]);
      // The relays report their counts to the topic's stats (DESIGN.md: may lag a few seconds).
      let counted = 0;
      await pollUntil(
        async () => {
          counted = (await call<{ subscribers: number }>(server, "GET", `/v1/topics/${topic}`, undefined, 200)).subscribers;
          return counted === SUBSCRIBERS ? counted : undefined;
        },
        30_000,
        () => `stats to count ${SUBSCRIBERS} subscribers (last: ${counted})`,
        200,
      );
    } finally {
      await Promise.all(sockets.map((socket) => socket.close().catch(() => socket.terminate())));
    }
  });
});
