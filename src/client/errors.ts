/** The one error type the SDK throws: API errors with their status and code, and its own. */
import type { ErrorCode } from "../protocol/errors";

/**
 * Codes the SDK adds to the API's: `network_error` (no answer: refused, reset, DNS),
 * `http_error` (a non-JSON error answer, e.g. from a proxy), `invalid_response` (an answer
 * that is not the expected JSON), `closed` (the subscription or consumer was closed).
 */
export type ClientErrorCode = "network_error" | "http_error" | "invalid_response" | "closed";

/**
 * An error from edgepost or on the way to it.
 *
 * @example
 * ```ts
 * try {
 *   await client.publish("orders", { id: 1 });
 * } catch (error) {
 *   if (error instanceof EdgepostError && error.code === "forbidden") console.log("out of scope");
 * }
 * ```
 */
export class EdgepostError extends Error {
  override name = "EdgepostError";

  constructor(
    /** HTTP status; 0 when there was no HTTP answer. */
    readonly status: number,
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    /** Validation problems (`[{ path, message }]`) when the API sent them. */
    readonly details?: unknown,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  /** From a 429's `Retry-After` header. */
  readonly retryAfterSeconds: number | undefined;

  /** Worth retrying: no answer, rate limited, or the service is briefly unavailable. */
  get retryable(): boolean {
    if (this.status === 0) return this.code === "network_error";
    return this.status === 429 || this.status === 502 || this.status === 504 || (this.status === 503 && this.code !== "not_configured");
  }
}

interface ErrorBodyShape {
  error: { code: string; message: string; details?: unknown };
}

function isErrorBody(value: unknown): value is ErrorBodyShape {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const error = (value as { error: unknown }).error;
  return typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string";
}

/** Turn a non-2xx response into an EdgepostError, from its JSON error body when it has one. */
export async function errorFromResponse(response: Response): Promise<EdgepostError> {
  const text = await response.text().catch(() => "");
  const retryAfter = Number(response.headers.get("retry-after"));
  const options = Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (isErrorBody(body)) {
    return new EdgepostError(response.status, body.error.code as ErrorCode, body.error.message, body.error.details, options);
  }
  const excerpt = text.trim().slice(0, 200);
  return new EdgepostError(response.status, "http_error", `HTTP ${response.status}${excerpt ? `: ${excerpt}` : ""}`, undefined, options);
}

/** A fetch that threw (refused, reset, DNS, aborted connection) as an EdgepostError. */
export function networkError(url: string, cause: unknown): EdgepostError {
  const reason = describeCause(cause);
  return new EdgepostError(0, "network_error", `cannot reach ${new URL(url).origin}: ${reason}`, undefined, { cause });
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  // Node's fetch says "fetch failed" and keeps the system error (ECONNREFUSED...) as its cause.
  const inner = (cause as { cause?: unknown }).cause;
  if (inner instanceof Error) {
    const code = (inner as { code?: unknown }).code;
    return typeof code === "string" ? `${code} (${inner.message})` : inner.message;
  }
  return cause.message;
}
