/**
 * Signed SQS requests for runtime tests. The signature comes from src/sqs/sigv4.ts itself; the
 * e2e tests (test/e2e/sqs-*.test.ts) check that signer against the real AWS SDK's.
 */
import { SELF } from "cloudflare:test";
import { signatureFor, stringToSign, type SignedRequest } from "../../src/sqs/sigv4";
import { ROOT_KEY } from "./helpers";

export const ORIGIN = "http://edgepost.test";

function amzDateOf(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** POST an SQS action with a raw body, signed as `root` with the root key (or `secret`). */
export async function sqsRequest(action: string, rawBody: string, options: { secret?: string; accessKeyId?: string; path?: string; now?: number } = {}): Promise<Response> {
  const amzDate = amzDateOf(options.now ?? Date.now());
  const headers: Record<string, string> = {
    "content-type": "application/x-amz-json-1.0",
    "x-amz-target": `AmazonSQS.${action}`,
    "x-amz-date": amzDate,
    host: new URL(ORIGIN).host,
  };
  const url = `${ORIGIN}${options.path ?? "/sqs"}`;
  const body = new TextEncoder().encode(rawBody);
  const signed: SignedRequest = {
    accessKeyId: options.accessKeyId ?? "root",
    date: amzDate.slice(0, 8),
    region: "us-east-1",
    service: "sqs",
    signedHeaders: ["content-type", "host", "x-amz-date", "x-amz-target"],
    signature: "",
  };
  const toSign = await stringToSign(new Request(url, { method: "POST", headers, body }), body, signed, amzDate);
  const signature = await signatureFor(options.secret ?? ROOT_KEY, signed, toSign);
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${signed.accessKeyId}/${signed.date}/us-east-1/sqs/aws4_request, SignedHeaders=${signed.signedHeaders.join(";")}, Signature=${signature}`;
  return SELF.fetch(url, { method: "POST", headers, body });
}

export function queueUrlOf(queue: string): string {
  return `${ORIGIN}/sqs/000000000000/${queue}`;
}
