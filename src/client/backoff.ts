/** Delays between retries and reconnects: exponential backoff with random jitter. */

export interface BackoffOptions {
  /** First delay, in milliseconds. */
  minDelayMs: number;
  /** Largest delay, in milliseconds. */
  maxDelayMs: number;
  /** Growth per attempt (default 2). */
  factor?: number;
}

/** The un-jittered delay before retry number `attempt` (1 = the first retry). */
export function baseDelay(attempt: number, options: BackoffOptions): number {
  if (attempt < 1) return 0;
  return Math.min(options.maxDelayMs, options.minDelayMs * (options.factor ?? 2) ** (attempt - 1));
}

/**
 * The base delay plus up to as much again at random, so clients dropped together (a deploy
 * drops every socket) do not all come back in the same instant.
 */
export function jitteredDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const base = baseDelay(attempt, options);
  return Math.round(base + random() * base);
}

/** Resolve after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
