/** The real AWS SDK (`@aws-sdk/client-sqs` v3, MD5 checks on by default) pointed at a served edgepost. */
import { SQSClient, type SQSClientConfig } from "@aws-sdk/client-sqs";
import { afterAll } from "vitest";
import { ROOT_KEY } from "./server";
import type { Target } from "./clients";

export const REGION = "eu-west-1";

/**
 * An SQS client for `target`; `path` "/sqs" (the documented endpoint) or "" (the origin). The
 * address is read at each request, so a client may be made before the server has started.
 */
export function sqsClient(target: Target, options: { path?: string; accessKeyId?: string; secretAccessKey?: string; extra?: Partial<SQSClientConfig> } = {}): SQSClient {
  return new SQSClient({
    endpoint: () => Promise.resolve({ url: new URL(`${target.url}${options.path ?? "/sqs"}`) }),
    region: REGION,
    credentials: { accessKeyId: options.accessKeyId ?? "root", secretAccessKey: options.secretAccessKey ?? ROOT_KEY },
    // Errors must surface as they are, not be retried away.
    maxAttempts: 1,
    ...options.extra,
  });
}

/** The test file's root SQS client for `target` (a `useServer()`), destroyed in afterAll. */
export function useSqsClient(target: Target): SQSClient {
  const client = sqsClient(target);
  afterAll(() => client.destroy());
  return client;
}

/** The SQS error a call fails with (its name, as SDKs expose it, and the HTTP status). */
export async function sqsError(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string; code: unknown }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number }; Code?: unknown };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message, code: e.Code };
  }
  throw new Error("expected the SQS call to fail, and it succeeded");
}
