/**
 * Limits and defaults of the public contract (see README "Configuration and limits").
 * Anchors for each default are in DESIGN.md's table.
 */
export const KIB = 1024;
export const MIB = 1024 * KIB;

/** Default maximum size of one message's `data`, serialised as JSON. */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * KIB;
/** The deployment may raise MAX_MESSAGE_BYTES up to this. */
export const MAX_MESSAGE_BYTES_CEILING = 1 * MIB;
/** One request body, batch or single. */
export const MAX_REQUEST_BYTES = 1 * MIB;
export const MAX_BATCH_MESSAGES = 100;

export const MAX_ID_LENGTH = 128;
export const MAX_ATTRIBUTES = 32;
export const MAX_ATTRIBUTE_KEY_LENGTH = 128;
export const MAX_ATTRIBUTE_VALUE_LENGTH = 1024;

export const DEFAULT_DEDUP_WINDOW_SECONDS = 10 * 60;
export const MAX_DEDUP_WINDOW_SECONDS = 24 * 60 * 60;

export const DEFAULT_TOPIC_RETENTION_SECONDS = 7 * 24 * 60 * 60;
export const MAX_RETENTION_SECONDS = 30 * 24 * 60 * 60;
export const DEFAULT_TOPIC_RETENTION_MESSAGES = 1_000_000;
export const MAX_TOPIC_RETENTION_MESSAGES = 100_000_000;

/** Partitioned topics and relays (DESIGN.md, issue 11): counts a topic may be set to. */
export const MAX_PARTITIONS = 64;
export const MAX_RELAYS = 64;
/** A message's routing key (DESIGN.md "Partitioned topics"). */
export const MAX_KEY_LENGTH = 256;

export const DEFAULT_HISTORY_LIMIT = 100;
export const MAX_HISTORY_LIMIT = 1000;

export const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 30;
export const MIN_VISIBILITY_TIMEOUT_SECONDS = 1;
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 12 * 60 * 60;
export const DEFAULT_MAX_ATTEMPTS = 5;
export const MAX_MAX_ATTEMPTS = 100;
export const DEFAULT_BACKOFF_MIN_SECONDS = 1;
export const DEFAULT_BACKOFF_MAX_SECONDS = 600;
export const DEFAULT_QUEUE_RETENTION_SECONDS = 7 * 24 * 60 * 60;
export const MAX_PULL = 100;
/** A queue's default message delay (SQS allows 0-900 s). */
export const MAX_QUEUE_DELAY_SECONDS = 15 * 60;
/** Longest long-poll wait (SQS's WaitTimeSeconds, DESIGN.md's waitSeconds). */
export const MAX_WAIT_SECONDS = 20;
/** Push queues (DESIGN.md "Push subscriptions"). */
export const DEFAULT_PUSH_CONCURRENCY = 10;
export const MAX_PUSH_CONCURRENCY = 100;
export const DEFAULT_PUSH_TIMEOUT_SECONDS = 30;
export const MAX_PUSH_TIMEOUT_SECONDS = 60;
export const MAX_PREFETCH = 1000;
export const DEFAULT_PREFETCH = 10;

/** Bytes a single WebSocket or SSE stream may have queued before it is cut off as too slow. */
export const MAX_BUFFERED_BYTES_PER_SUBSCRIBER = 4 * MIB;

/** Sockets (subscribers plus consumers) one object accepts; the platform's cap is 32,768. */
export const MAX_SOCKETS_PER_OBJECT = 10_000;
/** Frames a client may send per second on one socket before it is closed (4429). */
export const MAX_FRAMES_PER_SECOND = 200;
/** Largest client frame accepted, in characters. */
export const MAX_CLIENT_FRAME_CHARS = 8 * 1024;

/** Lease ids in one `{"type":"ack"|"nack","leaseIds"}` consumer frame (fits the frame size limit). */
export const MAX_LEASE_IDS_PER_FRAME = 100;
/**
 * A batched `{"type":"messages"}` frame is cut after this many bytes of payload (at least one
 * message each), so one frame stays a size every WebSocket stack takes.
 */
export const MAX_BATCH_FRAME_BYTES = 1 * MIB;
