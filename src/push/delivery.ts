/**
 * One push attempt: a signed POST of one message to the queue's endpoint, judged as the
 * contract says. A 2xx within the timeout is a success; any other status, a timeout or a
 * network error (refused, reset, DNS) is a failure, with the endpoint's `Retry-After` when it
 * gave one.
 */
import type { LeasedRow } from "../protocol/frames";
import type { Signer } from "./signing";

export interface PushTarget {
  url: string;
  timeoutSeconds: number;
}

export type AttemptResult =
  | { ok: true; status: number }
  | { ok: false; status: number | null; error: string; retryAfterMs: number | null };

/** Longest `Retry-After` honoured: the longest lease (12 h), like a nack's delay. */
const MAX_RETRY_AFTER_MS = 12 * 60 * 60 * 1000;

/** `webhook-id`: the same on every attempt of a message, unique per message in the queue (seq and enqueue time, so a queue deleted and created again never repeats one). */
export function webhookId(row: Pick<LeasedRow, "seq" | "publishedAt">): string {
  return `msg_${row.publishedAt.toString(36)}_${row.seq}`;
}

/** The request body: the message as stored (its JSON spliced in as it is), with its attempt. */
export function pushBody(queue: string, row: LeasedRow): string {
  return (
    `{"type":"message","queue":${JSON.stringify(queue)},"seq":${row.seq},"id":${JSON.stringify(row.id)},` +
    `"data":${row.data},"attributes":${row.attributes ?? "{}"},"publishedAt":${row.publishedAt},"attempt":${row.attempt}}`
  );
}

/** Seconds or an HTTP date (RFC 9110 10.2.3), as a delay from `now`; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  let delay: number;
  if (/^\d+$/.test(text)) delay = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return null;
    delay = Math.max(0, at - now);
  }
  return Math.min(delay, MAX_RETRY_AFTER_MS);
}

export async function attempt(target: PushTarget, signer: Signer, queue: string, row: LeasedRow): Promise<AttemptResult> {
  const body = pushBody(queue, row);
  const headers = await signer.headers(webhookId(row), body, Math.floor(Date.now() / 1000));
  let response: Response;
  try {
    response = await fetch(target.url, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json", "user-agent": "edgepost-push/1" },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(target.timeoutSeconds * 1000),
    });
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    return { ok: false, status: null, error: timedOut ? `no answer within ${target.timeoutSeconds} s` : `request failed: ${String(error)}`, retryAfterMs: null };
  }
  // The answer's body is not needed; let the connection be reused.
  await response.body?.cancel().catch(() => {});
  if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
  return {
    ok: false,
    status: response.status,
    error: `endpoint answered ${response.status}`,
    retryAfterMs: parseRetryAfter(response.headers.get("retry-after"), Date.now()),
  };
}
