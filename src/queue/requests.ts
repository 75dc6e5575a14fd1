/** What the worker and the adapters hand the queue object: the shapes of its RPC inputs. */
import type { PreparedQueueMessage } from "./store";

/** A message to enqueue; `delayMs` null takes the queue's `delaySeconds`. */
export type EnqueueMessage = Omit<PreparedQueueMessage, "delayMs"> & { delayMs: number | null };

/** What the worker forwards to `fetch` for a consumer socket; validated there. */
export interface ConsumeRequest {
  prefetch: number;
  visibilityTimeoutSeconds: number | null;
  /** When the consumer's credential expires (ms); null for the root key. */
  expiresAt: number | null;
  /** `batch=1`: push `{"type":"messages"}` frames. */
  batch?: boolean;
}
