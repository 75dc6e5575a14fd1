/**
 * `POST /v1/tokens/sqs`: SQS credentials (access key id + secret) for an SQS client.
 * - With the root key: body as `POST /v1/tokens` (`scopes`, `ttlSeconds`, `subject`?).
 * - With a scoped token (a browser or service that holds one): the credentials carry the
 *   token's scopes, or narrower ones given in `scopes`, and expire no later than the token
 *   (`ttlSeconds` may shorten that), under the token's own subject (its rate-limit key).
 * Answer 201 `{"accessKeyId", "secretAccessKey", "expiresAt"}`.
 */
import { Hono } from "hono";
import { z } from "zod";
import { OPERATIONS, patternMatches, Scopes } from "../auth/scopes";
import { MAX_TOKEN_TTL_SECONDS } from "../auth/tokens";
import type { AppEnv } from "../http/auth";
import { parseWith, readJson } from "../http/body";
import { ApiError } from "../protocol/errors";
import { mintSqsCredentials } from "./credentials";

export const SqsCredentialInput = z.strictObject({
  scopes: Scopes.optional(),
  ttlSeconds: z.number().int().min(1).max(MAX_TOKEN_TTL_SECONDS).optional(),
  subject: z.string().min(1).max(256).optional(),
});

/** Is a pattern within one the caller holds? (`orders.eu.*` is within `orders.*`.) */
function covered(pattern: string, held: readonly string[]): boolean {
  return held.some((by) => (by.endsWith("*") ? patternMatches(by, pattern.replace(/\*$/, "")) : !pattern.endsWith("*") && by === pattern));
}

function withinScopes(requested: Scopes, held: Scopes): boolean {
  return OPERATIONS.every((operation) => (requested[operation] ?? []).every((pattern) => covered(pattern, held[operation] ?? [])));
}

export const sqsCredentialRoutes = new Hono<AppEnv>();

sqsCredentialRoutes.post("/", async (c) => {
  const input = parseWith(SqsCredentialInput, await readJson(c, { optional: true }));
  const principal = c.get("principal");
  const now = Date.now();
  const rootKey = c.env.EDGEPOST_ROOT_KEY!;
  if (principal.kind === "root") {
    if (!input.scopes || input.ttlSeconds === undefined) throw new ApiError(400, "invalid_request", "with the root key, give scopes and ttlSeconds");
    return c.json(await mintSqsCredentials(rootKey, { scopes: input.scopes, expiresAt: now + input.ttlSeconds * 1000, subject: input.subject ?? null }, now), 201);
  }
  const scopes = input.scopes ?? principal.scopes;
  if (!withinScopes(scopes, principal.scopes)) throw new ApiError(403, "forbidden", "scopes must be within the token's own scopes");
  const expiresAt = Math.min(principal.expiresAt, input.ttlSeconds === undefined ? Infinity : now + input.ttlSeconds * 1000);
  return c.json(await mintSqsCredentials(rootKey, { scopes, expiresAt, subject: principal.subject }, now), 201);
});
