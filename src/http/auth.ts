/**
 * Who is calling. One middleware turns the credential (`Authorization: Bearer <credential>`,
 * or `?token=` for browsers, which cannot set headers on WebSocket or EventSource) into a
 * Principal; routes then ask `authorize` for the operation on a name.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Env } from "../env";
import { ApiError } from "../protocol/errors";

export type Operation = "publish" | "subscribe" | "consume" | "admin";

export type Principal = { kind: "root" };

export type AppEnv = { Bindings: Env; Variables: { principal: Principal } };

const encoder = new TextEncoder();

/** Compare secrets in constant time: hash both so lengths match, then timingSafeEqual. */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}

export function credentialOf(c: Context): string | null {
  const header = c.req.header("authorization");
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1]! : null;
  }
  return c.req.query("token") ?? null;
}

export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const rootKey = c.env.EDGEPOST_ROOT_KEY;
  if (!rootKey) {
    throw new ApiError(503, "not_configured", "no root key is set: run `wrangler secret put EDGEPOST_ROOT_KEY` (locally, `npm start` sets dev-root-key)");
  }
  const credential = credentialOf(c);
  if (!credential) throw new ApiError(401, "unauthorized", "missing credentials: send Authorization: Bearer <key or token>");
  const previous = c.env.EDGEPOST_ROOT_KEY_PREVIOUS;
  if ((await sameSecret(credential, rootKey)) || (previous && (await sameSecret(credential, previous)))) {
    c.set("principal", { kind: "root" });
    return next();
  }
  throw new ApiError(401, "unauthorized", "invalid credentials");
};

/** Throw 403 unless the principal may perform `operation` on `name`. The root key may do all. */
export function authorize(c: Context<AppEnv>, _operation: Operation, _name: string): void {
  const principal = c.get("principal");
  if (principal.kind === "root") return;
  throw new ApiError(403, "forbidden", "not allowed");
}
