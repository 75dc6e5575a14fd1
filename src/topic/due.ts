/**
 * When a topic object's alarm must fire: retention (by age, and by count coalesced to once a
 * second), idempotency keys' expiry, forwarding retries and relay re-syncs. The object keeps
 * its one alarm at the earliest of these (timers/alarm-scheduler.ts).
 */
import type { PreparedMessage } from "../protocol/frames";
import type { TopicConfig } from "../protocol/schemas";
import type { TopicLog } from "./log";

/** Coalesce count-based trimming: at most one trim alarm a second under steady publishing. */
export const COUNT_TRIM_DELAY_MS = 1000;

/** The retention due time of the log as it stands, or null for an empty log. */
function retentionDueAt(log: TopicLog, config: TopicConfig, now: number): number | null {
  const oldest = log.oldest();
  if (!oldest) return null;
  const retained = log.lastSeq - oldest.seq + 1;
  const byAge = oldest.publishedAt + config.retentionSeconds * 1000;
  return retained > config.retentionMessages ? Math.min(byAge, now + COUNT_TRIM_DELAY_MS) : byAge;
}

/**
 * The earliest due time a publish can add: retention (new when the log was empty), its
 * idempotency keys' expiry, forwarding retries. Cheaper than `nextDueAt` (no dedup index
 * read): the hot path of every publish (bench, 2026-11-27).
 */
export function dueAfterPublish(log: TopicLog, config: TopicConfig, now: number, messages: readonly PreparedMessage[], owedAt: number | null): number | null {
  const candidates: number[] = [];
  const retention = retentionDueAt(log, config, now);
  if (retention !== null) candidates.push(retention);
  if (messages.some((message) => message.id !== undefined)) candidates.push(now + config.dedupWindowSeconds * 1000);
  if (owedAt !== null) candidates.push(owedAt);
  return candidates.length > 0 ? Math.min(...candidates) : null;
}

/** The earliest time anything in the object is due; `others` are the forwarder's and relays'. */
export function nextDueAt(log: TopicLog, config: TopicConfig, others: readonly (number | null)[]): number | null {
  const candidates = [retentionDueAt(log, config, Date.now()), log.nextDedupExpiry(), ...others].filter((at): at is number => at !== null);
  return candidates.length > 0 ? Math.min(...candidates) : null;
}
