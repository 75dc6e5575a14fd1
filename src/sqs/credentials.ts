/**
 * Who signs SQS requests. Access key id `root` with the root key as its secret may do
 * everything. Scoped SQS credentials are minted from the root key or from a scoped token
 * (`POST /v1/tokens/sqs`) and need no storage:
 * - the access key id is a JWT signed with the root key whose issuer is `edgepost-sqs`, holding
 *   the scopes, expiry and a unique id. It is not a bearer token: the HTTP API only accepts the
 *   issuer `edgepost` (auth/tokens.ts), so a leaked access key id grants nothing by itself;
 * - the secret is HMAC-SHA256(root key, "edgepost-sqs-secret:" + that id), base64url, which
 *   the server recomputes to check a signature.
 * A rotation keeps both working while EDGEPOST_ROOT_KEY_PREVIOUS is set.
 */
import { sign, verify } from "hono/jwt";
import type { Principal } from "../auth/principal";
import { Scopes } from "../auth/scopes";
import type { Env } from "../env";

export const ROOT_ACCESS_KEY_ID = "root";
export const SQS_KEY_ISSUER = "edgepost-sqs";
const encoder = new TextEncoder();

type Keys = Pick<Env, "EDGEPOST_ROOT_KEY" | "EDGEPOST_ROOT_KEY_PREVIOUS">;

function rootKeys(env: Keys): string[] {
  return [env.EDGEPOST_ROOT_KEY, env.EDGEPOST_ROOT_KEY_PREVIOUS].filter((key): key is string => !!key);
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function deriveSecret(rootKey: string, keyId: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(rootKey), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return base64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`edgepost-sqs-secret:${keyId}`))));
}

export interface SqsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** ms since the epoch. */
  expiresAt: number;
}

export async function mintSqsCredentials(rootKey: string, input: { scopes: Scopes; expiresAt: number; subject?: string | null }, now = Date.now()): Promise<SqsCredentials> {
  const keyId = crypto.randomUUID();
  const exp = Math.floor(input.expiresAt / 1000);
  const payload: Record<string, unknown> = { iss: SQS_KEY_ISSUER, iat: Math.floor(now / 1000), exp, scp: input.scopes, jti: keyId };
  if (input.subject) payload.sub = input.subject;
  const accessKeyId = await sign(payload, rootKey, "HS256");
  return { accessKeyId, secretAccessKey: await deriveSecret(rootKey, keyId), expiresAt: exp * 1000 };
}

/** The principal an access key id stands for and the secrets that may have signed with it. */
export interface ResolvedKey {
  principal: Principal;
  secrets: string[];
}

/** null when the access key id is unknown, forged or expired (InvalidClientTokenId). */
export async function resolveAccessKey(env: Keys, accessKeyId: string): Promise<ResolvedKey | null> {
  const keys = rootKeys(env);
  if (keys.length === 0) return null;
  if (accessKeyId === ROOT_ACCESS_KEY_ID) return { principal: { kind: "root" }, secrets: keys };
  for (const key of keys) {
    try {
      const payload = await verify(accessKeyId, key, { alg: "HS256", iss: SQS_KEY_ISSUER });
      const scopes = Scopes.safeParse(payload.scp);
      if (!scopes.success || typeof payload.exp !== "number" || typeof payload.jti !== "string") return null;
      return {
        principal: { kind: "token", tokenId: payload.jti, scopes: scopes.data, subject: typeof payload.sub === "string" ? payload.sub : null, expiresAt: payload.exp * 1000 },
        secrets: [await deriveSecret(key, payload.jti)],
      };
    } catch {
      // Not signed with this key (or expired, malformed): try the next.
    }
  }
  return null;
}
