/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): a secret `whsec_<base64>`,
 * and per request `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`
 * where the key is the secret's base64 part decoded. Computed with crypto.subtle, so the
 * `standardwebhooks` library's `verify` accepts it (test/e2e/push-*.test.ts).
 */

export const SECRET_PREFIX = "whsec_";
/** The spec asks for secrets of 24 to 64 bytes; generated ones have 32. */
export const SECRET_MIN_BYTES = 24;
export const SECRET_MAX_BYTES = 64;

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The key bytes of `whsec_<base64>`, or null when it is not one of 24-64 bytes. */
export function secretKey(secret: string): Uint8Array | null {
  if (!secret.startsWith(SECRET_PREFIX)) return null;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return null;
  let binary: string;
  try {
    binary = atob(encoded);
  } catch {
    return null;
  }
  if (binary.length < SECRET_MIN_BYTES || binary.length > SECRET_MAX_BYTES) return null;
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

export function generateSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(32)));
}

/** A signer for one secret: the HMAC key is imported once and reused for every request. */
export class Signer {
  private key: Promise<CryptoKey>;

  constructor(secret: string) {
    const raw = secretKey(secret);
    if (!raw) throw new Error("not a Standard Webhooks secret (whsec_<base64 of 24-64 bytes>)");
    this.key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  }

  /** The three Standard Webhooks headers for one request. */
  async headers(id: string, body: string, timestampSeconds: number): Promise<Record<string, string>> {
    const signed = new TextEncoder().encode(`${id}.${timestampSeconds}.${body}`);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await this.key, signed));
    return {
      "webhook-id": id,
      "webhook-timestamp": String(timestampSeconds),
      "webhook-signature": `v1,${toBase64(mac)}`,
    };
  }
}
