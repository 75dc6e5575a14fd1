/** Every failure leaves the worker as the contract's JSON error body with the right status. */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";
import { ApiError, type Outcome } from "../protocol/errors";

export function errorResponse(c: Context, error: ApiError): Response {
  return c.json(error.toBody(), error.status);
}

/** Hono's onError: ApiError as is, Hono's own exceptions mapped, anything else a 500. */
export function handleError(error: Error, c: Context): Response {
  if (error instanceof ApiError) return errorResponse(c, error);
  if (error instanceof HTTPException) {
    const code = error.status === 413 ? "payload_too_large" : error.status === 401 ? "unauthorized" : "invalid_request";
    return errorResponse(c, new ApiError(error.status as 400, code, error.message || "bad request"));
  }
  console.error("unhandled error", error);
  return errorResponse(c, new ApiError(500, "internal_error", "internal error"));
}

export function notFound(c: Context): Response {
  return errorResponse(c, new ApiError(404, "not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`));
}

/** Turn Zod's issues into one readable sentence plus structured details. */
export function validationError(error: ZodError, where: string, code: "invalid_request" | "invalid_query" = "invalid_request"): ApiError {
  const issues = error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message }));
  const first = issues[0];
  const message = first ? `${where}${first.path ? `.${first.path}` : ""}: ${first.message}` : `invalid ${where}`;
  return new ApiError(400, code, message, issues);
}

/** Unwrap an object's RPC outcome or throw it as an ApiError. */
export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new ApiError(outcome.status, outcome.code, outcome.message);
}
