/**
 * Concurrent publishers for topics and queues (the two share the publish body shape).
 * Message n carries `id = <idPrefix>-<n>` and `data = {n}`, so every receiver can be checked
 * against exactly what was acknowledged.
 */
import { call, type PublishResult, type Target } from "./clients";

export interface Acked {
  /** The message's number in the plan, 0-based. */
  n: number;
  publisher: number;
  seq: number;
  id: string;
}

export interface PublishPlan {
  /** `/v1/topics/{t}/messages` or `/v1/queues/{q}/messages`. */
  path: string;
  count: number;
  publishers: number;
  idPrefix: string;
  /** Messages per request; 1 sends single publishes, more sends batches. */
  batchSize?: number;
  /** Called for every acknowledged message, as soon as its request returns. */
  onAck?: (acked: Acked) => void;
}

export const messageId = (prefix: string, n: number) => `${prefix}-${n}`;

/**
 * Run `publishers` loops at once; publisher p sends messages n = p, p + publishers, ... one
 * request after another (so its own messages are in order). A publisher stops at its first
 * failure; once all have stopped, the first failure is thrown.
 */
export async function publishConcurrently(target: Target, plan: PublishPlan): Promise<Acked[]> {
  const acked: Acked[] = [];
  const loops = Array.from({ length: plan.publishers }, async (_, publisher) => {
    const mine: number[] = [];
    for (let n = publisher; n < plan.count; n += plan.publishers) mine.push(n);
    const batchSize = plan.batchSize ?? 1;
    for (let start = 0; start < mine.length; start += batchSize) {
      const ns = mine.slice(start, start + batchSize);
      const results = await publishOnce(target, plan.path, ns, plan.idPrefix, batchSize > 1);
      results.forEach((result, index) => {
        const entry: Acked = { n: ns[index]!, publisher, seq: result.seq, id: result.id };
        acked.push(entry);
        plan.onAck?.(entry);
      });
    }
  });
  // Wait for every loop to finish before reporting a failure, so none keeps publishing later.
  const settled = await Promise.allSettled(loops);
  const failure = settled.find((outcome) => outcome.status === "rejected");
  if (failure) throw failure.reason;
  return acked;
}

/** One publish request for messages `ns`: a single publish, or one batch. */
export async function publishOnce(target: Target, path: string, ns: number[], idPrefix: string, batch: boolean): Promise<PublishResult[]> {
  const messages = ns.map((n) => ({ id: messageId(idPrefix, n), data: { n } }));
  if (!batch) {
    if (messages.length !== 1) throw new Error("a single publish carries one message");
    return [await call<PublishResult>(target, "POST", path, messages[0], 201)];
  }
  const response = await call<{ messages: PublishResult[] }>(target, "POST", path, { messages }, 201);
  return response.messages;
}
