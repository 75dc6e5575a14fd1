/** Backoff and delays: a nacked message returns after an exponential, jittered backoff; explicit delays override it. */
import { describe, expect, it } from "vitest";
import { uniqueName } from "./helpers";
import { configureQueue, enqueue, enqueueBatch, eventually, nack, pull, stats, storedMessages, type LeasedMessage } from "./queue-helpers";

/** Poll pull (no alarm needed: a nacked or delayed message becomes ready by time alone). */
function pullWhenVisible(queue: string, what: string, timeoutMs = 5000): Promise<LeasedMessage> {
  return eventually(async () => (await pull(queue))[0], what, timeoutMs, 10);
}

/** backoff.ts: attempt n waits between min*2^(n-1) and min(2x that, max) seconds. */
function backoffRangeMs(attempt: number, minSeconds: number, maxSeconds: number): [number, number] {
  const base = Math.min(maxSeconds, minSeconds * 2 ** (attempt - 1));
  return [base * 1000, Math.min(maxSeconds, base * 2) * 1000];
}

describe("queue backoff and delays", () => {
  it("brings a nacked message back after a backoff that grows with each attempt", async () => {
    const queue = uniqueName("backoff-grows");
    const backoff = { minSeconds: 0.2, maxSeconds: 1.6 };
    await configureQueue(queue, { maxAttempts: 10, deadLetterQueue: null, backoff });
    await enqueue(queue, { data: "flaky" });

    let message = (await pull(queue))[0]!;
    // Per attempt: the backoff the object scheduled, bounded from below and from above by the
    // times the nack was sent and answered (so no assumption about how fast a request is).
    const scheduled: { atLeast: number; atMost: number }[] = [];
    for (const attempt of [1, 2, 3]) {
      expect(message.attempt).toBe(attempt);
      const [low, high] = backoffRangeMs(attempt, backoff.minSeconds, backoff.maxSeconds);
      const nackedAt = Date.now();
      expect((await nack(queue, [message.leaseId]))[0]).toMatchObject({ ok: true, status: "nacked" });
      const repliedAt = Date.now();

      // The stored due time lies in the attempt's jitter range.
      const [row] = await storedMessages(queue);
      expect(row!.lease_id).toBeNull();
      expect(row!.visible_at).toBeGreaterThanOrEqual(nackedAt + low);
      expect(row!.visible_at).toBeLessThanOrEqual(repliedAt + high);
      // Ready or still delayed depends on how long the requests took: only the sum is fixed.
      const counts = await stats(queue);
      expect({ inFlight: counts.inFlight, waiting: counts.ready + counts.delayed }).toEqual({ inFlight: 0, waiting: 1 });

      scheduled.push({ atLeast: row!.visible_at - repliedAt, atMost: row!.visible_at - nackedAt });

      // And it really is invisible until then.
      message = await pullWhenVisible(queue, `attempt ${attempt + 1} after a nack`);
      expect(Date.now() - nackedAt, `attempt ${attempt} backoff`).toBeGreaterThanOrEqual(low);
    }
    expect(message.attempt).toBe(4);
    // Ranges [200,400], [400,800], [800,1600] ms: the third backoff is longer than the first.
    expect(scheduled[2]!.atLeast).toBeGreaterThan(scheduled[0]!.atMost);
  });

  it("caps the backoff at maxSeconds", async () => {
    const queue = uniqueName("backoff-cap");
    await configureQueue(queue, { maxAttempts: 10, deadLetterQueue: null, backoff: { minSeconds: 0.1, maxSeconds: 0.15 } });
    await enqueue(queue, { data: "capped" });
    let message = (await pull(queue))[0]!;
    for (let attempt = 1; attempt <= 4; attempt++) {
      const nackedAt = Date.now();
      await nack(queue, [message.leaseId]);
      const repliedAt = Date.now();
      const [row] = await storedMessages(queue);
      // Attempt 4 alone would be 0.8-1.6 s without the cap.
      expect(row!.visible_at - nackedAt).toBeGreaterThanOrEqual(attempt === 1 ? 100 : 150);
      expect(row!.visible_at - repliedAt).toBeLessThanOrEqual(150);
      message = await pullWhenVisible(queue, `attempt ${attempt + 1}`);
    }
  });

  it("lets a nack's delaySeconds override the backoff", async () => {
    const queue = uniqueName("backoff-override");
    await configureQueue(queue, { backoff: { minSeconds: 0.1, maxSeconds: 0.4 } });
    await enqueue(queue, { data: "later please" });
    const [message] = await pull(queue);
    const nackedAt = Date.now();
    await nack(queue, [message!.leaseId], 1);
    // Due after the delay, well past the longest backoff (0.4 s); the stored time says so
    // however slow the requests around it are.
    const [row] = await storedMessages(queue);
    expect(row!.visible_at - nackedAt).toBeGreaterThanOrEqual(1000);
    // Pulled from right after the nack until it comes: the first pull that gets it is 1 s on.
    const back = await pullWhenVisible(queue, "the message after its 1 s nack delay");
    expect(Date.now() - nackedAt, "invisible until its delay passed").toBeGreaterThanOrEqual(1000);
    expect(back).toMatchObject({ seq: message!.seq, attempt: 2 });
  });

  it("makes a message ready at once after a nack with delaySeconds 0", async () => {
    const queue = uniqueName("backoff-zero");
    await configureQueue(queue, { backoff: { minSeconds: 5, maxSeconds: 10 } });
    await enqueue(queue, { data: "now" });
    const [message] = await pull(queue);
    await nack(queue, [message!.leaseId], 0);
    const [again] = await pull(queue);
    expect(again).toMatchObject({ seq: message!.seq, attempt: 2 });
  });

  it("keeps a delayed message out of pulls until its delay has passed", async () => {
    // The moment: a pull answered before the delay is over. Should load make the requests
    // outlast the delay, it is set up again on a new queue with twice the delay.
    for (let delaySeconds = 1; ; delaySeconds *= 2) {
      const queue = uniqueName("backoff-delayed");
      const enqueuedAt = Date.now();
      const delayed = await enqueue(queue, { data: "delayed", delaySeconds });
      const [now] = await enqueueBatch(queue, [{ data: "right away" }]);
      const counts = await stats(queue);
      // Only the undelayed message, though it is younger.
      const first = await pull(queue, { max: 10 });
      if (Date.now() >= enqueuedAt + delaySeconds * 1000) {
        if (delaySeconds >= 8) throw new Error(`the requests outlasted a ${delaySeconds} s delay`);
        continue;
      }
      expect(counts).toMatchObject({ ready: 1, delayed: 1 });
      expect(first.map((message) => message.seq)).toEqual([now!.seq]);

      const later = await pullWhenVisible(queue, "the delayed message", delaySeconds * 1000 + 5000);
      expect(Date.now() - enqueuedAt).toBeGreaterThanOrEqual(delaySeconds * 1000);
      expect(later).toMatchObject({ seq: delayed.seq, data: "delayed", attempt: 1 });
      return;
    }
  });
});
