/**
 * The SDK's types. Wherever the worker validates with a Zod schema (src/protocol/schemas.ts),
 * the type comes from that schema: `z.input` for what callers send, `z.infer` for what the
 * worker answers. Imports are type-only, so neither Zod nor the schemas enter the SDK bundle.
 */
import type { z } from "zod";
import type { Scopes as ScopesSchema } from "../auth/scopes";
import type * as S from "../protocol/schemas";

/** Any JSON value: a message's `data`. */
export type JsonValue = z.infer<typeof S.StoredMessage>["data"];

/**
 * One message to publish to a topic: `{ data, id?, key?, attributes? }`. `key` (1-256 chars):
 * on a partitioned topic, the same key goes to the same partition, in publish order.
 */
export type TopicMessageInput = z.input<typeof S.TopicMessageInput>;
/** One message to enqueue: as a topic message (without `key`), plus `delaySeconds?`. */
export type QueueMessageInput = z.input<typeof S.QueueMessageInput>;
/**
 * `{ seq, id, duplicate?, partition? }`: `duplicate` is true when `id` was seen within the
 * dedup window; `partition` is where it went, on a partitioned topic.
 */
export type PublishResult = z.infer<typeof S.PublishResult>;

/** A retained topic message, as history returns it (`partition` on a partitioned topic). */
export type StoredMessage = z.infer<typeof S.TopicHistoryRow>;
/** A message delivered to a topic subscriber: the stored message plus its topic. */
export type TopicMessage = StoredMessage & { topic: string };

export interface HistoryPage {
  /** Oldest first. */
  messages: StoredMessage[];
  /** The topic's (on a partitioned topic, the partition's) last seq when the page was read. */
  lastSeq: number;
}

/**
 * `relays`: relay objects holding the topic's subscribers (0: the topic holds them);
 * `partitions`: each with its own seq (1: unpartitioned); `partitionStats`: per partition (on a
 * partitioned topic `lastSeq` and the retained counts are sums over them).
 */
export type TopicStats = z.infer<typeof S.TopicStats>;
/** One partition's figures in topic stats. */
export type PartitionStats = TopicStats["partitionStats"][number];
export type TopicConfig = z.infer<typeof S.TopicConfig>;
/** `relays` 0-64, `partitions` 1-64 (grow only: 409 `partitions_shrink`), retention and dedup window. */
export type TopicConfigInput = z.input<typeof S.TopicConfigInput>;

export type QueueConfig = z.infer<typeof S.QueueConfig>;
export type QueueConfigInput = z.input<typeof S.QueueConfigInput>;
/** The answer of configureQueue: the config, with `push.secret` only when that call generated it. */
export type QueueConfigAnswer = z.infer<typeof S.QueueConfigAnswer>;
/** A push queue's endpoint: `{ url, secret?, maxConcurrency?, timeoutSeconds? }`. */
export type PushSettingsInput = z.input<typeof S.PushSettingsInput>;
/** `max`, `visibilityTimeoutSeconds`, and `waitSeconds` (0-20) to long-poll. */
export type PullOptions = z.input<typeof S.PullInput>;

/** A message leased to this client (pull or consume). */
export type LeasedMessage = z.infer<typeof S.LeasedMessage>;

/**
 * The outcome for one lease id. `stale`: the lease expired, was already used, or belongs to
 * an earlier delivery, and nothing changed.
 */
export type LeaseResult = z.infer<typeof S.LeaseResult>;

export interface AckResponse {
  results: LeaseResult[];
  acked: number;
}
export interface NackResponse {
  results: LeaseResult[];
  nacked: number;
}
export interface ExtendResponse {
  results: LeaseResult[];
  extended: number;
}

export type QueueStats = z.infer<typeof S.QueueStats>;

/** Name patterns per operation: an exact name, a prefix ending in `*`, or `*`. */
export type Scopes = z.input<typeof ScopesSchema>;

export interface MintTokenInput {
  scopes: Scopes;
  /** 1 s to 24 h. */
  ttlSeconds: number;
  subject?: string;
}

export interface MintedToken {
  token: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}
