/** Credentials for authorization tests: real tokens from the worker, and forged ones. */
import { sign } from "hono/jwt";
import { api, json, ROOT_KEY } from "./helpers";

export async function mint(scopes: Record<string, string[]>, ttlSeconds = 300, subject?: string): Promise<string> {
  const response = await api("/v1/tokens", { body: { scopes, ttlSeconds, ...(subject ? { subject } : {}) } });
  if (response.status !== 201) throw new Error(`minting failed: ${response.status} ${await response.text()}`);
  return (await json<{ token: string }>(response)).token;
}

const base64url = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

function claims(scopes: Record<string, string[]>, expOffsetSeconds: number) {
  const now = Math.floor(Date.now() / 1000);
  return { iss: "edgepost", iat: now - 10, exp: now + expOffsetSeconds, scp: scopes, jti: crypto.randomUUID() };
}

const ALL = { publish: ["*"], subscribe: ["*"], consume: ["*"], admin: ["*"] };

/** Every kind of credential the matrix tries, keyed by name. */
export async function credentials(inScope: Record<string, string[]>, outOfScope: Record<string, string[]>) {
  return {
    none: null,
    garbage: "not-a-token",
    wrongSignature: await sign(claims(ALL, 300), "some-other-key", "HS256"),
    algNone: `${base64url({ alg: "none", typ: "JWT" })}.${base64url(claims(ALL, 300))}.`,
    expired: await sign(claims(ALL, -60), ROOT_KEY, "HS256"),
    outOfScope: await mint(outOfScope),
    inScope: await mint(inScope),
    root: ROOT_KEY,
  } as const;
}

/**
 * Short-lived tokens without assuming a speed. `act` gets a fresh token of `ttlSeconds` and
 * does what must happen while it is valid; the moment is caught when `act` finished before
 * the token's expiry (whole seconds, so it lives between ttl-1 and ttl s). When load made it
 * finish later (or fail because the token ran out), it is done again with twice the TTL.
 * Returns what `act` returned and when the token expires (ms).
 */
export async function beforeExpiry<T>(scopes: Record<string, string[]>, act: (token: string) => Promise<T>, ttlSeconds = 2, attempts = 4): Promise<{ result: T; expiresAt: number }> {
  for (let attempt = 1, ttl = ttlSeconds; ; attempt++, ttl *= 2) {
    const response = await api("/v1/tokens", { body: { scopes, ttlSeconds: ttl } });
    if (response.status !== 201) throw new Error(`minting failed: ${response.status} ${await response.text()}`);
    const { token, expiresAt } = await json<{ token: string; expiresAt: number }>(response);
    let result: T;
    try {
      result = await act(token);
    } catch (error) {
      if (Date.now() < expiresAt || attempt >= attempts) throw error;
      continue;
    }
    if (Date.now() < expiresAt) return { result, expiresAt };
    if (attempt >= attempts) throw new Error(`the steps before expiry outlasted a ${ttl} s token ${attempt} times`);
  }
}

/** Until just after `expiresAt`: time itself has to pass for a token to expire. */
export async function untilExpired(expiresAt: number): Promise<void> {
  const remaining = expiresAt + 100 - Date.now();
  if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));
}
