/**
 * Who a credential belongs to: the root key (current or, during a rotation, previous), or a
 * scoped token. Used by the worker at connect and by the objects for in-band renewals.
 */
import type { Env } from "../env";
import { allows, type Operation } from "./scopes";
import { verifyToken, type VerifiedToken } from "./tokens";

export type Principal = { kind: "root" } | ({ kind: "token" } & VerifiedToken);

const encoder = new TextEncoder();

/** Digests of the configured keys, computed once per isolate (keys change only on deploy). */
const keyDigests = new Map<string, Promise<ArrayBuffer>>();

function digestOfKey(key: string): Promise<ArrayBuffer> {
  let digest = keyDigests.get(key);
  if (!digest) {
    digest = crypto.subtle.digest("SHA-256", encoder.encode(key));
    keyDigests.set(key, digest);
  }
  return digest;
}

/** Is the credential one of the keys? Constant time: digests have equal length, then timingSafeEqual. */
async function isOneOfKeys(credential: string, keys: readonly string[]): Promise<boolean> {
  const given = await crypto.subtle.digest("SHA-256", encoder.encode(credential));
  let match = false;
  for (const key of keys) if (crypto.subtle.timingSafeEqual(given, await digestOfKey(key))) match = true;
  return match;
}

/** The principal a credential proves, or null. Needs EDGEPOST_ROOT_KEY to be set. */
export async function principalFor(env: Pick<Env, "EDGEPOST_ROOT_KEY" | "EDGEPOST_ROOT_KEY_PREVIOUS">, credential: string): Promise<Principal | null> {
  const rootKey = env.EDGEPOST_ROOT_KEY;
  if (!rootKey) return null;
  const keys = env.EDGEPOST_ROOT_KEY_PREVIOUS ? [rootKey, env.EDGEPOST_ROOT_KEY_PREVIOUS] : [rootKey];
  if (await isOneOfKeys(credential, keys)) return { kind: "root" };
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
