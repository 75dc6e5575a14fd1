/**
 * AWS Signature Version 4, checked on the server: the signature is symmetric, so the server
 * recomputes it from the request and the secret it knows for the access key id, and compares.
 * Only what the client listed in `SignedHeaders` is covered: Workers may rewrite
 * `accept-encoding`, and the JS SDK does not sign it (issue 13, checked 2026-12). Clock skew of
 * 15 minutes is allowed, as AWS does.
 */
import { SqsError } from "./errors";
import { hex } from "./md5";

export const MAX_SKEW_MS = 15 * 60 * 1000;
const ALGORITHM = "AWS4-HMAC-SHA256";
const encoder = new TextEncoder();

export interface SignedRequest {
  accessKeyId: string;
  /** YYYYMMDD of the credential scope. */
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** The `Authorization` header's parts; SqsError when it is missing or malformed. */
export function parseAuthorization(header: string | null): SignedRequest {
  if (!header) throw new SqsError("MissingAuthenticationToken", "Request is missing Authentication Token: sign it with Signature Version 4");
  const match = /^AWS4-HMAC-SHA256\s+(.*)$/.exec(header.trim());
  if (!match) throw new SqsError("IncompleteSignature", `Authorization must use ${ALGORITHM}`);
  const fields = new Map<string, string>();
  for (const part of match[1]!.split(",")) {
    const [key, ...rest] = part.trim().split("=");
    if (key) fields.set(key, rest.join("="));
  }
  const credential = fields.get("Credential")?.split("/");
  const signedHeaders = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (!credential || credential.length !== 5 || credential[4] !== "aws4_request" || !signedHeaders || !signature || !/^[0-9a-f]{64}$/.test(signature)) {
    throw new SqsError("IncompleteSignature", "Authorization needs Credential=<key>/<date>/<region>/<service>/aws4_request, SignedHeaders and Signature");
  }
  const [accessKeyId, date, region, service] = credential as [string, string, string, string];
  if (!accessKeyId || !/^\d{8}$/.test(date) || !region || !service) throw new SqsError("IncompleteSignature", "malformed Credential scope");
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(";").filter(Boolean), signature };
}

/** `x-amz-date` (20261202T101500Z) as ms; SqsError when absent, malformed or too far off. */
export function checkRequestTime(amzDate: string | null, now = Date.now()): number {
  const match = amzDate ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate) : null;
  if (!match) throw new SqsError("IncompleteSignature", "the X-Amz-Date header (YYYYMMDDTHHMMSSZ) is required and must be signed");
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  const at = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  if (Math.abs(now - at) > MAX_SKEW_MS) {
    throw new SqsError("SignatureDoesNotMatch", `Signature expired: ${amzDate} is more than 15 minutes from the server's time ${new Date(now).toISOString()}`);
  }
  return at;
}

/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The canonical path: normalised segments, each encoded (the JS SDK's `uriEscapePath`). */
function canonicalPath(pathname: string): string {
  const segments: string[] = [];
  for (const segment of pathname.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(escapeUri(safeDecode(segment)));
  }
  if (segments.length === 0) return "/";
  return `/${segments.join("/")}${pathname.endsWith("/") ? "/" : ""}`;
}

function canonicalQuery(search: URLSearchParams): string {
  return [...search.entries()]
    .map(([key, value]) => [escapeUri(key), escapeUri(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("&");
}

async function sha256Hex(data: Uint8Array | string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", typeof data === "string" ? encoder.encode(data) : data));
}

async function hmac(key: Uint8Array | string, data: string): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey("raw", typeof key === "string" ? encoder.encode(key) : key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(data)));
}

/** The string the client signed, rebuilt from the request as received. */
export async function stringToSign(request: Request, body: Uint8Array, signed: SignedRequest, amzDate: string): Promise<string> {
  const url = new URL(request.url);
  const headerLines = signed.signedHeaders.map((name) => {
    // workerd exposes Host as a header; the URL's host is the same value otherwise.
    const value = request.headers.get(name) ?? (name === "host" ? url.host : "");
    return `${name}:${value.trim().replace(/\s+/g, " ")}\n`;
  });
  const payloadHash = await sha256Hex(body);
  const canonical = [request.method, canonicalPath(url.pathname), canonicalQuery(url.searchParams), headerLines.join(""), signed.signedHeaders.join(";"), payloadHash].join("\n");
  const scope = `${signed.date}/${signed.region}/${signed.service}/aws4_request`;
  return [ALGORITHM, amzDate, scope, await sha256Hex(canonical)].join("\n");
}

/**
 * Signing keys per secret and scope (they change once a day per region): deriving one costs four
 * HMACs, a fifth of an SQS request's time in bench/sqs.mjs (2026-12-02). Bounded; an isolate
 * holds the secrets anyway.
 */
const signingKeys = new Map<string, Promise<CryptoKey>>();
const MAX_SIGNING_KEYS = 256;

function signingKey(secret: string, scope: Pick<SignedRequest, "date" | "region" | "service">): Promise<CryptoKey> {
  const id = `${scope.date}/${scope.region}/${scope.service}/${secret}`;
  let key = signingKeys.get(id);
  if (!key) {
    if (signingKeys.size >= MAX_SIGNING_KEYS) signingKeys.clear();
    key = (async () => {
      const dateKey = await hmac(`AWS4${secret}`, scope.date);
      const regionKey = await hmac(dateKey, scope.region);
      const serviceKey = await hmac(regionKey, scope.service);
      const raw = await hmac(serviceKey, "aws4_request");
      return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    })();
    signingKeys.set(id, key);
  }
  return key;
}

/** The signature `secret` gives `toSign` under the request's scope. */
export async function signatureFor(secret: string, signed: Pick<SignedRequest, "date" | "region" | "service">, toSign: string): Promise<string> {
  const key = await signingKey(secret, signed);
  return hex(await crypto.subtle.sign("HMAC", key, encoder.encode(toSign)));
}

/** Constant-time comparison of two hex signatures of equal length. */
export function sameSignature(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  return left.byteLength === right.byteLength && crypto.subtle.timingSafeEqual(left, right);
}

/**
 * Verify the request against each candidate secret (during a root key rotation there are two).
 * Throws SignatureDoesNotMatch when none matches.
 */
export async function verifySignature(request: Request, body: Uint8Array, signed: SignedRequest, secrets: readonly string[], now = Date.now()): Promise<void> {
  const amzDate = request.headers.get("x-amz-date");
  checkRequestTime(amzDate, now);
  if (!signed.signedHeaders.includes("host") || !signed.signedHeaders.includes("x-amz-date")) {
    throw new SqsError("IncompleteSignature", "SignedHeaders must include host and x-amz-date");
  }
  if (amzDate!.slice(0, 8) !== signed.date) throw new SqsError("SignatureDoesNotMatch", "the credential scope's date is not the X-Amz-Date's");
  const toSign = await stringToSign(request, body, signed, amzDate!);
  for (const secret of secrets) {
    if (sameSignature(await signatureFor(secret, signed, toSign), signed.signature)) return;
  }
  throw new SqsError(
    "SignatureDoesNotMatch",
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
  );
}
