/**
 * Request and response shapes of the public HTTP contract (DESIGN.md), defined once with Zod
 * and shared by the worker's validation, the OpenAPI document and the typed clients.
 */
import { z } from "zod";
import * as L from "./limits";
import { NAME_PATTERN, NAME_PATTERN_SOURCE } from "./names";

export const Name = z.string().regex(NAME_PATTERN, `must match ${NAME_PATTERN_SOURCE}`);

export const MessageId = z.string().min(1).max(L.MAX_ID_LENGTH);

export const Attributes = z
  .record(z.string().min(1).max(L.MAX_ATTRIBUTE_KEY_LENGTH), z.string().max(L.MAX_ATTRIBUTE_VALUE_LENGTH))
  .refine((value) => Object.keys(value).length <= L.MAX_ATTRIBUTES, `at most ${L.MAX_ATTRIBUTES} attributes`);

/**
 * `data` is any JSON value, and required (null is a value). Bodies come from JSON.parse, so
 * every value is JSON already: checking presence is enough, and `z.json()`'s recursive walk
 * of every payload cost 5x in a 100-message batch (bench, 2026-11-27).
 */
const Data = z.unknown().refine((value) => value !== undefined, "data is required");

/** Routes a message to its topic's partition: the same key, the same partition, in order (issue 11). */
export const MessageKey = z.string().min(1).max(L.MAX_KEY_LENGTH);

const MessageFields = {
  data: Data,
  id: MessageId.optional(),
  attributes: Attributes.optional(),
};

export const TopicMessageInput = z.strictObject({
  ...MessageFields,
  key: MessageKey.optional(),
});
export type TopicMessageInput = z.infer<typeof TopicMessageInput>;

/** A queue has no partitions: no `key`. */
export const QueueMessageInput = z.strictObject({
  ...MessageFields,
  delaySeconds: z.number().int().min(0).max(L.MAX_RETENTION_SECONDS).optional(),
});
export type QueueMessageInput = z.infer<typeof QueueMessageInput>;

export function batchOf<T extends z.ZodType>(item: T) {
  return z.strictObject({ messages: z.array(item).min(1).max(L.MAX_BATCH_MESSAGES) });
}

export const PublishResult = z.object({
  seq: z.number().int(),
  id: z.string(),
  duplicate: z.literal(true).optional(),
  /** The partition it went to; on topics of more than one partition only. */
  partition: z.number().int().optional(),
});
export type PublishResult = z.infer<typeof PublishResult>;

export const TopicConfigInput = z.strictObject({
  retentionSeconds: z.number().int().min(1).max(L.MAX_RETENTION_SECONDS).optional(),
  retentionMessages: z.number().int().min(1).max(L.MAX_TOPIC_RETENTION_MESSAGES).optional(),
  dedupWindowSeconds: z.number().int().min(1).max(L.MAX_DEDUP_WINDOW_SECONDS).optional(),
  /** Grow only: a smaller count than the topic has is refused (409 `partitions_shrink`). */
  partitions: z.number().int().min(1).max(L.MAX_PARTITIONS).optional(),
  relays: z.number().int().min(0).max(L.MAX_RELAYS).optional(),
});
export type TopicConfigInput = z.infer<typeof TopicConfigInput>;

export const TopicConfig = z.object({
  retentionSeconds: z.number().int(),
  retentionMessages: z.number().int(),
  dedupWindowSeconds: z.number().int(),
  partitions: z.number().int(),
  relays: z.number().int(),
});
export type TopicConfig = z.infer<typeof TopicConfig>;

export const StoredMessage = z.object({
  seq: z.number().int(),
  id: z.string(),
  data: z.json(),
  attributes: z.record(z.string(), z.string()),
  publishedAt: z.number().int(),
});
export type StoredMessage = z.infer<typeof StoredMessage>;

/** A row of a topic's history: with `partition` on a topic of more than one partition. */
export const TopicHistoryRow = StoredMessage.extend({ partition: z.number().int().optional() });

/** Query of history and subscribe: `after` a seq (0 = from the start), `limit` a page size. */
const SeqParam = z
  .string()
  .regex(/^\d{1,15}$/, "must be a non-negative integer")
  .transform(Number);

/** A partition number of a partitioned topic (0-63); the topic's object checks its own count. */
const PartitionParam = z
  .string()
  .regex(/^\d{1,2}$/, "must be a partition number")
  .transform(Number)
  .refine((n) => n < L.MAX_PARTITIONS, `must be 0-${L.MAX_PARTITIONS - 1}`);

export const HistoryQuery = z.object({
  after: SeqParam.optional(),
  /** Required on a topic of more than one partition (DESIGN.md "Partitioned topics"). */
  partition: PartitionParam.optional(),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, "must be an integer")
    .transform(Number)
    .refine((n) => n >= 1 && n <= L.MAX_HISTORY_LIMIT, `must be 1-${L.MAX_HISTORY_LIMIT}`)
    .optional(),
  token: z.string().optional(),
});

/** `batch=1` asks for `{"type":"messages"}` frames (DESIGN.md, batched frames). */
const BatchParam = z.enum(["1", "0", "true", "false"], { message: "must be 1 or 0" }).transform((value) => value === "1" || value === "true");

export const SubscribeQuery = z.object({
  /** A seq, or on a partitioned topic a cursor (`12,40,7`): checked against the partition count (relay/cursor.ts). */
  after: z.string().optional(),
  batch: BatchParam.optional(),
  token: z.string().optional(),
});

export const TopicStats = z.object({
  name: z.string(),
  lastSeq: z.number().int(),
  subscribers: z.number().int(),
  webSocketSubscribers: z.number().int(),
  sseSubscribers: z.number().int(),
  retainedMessages: z.number().int(),
  retainedBytes: z.number().int(),
  firstRetainedSeq: z.number().int().nullable(),
  oldestRetainedAt: z.number().int().nullable(),
  config: TopicConfig,
  /** As in `config`, at the top level too (DESIGN.md "Relays", "Partitioned topics"). */
  relays: z.number().int(),
  partitions: z.number().int(),
  /**
   * Each partition's log, in partition order (one entry on a topic of one partition). With
   * more than one, the top-level `lastSeq`, `retainedMessages` and `retainedBytes` are sums over
   * the partitions, `oldestRetainedAt` the oldest, and `firstRetainedSeq` null (a seq means
   * something only within its partition).
   */
  partitionStats: z.array(
    z.object({
      partition: z.number().int(),
      lastSeq: z.number().int(),
      retainedMessages: z.number().int(),
      retainedBytes: z.number().int(),
      firstRetainedSeq: z.number().int().nullable(),
      oldestRetainedAt: z.number().int().nullable(),
    }),
  ),
  subscriptions: z.array(z.object({ queue: z.string(), filter: z.record(z.string(), z.string()).nullable() })),
});
export type TopicStats = z.infer<typeof TopicStats>;

export const BackoffConfig = z.strictObject({
  minSeconds: z.number().min(0.1).max(L.DEFAULT_BACKOFF_MAX_SECONDS * 6),
  maxSeconds: z.number().min(0.1).max(L.DEFAULT_BACKOFF_MAX_SECONDS * 6),
});

/**
 * A push queue's endpoint (DESIGN.md "Push subscriptions"). The scheme is checked again by the
 * worker: `http:` only where PUSH_ALLOW_HTTP is "true".
 */
export const PushSettingsInput = z.strictObject({
  url: z
    .string()
    .max(2048)
    .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), "must be an http(s) URL"),
  /** A Standard Webhooks secret; generated (and shown once) when absent. */
  secret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, "must be whsec_<base64>")
    .refine((value) => {
      const bytes = Math.floor(((value.length - 6) * 3) / 4) - (value.endsWith("==") ? 2 : value.endsWith("=") ? 1 : 0);
      return bytes >= 24 && bytes <= 64;
    }, "must encode 24 to 64 bytes")
    .optional(),
  maxConcurrency: z.number().int().min(1).max(L.MAX_PUSH_CONCURRENCY).optional(),
  timeoutSeconds: z.number().int().min(1).max(L.MAX_PUSH_TIMEOUT_SECONDS).optional(),
});
export type PushSettingsInput = z.infer<typeof PushSettingsInput>;

/** Push settings as stored and shown (never the secret). */
export const PushSettings = z.object({
  url: z.string(),
  maxConcurrency: z.number().int(),
  timeoutSeconds: z.number().int(),
});
export type PushSettings = z.infer<typeof PushSettings>;

export const PushStats = PushSettings.extend({
  inFlight: z.number().int(),
  /** The last attempt's HTTP status; null when it got none (timeout, network error) or before the first. */
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  lastAttemptAt: z.number().int().nullable(),
});
export type PushStats = z.infer<typeof PushStats>;

export const QueueConfigInput = z.strictObject({
  visibilityTimeoutSeconds: z.number().int().min(L.MIN_VISIBILITY_TIMEOUT_SECONDS).max(L.MAX_VISIBILITY_TIMEOUT_SECONDS).optional(),
  maxAttempts: z.number().int().min(1).max(L.MAX_MAX_ATTEMPTS).optional(),
  /** A queue name, or null for none (exhausted messages then keep retrying at the maximum backoff). */
  deadLetterQueue: Name.nullable().optional(),
  retentionSeconds: z.number().int().min(60).max(L.MAX_RETENTION_SECONDS).optional(),
  dedupWindowSeconds: z.number().int().min(1).max(L.MAX_DEDUP_WINDOW_SECONDS).optional(),
  backoff: BackoffConfig.refine((b) => b.minSeconds <= b.maxSeconds, "minSeconds must not exceed maxSeconds").optional(),
  /** Delay of a message enqueued without `delaySeconds` (SQS's queue DelaySeconds; default 0). */
  delaySeconds: z.number().int().min(0).max(L.MAX_QUEUE_DELAY_SECONDS).optional(),
  /** SQS's ReceiveMessageWaitTimeSeconds: the long-poll wait of a ReceiveMessage that gives none. */
  receiveWaitSeconds: z.number().int().min(0).max(L.MAX_WAIT_SECONDS).optional(),
  /** Deliver to an HTTP endpoint (a push queue); null stops. */
  push: PushSettingsInput.nullable().optional(),
});
export type QueueConfigInput = z.infer<typeof QueueConfigInput>;

export const QueueConfig = z.object({
  name: z.string(),
  visibilityTimeoutSeconds: z.number().int(),
  maxAttempts: z.number().int(),
  deadLetterQueue: z.string().nullable(),
  retentionSeconds: z.number().int(),
  dedupWindowSeconds: z.number().int(),
  backoff: z.object({ minSeconds: z.number(), maxSeconds: z.number() }),
  delaySeconds: z.number().int(),
  receiveWaitSeconds: z.number().int(),
  push: PushSettings.nullable(),
});
export type QueueConfig = z.infer<typeof QueueConfig>;

/** The answer of `PUT /v1/queues/{q}`: the config, with the push secret when that call generated it (never shown again). */
export const QueueConfigAnswer = QueueConfig.extend({
  push: PushSettings.extend({ secret: z.string().optional() }).nullable(),
});
export type QueueConfigAnswer = z.infer<typeof QueueConfigAnswer>;

export const PullInput = z.strictObject({
  max: z.number().int().min(1).max(L.MAX_PULL).optional(),
  /** Long polling: with nothing ready, wait up to this long for a message (0 answers at once). */
  waitSeconds: z.number().min(0).max(L.MAX_WAIT_SECONDS).optional(),
  visibilityTimeoutSeconds: z.number().int().min(L.MIN_VISIBILITY_TIMEOUT_SECONDS).max(L.MAX_VISIBILITY_TIMEOUT_SECONDS).optional(),
});

const LeaseIds = z.array(z.string().min(1).max(200)).min(1).max(L.MAX_PULL);

export const AckInput = z.strictObject({ leaseIds: LeaseIds });
export const NackInput = z.strictObject({
  leaseIds: LeaseIds,
  delaySeconds: z.number().int().min(0).max(L.MAX_VISIBILITY_TIMEOUT_SECONDS).optional(),
});
export const ExtendInput = z.strictObject({
  leaseIds: LeaseIds,
  visibilityTimeoutSeconds: z.number().int().min(L.MIN_VISIBILITY_TIMEOUT_SECONDS).max(L.MAX_VISIBILITY_TIMEOUT_SECONDS),
});

export const RedriveInput = z.strictObject({
  /** Where to: by default each message goes back to the queue it was dead-lettered from. */
  to: Name.optional(),
  max: z.number().int().min(1).max(100_000).optional(),
});

export const ConsumeQuery = z.object({
  prefetch: z
    .string()
    .regex(/^\d{1,4}$/, "must be an integer")
    .transform(Number)
    .refine((n) => n >= 1 && n <= L.MAX_PREFETCH, `must be 1-${L.MAX_PREFETCH}`)
    .optional(),
  visibilityTimeoutSeconds: z
    .string()
    .regex(/^\d{1,5}$/, "must be an integer")
    .transform(Number)
    .refine((n) => n >= L.MIN_VISIBILITY_TIMEOUT_SECONDS && n <= L.MAX_VISIBILITY_TIMEOUT_SECONDS, "out of range")
    .optional(),
  batch: BatchParam.optional(),
  token: z.string().optional(),
});

const FrameLeaseIds = z.array(z.string().min(1).max(200)).min(1).max(L.MAX_LEASE_IDS_PER_FRAME);

/** Frames a queue consumer sends over its WebSocket: one lease id, or many (`leaseIds`). */
const SingleLeaseFrame = z.discriminatedUnion("type", [
  z.object({ type: z.literal("ack"), leaseId: z.string().min(1).max(200) }),
  z.object({ type: z.literal("nack"), leaseId: z.string().min(1).max(200), delaySeconds: z.number().int().min(0).max(L.MAX_VISIBILITY_TIMEOUT_SECONDS).optional() }),
  z.object({ type: z.literal("extend"), leaseId: z.string().min(1).max(200), visibilityTimeoutSeconds: z.number().int().min(L.MIN_VISIBILITY_TIMEOUT_SECONDS).max(L.MAX_VISIBILITY_TIMEOUT_SECONDS) }),
]);
const ManyLeasesFrame = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("ack"), leaseIds: FrameLeaseIds }),
  z.strictObject({ type: z.literal("nack"), leaseIds: FrameLeaseIds, delaySeconds: z.number().int().min(0).max(L.MAX_VISIBILITY_TIMEOUT_SECONDS).optional() }),
]);
export const ConsumerFrame = z.union([SingleLeaseFrame, ManyLeasesFrame]);
export type ConsumerFrame = z.infer<typeof ConsumerFrame>;

/** A message leased to a consumer (pull items; consumer frames add `type` and `queue`). */
export const LeasedMessage = StoredMessage.extend({
  /** 1 on the first delivery. */
  attempt: z.number().int(),
  /** Unique per delivery: ack, nack or extend with it. */
  leaseId: z.string(),
  leaseExpiresAt: z.number().int(),
});
export type LeasedMessage = z.infer<typeof LeasedMessage>;

/**
 * The outcome for one lease id. `stale`: the lease expired, was already used, or belongs to an
 * earlier delivery, and nothing changed.
 */
export const LeaseResult = z.object({
  leaseId: z.string(),
  ok: z.boolean(),
  status: z.enum(["acked", "nacked", "extended", "stale"]),
  /** The nack used the last attempt and the message went to the dead-letter queue. */
  deadLettered: z.literal(true).optional(),
});
export type LeaseResult = z.infer<typeof LeaseResult>;
export type LeaseStatus = LeaseResult["status"];

export const QueueStats = z.object({
  name: z.string(),
  ready: z.number().int(),
  inFlight: z.number().int(),
  delayed: z.number().int(),
  oldestAgeSeconds: z.number().int(),
  consumers: z.number().int(),
  /** Long-polling pulls waiting for a message right now. */
  pullsWaiting: z.number().int(),
  deadLettered: z.number().int(),
  deadLetterPending: z.number().int(),
  redeliveries: z.number().int(),
  acked: z.number().int(),
  enqueued: z.number().int(),
  expired: z.number().int(),
  lastSeq: z.number().int(),
  config: QueueConfig,
  /** A push queue's delivery state; null for a pull queue. */
  push: PushStats.nullable(),
});
export type QueueStats = z.infer<typeof QueueStats>;
