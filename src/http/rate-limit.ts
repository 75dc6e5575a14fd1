/**
 * Publish rate limit per scoped token, with the Workers rate-limiting binding (wrangler.toml
 * `[[ratelimits]]`). Chosen over a token bucket in a Durable Object because it adds no round
 * trip and no shared hot spot to the publish path; it is approximate and per location, which
 * is what abuse protection needs. Root-key callers are trusted servers and are not limited.
 */
import type { Context } from "hono";
import { ApiError } from "../protocol/errors";
import type { AppEnv } from "./auth";

const PERIOD_SECONDS = 10;

export async function enforcePublishRate(c: Context<AppEnv>): Promise<void> {
  const principal = c.get("principal");
  const limiter = c.env.PUBLISH_LIMITER;
  if (principal.kind === "root" || !limiter) return;
  const { success } = await limiter.limit({ key: principal.subject ? `sub:${principal.subject}` : `jti:${principal.tokenId}` });
  if (!success) {
    c.header("Retry-After", String(PERIOD_SECONDS));
    throw new ApiError(429, "rate_limited", "publish rate limit reached for this token; retry later");
  }
}
