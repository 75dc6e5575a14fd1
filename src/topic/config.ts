/** A topic's settings: stored in its meta table, defaults from DESIGN.md. */
import * as L from "../protocol/limits";
import type { TopicConfig, TopicConfigInput } from "../protocol/schemas";
import { readMeta, writeMeta } from "../storage/migrations";

export const DEFAULT_TOPIC_CONFIG: TopicConfig = {
  retentionSeconds: L.DEFAULT_TOPIC_RETENTION_SECONDS,
  retentionMessages: L.DEFAULT_TOPIC_RETENTION_MESSAGES,
  dedupWindowSeconds: L.DEFAULT_DEDUP_WINDOW_SECONDS,
  partitions: 1,
  relays: 0,
};

export function loadTopicConfig(sql: SqlStorage): TopicConfig {
  return { ...DEFAULT_TOPIC_CONFIG, ...readMeta<Partial<TopicConfig>>(sql, "config") };
}

/** A partial update merged into the current config (nothing saved). */
export function mergeTopicConfig(current: TopicConfig, update: TopicConfigInput): TopicConfig {
  const next: TopicConfig = { ...current };
  for (const [key, value] of Object.entries(update) as [keyof TopicConfig, number | undefined][]) {
    if (value !== undefined) next[key] = value;
  }
  return next;
}

/** Merge a partial update into the stored config and save it. */
export function saveTopicConfig(sql: SqlStorage, current: TopicConfig, update: TopicConfigInput): TopicConfig {
  const next = mergeTopicConfig(current, update);
  writeMeta(sql, "config", next);
  return next;
}
