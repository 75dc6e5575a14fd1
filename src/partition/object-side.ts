/**
 * The checks a topic's object makes as one partition of a topic (issue 11), kept out of the
 * object: whether a routed publish belongs here, taking partition 0's bindings, whether a history read names this partition,
 * and its row of the topic's `partitionStats`.
 */
import { fail, type Outcome } from "../protocol/errors";
import type { Subscription, Forwarder } from "../topic/forwarding";
import type { AppendResult, HistoryPage } from "../topic/log";
import type { Subscriber } from "../topic/subscribers";

/** "Service restart" (RFC 6455): clients reconnect, and resume with the seq they had. */
const RECONNECT_CLOSE_CODE = 1012;

/** A routed publish: stored, or refused (nothing stored) with the count this partition holds. */
export type RoutedPublish = { ok: true; results: AppendResult[] } | { ok: false; partitions: number };

/** A page of one partition's log, with the topic's partition count (rows add `partition` when > 1). */
export interface PartitionPage extends HistoryPage {
  partitions: number;
}

export interface PartitionLogStats {
  lastSeq: number;
  retainedMessages: number;
  retainedBytes: number;
  firstRetainedSeq: number | null;
  oldestRetainedAt: number | null;
}

/** Whether a publish routed with a count of `routed` partitions may be stored on partition `partition`. */
export function routedHere(partition: number, known: number, routed: number): boolean {
  return routed === known && partition < known;
}

/**
 * A history read of `partition` (null: none named) on this partition of a topic of `known`
 * partitions; undefined when it may go ahead, else the 400 to answer.
 */
export function checkPartitionRead(topic: string, partition: number, known: number, asked: number | null): Outcome<never> | undefined {
  if (asked === null) {
    if (known === 1) return undefined;
    return fail(400, "partition_required", `topic ${topic} has ${known} partitions: history needs ?partition= (0-${known - 1})`);
  }
  if (asked !== partition || asked >= known) return fail(400, "invalid_query", `partition must be 0-${known - 1} on topic ${topic}`);
  return undefined;
}

export function partitionStatsOf(partition: number, log: PartitionLogStats): PartitionLogStats & { partition: number } {
  return { partition, ...log };
}

/** Bind exactly the queues partition 0 lists (a binding's outbox stays; an unlisted queue's goes). */
export function syncBindings(forwarder: Forwarder, listed: readonly Subscription[], now: number): void {
  const keep = new Set(listed.map((subscription) => subscription.queue));
  for (const subscription of forwarder.list()) if (!keep.has(subscription.queue)) forwarder.unbind(subscription.queue);
  for (const subscription of listed) forwarder.bind(subscription.queue, subscription.filter, now);
}

/** Close subscribers so they come back another way (a one-partition topic grew: to a relay). */
export function closeAll(subscribers: readonly Subscriber[], reason: string): void {
  for (const subscriber of subscribers) subscriber.close(RECONNECT_CLOSE_CODE, reason);
}
