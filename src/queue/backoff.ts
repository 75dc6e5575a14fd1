/**
 * Retry backoff for nacks and expired leases: exponential in the attempt number, with jitter.
 * Attempt n waits between base = min * 2^(n-1) and min(2 * base, max) seconds, so delays stay
 * within [min, max], grow visibly, and messages that failed together do not return together.
 */
export function retryDelayMs(attempt: number, minSeconds: number, maxSeconds: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(0, attempt - 1), 30);
  const base = Math.min(maxSeconds, minSeconds * 2 ** exponent);
  const top = Math.min(maxSeconds, base * 2);
  return Math.round((base + random() * (top - base)) * 1000);
}
