import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Machine-readable error codes of the contract's error body `{"error": {"code", "message"}}`. */
export type ErrorCode =
  | "invalid_json"
  | "invalid_request"
  | "invalid_name"
  | "invalid_query"
  | "message_too_large"
  | "payload_too_large"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "rate_limited"
  | "not_configured"
  | "at_capacity"
  | "websocket_required"
  | "push_queue"
  | "partitions_shrink"
  | "unavailable"
  | "internal_error";

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/** V8's (workerd's) knob for stack trace depth; not in the standard types. */
const V8Error = Error as ErrorConstructor & { stackTraceLimit?: number };

/** An error that becomes a JSON response with its status; thrown anywhere in the worker. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    // An expected outcome (401, 400, 404, ...), never a bug: no stack trace. Capturing one
    // was 6.6% of a 401's time in the worker (bench/profile.mjs --anonymous, 2026-12-02).
    const limit = V8Error.stackTraceLimit;
    V8Error.stackTraceLimit = 0;
    super(message);
    V8Error.stackTraceLimit = limit;
    this.name = "ApiError";
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { error: { code: this.code, message: this.message } };
    if (this.details !== undefined) body.error.details = this.details;
    return body;
  }
}

/** Shape an object's RPC returns instead of throwing: custom errors do not survive RPC. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; status: ContentfulStatusCode; code: ErrorCode; message: string };

export function fail(status: ContentfulStatusCode, code: ErrorCode, message: string): Outcome<never> {
  return { ok: false, status, code, message };
}
