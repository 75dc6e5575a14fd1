/** A queue's settings: stored in its meta table, defaults from DESIGN.md. */
import * as L from "../protocol/limits";
import type { QueueConfig, QueueConfigInput } from "../protocol/schemas";
import { readMeta, writeMeta } from "../storage/migrations";

/** A queue named `x` dead-letters to `x-dlq`; a dead-letter queue itself has none by default. */
export function defaultDeadLetterQueue(name: string): string | null {
  if (name.endsWith("-dlq")) return null;
  const candidate = `${name}-dlq`;
  return candidate.length <= 128 ? candidate : null;
}

export function defaultQueueConfig(name: string): QueueConfig {
  return {
    name,
    visibilityTimeoutSeconds: L.DEFAULT_VISIBILITY_TIMEOUT_SECONDS,
    maxAttempts: L.DEFAULT_MAX_ATTEMPTS,
    deadLetterQueue: defaultDeadLetterQueue(name),
    retentionSeconds: L.DEFAULT_QUEUE_RETENTION_SECONDS,
    dedupWindowSeconds: L.DEFAULT_DEDUP_WINDOW_SECONDS,
    backoff: { minSeconds: L.DEFAULT_BACKOFF_MIN_SECONDS, maxSeconds: L.DEFAULT_BACKOFF_MAX_SECONDS },
    delaySeconds: 0,
    receiveWaitSeconds: 0,
    push: null,
  };
}

export function loadQueueConfig(sql: SqlStorage, name: string): QueueConfig {
  const stored = readMeta<Partial<QueueConfig>>(sql, "config");
  return { ...defaultQueueConfig(name), ...stored, name };
}

/** `push` is applied by the push room (push/settings.ts), which also keeps the secret. */
export function saveQueueConfig(sql: SqlStorage, current: QueueConfig, update: Omit<QueueConfigInput, "push">, push?: QueueConfig["push"]): QueueConfig {
  const next: QueueConfig = { ...current };
  if (update.visibilityTimeoutSeconds !== undefined) next.visibilityTimeoutSeconds = update.visibilityTimeoutSeconds;
  if (update.maxAttempts !== undefined) next.maxAttempts = update.maxAttempts;
  if (update.deadLetterQueue !== undefined) next.deadLetterQueue = update.deadLetterQueue;
  if (update.retentionSeconds !== undefined) next.retentionSeconds = update.retentionSeconds;
  if (update.dedupWindowSeconds !== undefined) next.dedupWindowSeconds = update.dedupWindowSeconds;
  if (update.backoff !== undefined) next.backoff = update.backoff;
  if (update.delaySeconds !== undefined) next.delaySeconds = update.delaySeconds;
  if (update.receiveWaitSeconds !== undefined) next.receiveWaitSeconds = update.receiveWaitSeconds;
  if (push !== undefined) next.push = push;
  const { name: _name, ...stored } = next;
  writeMeta(sql, "config", stored);
  return next;
}
