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
  | "partition_required"
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

/**
 * Run an object's RPC method and answer a failure inside it as a value: logged here with
 * console.error (the fault stays visible), then `internal_error`. A rejection that leaves a
 * Durable Object's RPC method is logged by workerd as an "uncaught exception" even when the
 * caller catches it (seen 2026-12-02 on the Vitest plugin's workerd and on plain workerd; issue
 * 15, cloudflare/workers-sdk#14736), which buries real ones. `message` is what the caller is
 * told; by default nothing of the cause.
 */
export async function answered<T>(what: string, run: () => Promise<T>, message: (error: unknown) => string = () => "internal error"): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    console.error(`${what} failed`, error);
    return fail(500, "internal_error", message(error));
  }
}
