import type { DirectoryObject } from "./directory/directory-object";
import type { QueueObject } from "./queue/queue-object";
import type { TopicObject } from "./topic/topic-object";

/** Bindings and settings of the worker (wrangler.toml, secrets, `wrangler dev --var`). */
export interface Env {
  TOPIC: DurableObjectNamespace<TopicObject>;
  QUEUE: DurableObjectNamespace<QueueObject>;
  /** The list of names that exist (one object, written once per topic or queue). */
  DIRECTORY: DurableObjectNamespace<DirectoryObject>;
  /** Secret: may do everything. Without it a deployed worker refuses every request (503). */
  EDGEPOST_ROOT_KEY?: string;
  /** Secret: the key being rotated out, still accepted during the grace period. */
  EDGEPOST_ROOT_KEY_PREVIOUS?: string;
  /** Largest message `data`, in bytes (default 262144, at most 1048576). */
  MAX_MESSAGE_BYTES?: string;
  /** Publishes per scoped token (wrangler.toml `[[ratelimits]]`); absent means unlimited. */
  PUBLISH_LIMITER?: RateLimit;
  /** The static assets (public/): the worker hands `/` back to them unless it is SQS. */
  ASSETS?: Fetcher;
  /** Comma-separated origins allowed by CORS; `*` (the default) allows any. */
  ALLOWED_ORIGINS?: string;
  /** "true" lets push queues deliver to http: URLs (local development; `npm start` sets it). */
  PUSH_ALLOW_HTTP?: string;
}
