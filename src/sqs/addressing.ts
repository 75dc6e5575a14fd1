/**
 * Queue URLs, ARNs and receipt handles. Queue URLs are `{origin}/sqs/000000000000/{queue}` and
 * ARNs `arn:aws:sqs:{region}:000000000000:{queue}` (DESIGN.md). A receipt handle encodes the
 * queue and the edgepost lease id of one delivery, so a stale handle (an earlier delivery, an
 * expired or used lease) matches no lease and changes nothing.
 */
import { isValidName } from "../protocol/names";
import { SqsError } from "./errors";

export const ACCOUNT_ID = "000000000000";

export function queueUrl(origin: string, queue: string): string {
  return `${origin}/sqs/${ACCOUNT_ID}/${queue}`;
}

export function queueArn(region: string, queue: string): string {
  return `arn:aws:sqs:${region}:${ACCOUNT_ID}:${queue}`;
}

/** The queue a QueueUrl names: its last path segment (any origin, as SDKs rewrite hosts). */
export function queueFromUrl(url: string): string {
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    throw new SqsError("InvalidAddress", `QueueUrl ${JSON.stringify(url.slice(0, 200))} is not a URL`);
  }
  const segments = pathname.split("/").filter(Boolean);
  const name = decodeURIComponent(segments[segments.length - 1] ?? "");
  if (segments.length < 2 || !isValidName(name)) throw new SqsError("QueueDoesNotExist", `The specified queue does not exist: ${JSON.stringify(url.slice(0, 200))}`);
  return name;
}

/** The queue an ARN names (RedrivePolicy's deadLetterTargetArn). */
export function queueFromArn(arn: string): string | null {
  const match = /^arn:aws:sqs:[^:]*:[^:]*:(.+)$/.exec(arn);
  return match && isValidName(match[1]!) ? match[1]! : null;
}

const encoder = new TextEncoder();

function toBase64url(text: string): string {
  let binary = "";
  for (const byte of encoder.encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function receiptHandle(queue: string, leaseId: string): string {
  return toBase64url(JSON.stringify([1, queue, leaseId]));
}

/** The lease id of a handle issued for `queue`; ReceiptHandleIsInvalid otherwise. */
export function leaseOf(handle: string, queue: string): string {
  const invalid = new SqsError("ReceiptHandleIsInvalid", `The input receipt handle "${handle.slice(0, 100)}" is not a valid receipt handle for queue ${queue}.`);
  if (typeof handle !== "string" || handle.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(handle)) throw invalid;
  let decoded: unknown;
  try {
    const binary = atob(handle.replace(/-/g, "+").replace(/_/g, "/"));
    decoded = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(binary, (char) => char.charCodeAt(0))));
  } catch {
    throw invalid;
  }
  if (!Array.isArray(decoded) || decoded.length !== 3 || decoded[0] !== 1 || decoded[1] !== queue || typeof decoded[2] !== "string" || decoded[2].length === 0 || decoded[2].length > 200) throw invalid;
  return decoded[2];
}
