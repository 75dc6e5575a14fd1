/**
 * Scoped tokens: HS256 JWTs (hono/jwt) signed with the root key. Verification pins the
 * algorithm, so `alg: none` and other algorithms are refused; during a key rotation a token
 * signed with EDGEPOST_ROOT_KEY_PREVIOUS still verifies until that secret is removed.
 */
import { sign, verify } from "hono/jwt";
import type { Env } from "../env";
import { Scopes } from "./scopes";

export const TOKEN_ISSUER = "edgepost";
export const MAX_TOKEN_TTL_SECONDS = 24 * 60 * 60;

export interface VerifiedToken {
  /** The token's unique id (`jti`): the key for per-credential rate limits. */
  tokenId: string;
  scopes: Scopes;
  subject: string | null;
  /** Expiry, milliseconds since the epoch. */
  expiresAt: number;
}

export async function mintToken(
  rootKey: string,
  input: { scopes: Scopes; ttlSeconds: number; subject?: string | undefined },
  now = Date.now(),
): Promise<{ token: string; expiresAt: number }> {
  const iat = Math.floor(now / 1000);
  const exp = iat + input.ttlSeconds;
  const payload: Record<string, unknown> = { iss: TOKEN_ISSUER, iat, exp, scp: input.scopes, jti: crypto.randomUUID() };
  if (input.subject !== undefined) payload.sub = input.subject;
  return { token: await sign(payload, rootKey, "HS256"), expiresAt: exp * 1000 };
}

/** The token's claims if it verifies with the current or previous root key, else null. */
export async function verifyToken(env: Pick<Env, "EDGEPOST_ROOT_KEY" | "EDGEPOST_ROOT_KEY_PREVIOUS">, token: string): Promise<VerifiedToken | null> {
  const keys = [env.EDGEPOST_ROOT_KEY, env.EDGEPOST_ROOT_KEY_PREVIOUS].filter((key): key is string => !!key);
  for (const key of keys) {
    try {
      const payload = await verify(token, key, { alg: "HS256", iss: TOKEN_ISSUER });
      const scopes = Scopes.safeParse(payload.scp);
      if (!scopes.success || typeof payload.exp !== "number") return null;
      const tokenId = typeof payload.jti === "string" ? payload.jti : token.slice(-16);
      return { tokenId, scopes: scopes.data, subject: typeof payload.sub === "string" ? payload.sub : null, expiresAt: payload.exp * 1000 };
    } catch {
      // Not this key (or expired, malformed): try the next.
    }
  }
  return null;
}
