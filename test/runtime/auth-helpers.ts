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
