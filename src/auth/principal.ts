/**
 * Who a credential belongs to: the root key (current or, during a rotation, previous), or a
 * scoped token. Used by the worker at connect and by the objects for in-band renewals.
 */
import type { Env } from "../env";
import { allows, type Operation } from "./scopes";
import { verifyToken, type VerifiedToken } from "./tokens";

export type Principal = { kind: "root" } | ({ kind: "token" } & VerifiedToken);

const encoder = new TextEncoder();

/** Compare secrets in constant time: hash both so lengths match, then timingSafeEqual. */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}

/** The principal a credential proves, or null. Needs EDGEPOST_ROOT_KEY to be set. */
export async function principalFor(env: Pick<Env, "EDGEPOST_ROOT_KEY" | "EDGEPOST_ROOT_KEY_PREVIOUS">, credential: string): Promise<Principal | null> {
  const rootKey = env.EDGEPOST_ROOT_KEY;
  if (!rootKey) return null;
  const previous = env.EDGEPOST_ROOT_KEY_PREVIOUS;
  if ((await sameSecret(credential, rootKey)) || (previous && (await sameSecret(credential, previous)))) return { kind: "root" };
  const token = await verifyToken(env, credential);
  return token ? { kind: "token", ...token } : null;
}

export function isAllowed(principal: Principal, operation: Operation, name: string): boolean {
  return principal.kind === "root" || allows(principal.scopes, operation, name);
}

/** When a principal's access ends (ms), or null for the root key. */
export function expiryOf(principal: Principal): number | null {
  return principal.kind === "root" ? null : principal.expiresAt;
}
