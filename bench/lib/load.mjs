/**
 * Load shapes. Closed loop: `concurrency` workers each wait for their answer before the next
 * request (saturation throughput). Open loop: requests leave at a fixed rate whatever the
 * server does, each stamped with its intended send time, so a stall shows up in the latency
 * of everything scheduled behind it (no coordinated omission).
 */
import { nowMs, sleep } from "./stats.mjs";

/**
 * Run `issue(i)` from `concurrency` workers until `durationMs` has passed. `mayIssue()` (a
 * window) can hold workers back, e.g. until subscribers have caught up.
 */
export async function closedLoop({ concurrency, durationMs, issue, mayIssue = () => true }) {
  const started = nowMs();
  const deadline = started + durationMs;
  let next = 0;
  const worker = async () => {
    while (nowMs() < deadline) {
      if (!mayIssue()) {
        await sleep(1);
        continue;
      }
      await issue(next++);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { issued: next, elapsedMs: nowMs() - started };
}

/**
 * Issue `rate` requests a second for `durationMs`; `issue(i, intendedMs)` is not awaited
 * before the next one is due. Resolves when every request has settled.
 */
export async function openLoop({ rate, durationMs, issue }) {
  const total = Math.max(1, Math.round((rate * durationMs) / 1000));
  const interval = 1000 / rate;
  const started = nowMs();
  const pending = [];
  let sent = 0;
  let maxLagMs = 0;
  while (sent < total) {
    const now = nowMs();
    while (sent < total && started + sent * interval <= now) {
      const intended = started + sent * interval;
      maxLagMs = Math.max(maxLagMs, now - intended);
      pending.push(issue(sent, intended));
      sent++;
    }
    if (sent < total) await sleep(Math.max(0, Math.min(1, started + sent * interval - nowMs())));
  }
  await Promise.all(pending);
  return { issued: sent, elapsedMs: nowMs() - started, maxSchedulerLagMs: maxLagMs };
}
