/**
 * Push queues end to end: the served worker POSTs to a real Node receiver that verifies every
 * request with the `standardwebhooks` library. Each message is delivered and acked once; 5xx,
 * timeouts and refused connections are retried with backoff under the same webhook-id;
 * a delivery that reaches nothing is a failed attempt, its error in stats;
 * Retry-After is honoured; dead letters after maxAttempts; never more than maxConcurrency
 * requests open; a topic bound to a push queue pushes the topic's messages.
 */
import { afterEach, describe, expect, it } from "vitest";
import { call, uniqueName, type LeasedMessage } from "./clients";
import { Receiver, type Delivery, type Respond } from "./receiver";
import { useServer } from "./server";
import { pollUntil } from "./wait";

interface PushStats {
  ready: number;
  inFlight: number;
  delayed: number;
  acked: number;
  enqueued: number;
  redeliveries: number;
  deadLettered: number;
  push: { inFlight: number; lastStatus: number | null; lastError: string | null; lastAttemptAt: number | null } | null;
}

const server = useServer({ vars: { PUSH_ALLOW_HTTP: "true" } });
const receivers: Receiver[] = [];

afterEach(async () => {
  for (const receiver of receivers.splice(0)) {
    expect(receiver.rejected, "requests that failed Standard Webhooks verification").toEqual([]);
    await receiver.close().catch(() => {});
  }
});

async function receiver(label: string, respond?: Respond): Promise<Receiver> {
  const started = await Receiver.start(label, respond);
  receivers.push(started);
  return started;
}

const stats = (queue: string) => call<PushStats>(server, "GET", `/v1/queues/${queue}`, undefined, 200);

/** Make `queue` a push queue to `target`; the receiver learns the secret from the answer. */
async function pushTo(queue: string, target: Receiver, settings: Record<string, unknown> = {}, config: Record<string, unknown> = {}): Promise<void> {
  const answer = await call<{ push: { secret?: string } }>(server, "PUT", `/v1/queues/${queue}`, { ...config, push: { url: target.url, ...settings } }, 200);
  expect(answer.push.secret, "a generated secret in the answer").toMatch(/^whsec_/);
  target.useSecret(answer.push.secret!);
}

function waitForStats(queue: string, check: (current: PushStats) => boolean, what: string, timeoutMs = 20_000): Promise<PushStats> {
  let last: PushStats | undefined;
  return pollUntil(
    async () => {
      last = await stats(queue);
      return check(last) ? last : undefined;
    },
    timeoutMs,
    () => `${queue}: ${what}; last stats ${JSON.stringify(last)}`,
  );
}

const byId = (deliveries: readonly Delivery[], webhookId: string) => deliveries.filter((delivery) => delivery.webhookId === webhookId);

describe("push queues", () => {
  it("delivers each message once, signed, and acks it on 2xx, never above maxConcurrency", async () => {
    const queue = uniqueName("push-once");
    const target = await receiver("push-once", () => ({ status: 200, delayMs: 60 }));
    await pushTo(queue, target, { maxConcurrency: 3 });
    const sent = await call<{ messages: { seq: number; id: string }[] }>(
      server,
      "POST",
      `/v1/queues/${queue}/messages`,
      { messages: Array.from({ length: 30 }, (_, n) => ({ data: { n }, attributes: { kind: "test" } })) },
      201,
    );
    await target.deliveries.waitUntil((items) => items.length >= 30, 30_000, "30 deliveries");
    const done = await waitForStats(queue, (current) => current.acked === 30, "30 acked");
    expect(done).toMatchObject({ ready: 0, inFlight: 0, delayed: 0, redeliveries: 0 });
    expect(done.push).toMatchObject({ inFlight: 0, lastStatus: 200, lastError: null });

    const deliveries = target.deliveries.items;
    expect(deliveries).toHaveLength(30);
    expect(new Set(deliveries.map((delivery) => delivery.webhookId)).size).toBe(30);
    expect(deliveries.map((delivery) => delivery.body.seq).sort((a, b) => a - b)).toEqual(sent.messages.map((message) => message.seq));
    for (const delivery of deliveries) {
      const original = sent.messages.find((message) => message.seq === delivery.body.seq)!;
      expect(delivery.body).toEqual({
        type: "message",
        queue,
        seq: original.seq,
        id: original.id,
        data: { n: original.seq - 1 },
        attributes: { kind: "test" },
        publishedAt: expect.any(Number),
        attempt: 1,
      });
      expect(Math.abs(delivery.timestamp * 1000 - delivery.receivedAt)).toBeLessThan(60_000);
    }
    expect(target.maxOpen).toBeLessThanOrEqual(3);
    expect(target.maxOpen, "requests overlapped (the limit was used)").toBeGreaterThan(1);
  });

  it("retries 5xx with the queue's backoff and the same webhook-id, then acks", async () => {
    const queue = uniqueName("push-5xx");
    const target = await receiver("push-5xx", (_delivery, nth) => ({ status: nth <= 2 ? 503 : 204 }));
    await pushTo(queue, target, {}, { backoff: { minSeconds: 0.4, maxSeconds: 0.8 } });
    await call(server, "POST", `/v1/queues/${queue}/messages`, { data: "flaky", id: "flaky-1" }, 201);
    await target.deliveries.waitUntil((items) => items.length >= 3, 30_000, "three attempts");
    const done = await waitForStats(queue, (current) => current.acked === 1, "acked after the third attempt");
    expect(done).toMatchObject({ redeliveries: 2, ready: 0, inFlight: 0, delayed: 0 });
    const attempts = target.deliveries.items;
    expect(attempts.map((delivery) => [delivery.body.attempt, delivery.answered])).toEqual([
      [1, 503],
      [2, 503],
      [3, 204],
    ]);
    expect(new Set(attempts.map((delivery) => delivery.webhookId)).size).toBe(1);
    expect(attempts.every((delivery) => delivery.body.id === "flaky-1")).toBe(true);
    // Backoff: attempt 1 waits 0.4-0.8 s, attempt 2 0.8 s (the maximum).
    expect(attempts[1]!.receivedAt - attempts[0]!.receivedAt).toBeGreaterThanOrEqual(350);
    expect(attempts[2]!.receivedAt - attempts[1]!.receivedAt).toBeGreaterThanOrEqual(750);
  });

  it("honours Retry-After", async () => {
    const queue = uniqueName("push-retry-after");
    const target = await receiver("push-retry-after", (_delivery, nth) => (nth === 1 ? { status: 429, retryAfter: "2" } : { status: 200 }));
    await pushTo(queue, target, {}, { backoff: { minSeconds: 0.1, maxSeconds: 0.2 } });
    await call(server, "POST", `/v1/queues/${queue}/messages`, { data: "later please" }, 201);
    await target.deliveries.waitUntil((items) => items.length >= 2, 30_000, "the retry after Retry-After");
    const [first, second] = target.deliveries.items;
    expect(second!.webhookId).toBe(first!.webhookId);
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(1900);
    const failed = await waitForStats(queue, (current) => current.acked === 1, "acked");
    expect(failed.push!.lastStatus).toBe(200);
  });

  it("retries a request that times out, with the same webhook-id", async () => {
    const queue = uniqueName("push-timeout");
    const target = await receiver("push-timeout", (_delivery, nth) => (nth === 1 ? { status: 200, delayMs: 3000 } : { status: 200 }));
    await pushTo(queue, target, { timeoutSeconds: 1 }, { backoff: { minSeconds: 0.1, maxSeconds: 0.2 } });
    await call(server, "POST", `/v1/queues/${queue}/messages`, { data: "slow" }, 201);
    await target.deliveries.waitUntil((items) => items.length >= 2, 30_000, "the retry after a timeout");
    const [first, second] = target.deliveries.items;
    expect(second!.webhookId).toBe(first!.webhookId);
    expect(second!.body.attempt).toBe(2);
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(1000);
    const done = await waitForStats(queue, (current) => current.acked === 1, "acked after the retry");
    expect(done.push!.lastError).toContain("no answer within 1 s");
  });

  it("retries refused connections until the endpoint is back", async () => {
    const queue = uniqueName("push-refused");
    const target = await receiver("push-refused");
    await pushTo(queue, target, {}, { backoff: { minSeconds: 0.2, maxSeconds: 0.4 }, maxAttempts: 100 });
    await target.close();
    await call(server, "POST", `/v1/queues/${queue}/messages`, { data: "are you there" }, 201);
    const refused = await waitForStats(queue, (current) => (current.push?.lastError ?? "").includes("attempt 2"), "two refused attempts");
    expect(refused.push!.lastError).toContain("request failed");
    expect(refused.acked).toBe(0);
    await target.reopen();
    await target.deliveries.waitUntil((items) => items.length >= 1, 30_000, "the delivery once the endpoint is back");
    const delivered = target.deliveries.items[0]!;
    expect(delivered.body.attempt).toBeGreaterThanOrEqual(3);
    expect(delivered.webhookId).toMatch(new RegExp(`_${delivered.body.seq}$`));
    await waitForStats(queue, (current) => current.acked === 1 && current.ready + current.delayed + current.inFlight === 0, "acked");
    expect(target.deliveries.items).toHaveLength(1);
  });

  it("counts a delivery that reaches nothing as a failed attempt, with the error in stats, and waits out the backoff", async () => {
    // Moved from the runtime tests (issue 15): there, workerd logs a refused connection as an uncaught exception.
    const queue = uniqueName("push-nothing");
    const target = await receiver("push-nothing");
    await pushTo(queue, target, { timeoutSeconds: 2 }, { backoff: { minSeconds: 60, maxSeconds: 60 } });
    await target.close();
    const before = Date.now();
    const { seq } = await call<{ seq: number }>(server, "POST", `/v1/queues/${queue}/messages`, { data: "undeliverable" }, 201);
    const failed = await waitForStats(queue, (current) => current.push?.lastError != null, "a failed push attempt");
    expect(failed.push).toMatchObject({ inFlight: 0, lastStatus: null });
    expect(failed.push!.lastError).toContain(`seq ${seq} attempt 1`);
    expect(failed.push!.lastError).toContain("request failed");
    expect(failed.push!.lastAttemptAt).toBeGreaterThanOrEqual(before);
    // Attempt 1 used, then back to waiting out the 60 s backoff: not leased, not lost.
    expect(failed).toMatchObject({ ready: 0, inFlight: 0, delayed: 1, acked: 0, deadLettered: 0 });
    expect(target.deliveries.items).toEqual([]);
  });

  it("dead-letters after maxAttempts failures", async () => {
    const queue = uniqueName("push-dead");
    const target = await receiver("push-dead", () => ({ status: 500 }));
    await pushTo(queue, target, {}, { maxAttempts: 3, backoff: { minSeconds: 0.1, maxSeconds: 0.2 } });
    await call(server, "POST", `/v1/queues/${queue}/messages`, { data: "doomed", id: "doomed-1" }, 201);
    await waitForStats(queue, (current) => current.deadLettered === 1, "the message dead-lettered");
    expect(target.deliveries.items.map((delivery) => delivery.body.attempt)).toEqual([1, 2, 3]);
    expect(byId(target.deliveries.items, target.deliveries.items[0]!.webhookId)).toHaveLength(3);
    const { messages } = await call<{ messages: LeasedMessage[] }>(server, "POST", `/v1/queues/${queue}-dlq/pull`, { max: 10 }, 200);
    expect(messages.map((message) => [message.id, message.data])).toEqual([["doomed-1", "doomed"]]);
    const after = await stats(queue);
    expect(after).toMatchObject({ ready: 0, inFlight: 0, delayed: 0 });
    expect(after.push!.lastStatus).toBe(500);
    expect(target.deliveries.items).toHaveLength(3);
  });

  it("pushes a bound topic's messages (a push subscription to a topic)", async () => {
    const topic = uniqueName("push-topic");
    const queue = uniqueName("push-topic-q");
    const target = await receiver("push-topic");
    await pushTo(queue, target);
    await call(server, "PUT", `/v1/topics/${topic}/subscriptions/${queue}`, {}, 200);
    await call(server, "POST", `/v1/topics/${topic}/messages`, { messages: [{ data: "one" }, { data: "two" }] }, 201);
    await target.deliveries.waitUntil((items) => items.length >= 2, 30_000, "both topic messages pushed");
    expect(target.deliveries.items.map((delivery) => delivery.body.data).sort()).toEqual(["one", "two"]);
    await waitForStats(queue, (current) => current.acked === 2, "both acked");
  });
});
