/**
 * Who is calling. One middleware turns the credential (`Authorization: Bearer <credential>`,
 * or `?token=` for browsers, which cannot set headers on WebSocket or EventSource) into a
 * Principal: the root key (may do everything) or a scoped token. Routes then ask `authorize`
 * for the operation on a name: 401 for no or bad credentials, 403 for out of scope.
 */
import type { Context, MiddlewareHandler } from "hono";
import { isAllowed, principalFor, type Principal } from "../auth/principal";
import type { Operation } from "../auth/scopes";
import type { Env } from "../env";
import { ApiError, type ErrorBody } from "../protocol/errors";

export type { Operation } from "../auth/scopes";
export { isAllowed, type Principal } from "../auth/principal";

export type AppEnv = { Bindings: Env; Variables: { principal: Principal } };

export function credentialOf(c: Context): string | null {
  const header = c.req.header("authorization");
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new ApiError(401, "unauthorized", "Authorization header must be `Bearer <key or token>`");
    return match[1]!;
  }
  return c.req.query("token") ?? null;
}

/**
 * The 401 answer, returned rather than thrown: the most common refusal (and the one a flood of
 * bad requests causes) skips building an Error and Hono's catch-and-onError path, which were
 * ~15% of a 401's samples in the worker (bench/profile.mjs --anonymous, 2026-12-02, issue 10).
 * The body is the contract's error body, as `handleError` writes it.
 */
function unauthorized(c: Context<AppEnv>, message: string): Response {
  const body: ErrorBody = { error: { code: "unauthorized", message } };
  return c.json(body, 401);
}

export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.env.EDGEPOST_ROOT_KEY) {
    // Never open by default: a deployment without a key refuses everything.
    throw new ApiError(503, "not_configured", "no root key is set: run `wrangler secret put EDGEPOST_ROOT_KEY` (locally, `npm start` sets dev-root-key)");
  }
  const credential = credentialOf(c);
  if (!credential) return unauthorized(c, "missing credentials: send Authorization: Bearer <key or token>, or ?token= from a browser");
  const principal = await principalFor(c.env, credential);
  if (!principal) return unauthorized(c, "invalid or expired credentials");
  c.set("principal", principal);
  return next();
};

/** Throw 403 unless the principal may perform `operation` on `name`. */
export function authorize(c: Context<AppEnv>, operation: Operation, name: string): void {
  if (!isAllowed(c.get("principal"), operation, name)) {
    throw new ApiError(403, "forbidden", `this credential may not ${operation} on ${name}`);
  }
}

export function requireRoot(c: Context<AppEnv>): void {
  if (c.get("principal").kind !== "root") throw new ApiError(403, "forbidden", "only the root key may do this");
}
