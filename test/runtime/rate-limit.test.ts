/**
 * Publishes with a scoped token are rate limited per token by the Workers rate-limiting
 * binding (wrangler.toml: 1,000 per 10 s; vitest.config.ts lowers it to 20 for this test);
 * root-key callers are not.
 */
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { mint } from "./auth-helpers";
import { api, json, uniqueName } from "./helpers";

const LIMIT = 20;

describe("publish rate limit", () => {
  it("answers 429 with Retry-After once a token passes its limit, and other tokens and the root key go on", async () => {
    expect(env.PUBLISH_LIMITER, "the PUBLISH_LIMITER binding from wrangler.toml").toBeDefined();
    const topic = uniqueName("rate");
    const token = await mint({ publish: [topic] }, 120);
    let limitedAt: number | null = null;
    let limited: Response | null = null;
    for (let index = 1; index <= LIMIT + 50 && limitedAt === null; index++) {
      const response = await api(`/v1/topics/${topic}/messages`, { body: { data: index }, auth: token });
      if (response.status === 429) {
        limitedAt = index;
        limited = response;
      } else {
        expect(response.status).toBe(201);
      }
    }
    expect(limitedAt, "a 429 within the limit plus a little slack").not.toBeNull();
    expect(limitedAt!).toBeGreaterThan(LIMIT - 1);
    expect(limited!.headers.get("retry-after")).toBe("10");
    expect((await json<{ error: { code: string } }>(limited!)).error.code).toBe("rate_limited");
    // A different token has its own budget; the root key has none.
    const other = await mint({ publish: [topic] }, 120);
    expect((await api(`/v1/topics/${topic}/messages`, { body: { data: "other" }, auth: other })).status).toBe(201);
    expect((await api(`/v1/topics/${topic}/messages`, { body: { data: "root" } })).status).toBe(201);
    // Nothing limited was stored: the log holds exactly the accepted publishes.
    const stats = await json<{ lastSeq: number }>(await api(`/v1/topics/${topic}`));
    expect(stats.lastSeq).toBe(limitedAt! - 1 + 2);
  });
});
