/**
 * Measurement helpers: HDR latency histograms (hdr-histogram-js, microseconds), medians with
 * min-max over repeats, the load generator's and the server's CPU over a window, and a clock.
 */
import { readFileSync } from "node:fs";
import hdr from "hdr-histogram-js";
import { groupCpuSeconds } from "./servers.mjs";

/** Milliseconds since the epoch with sub-millisecond resolution (one clock for send and receive). */
export const nowMs = () => performance.timeOrigin + performance.now();

export const CLIENT_BOUND_CPU = 0.9;

export function histogram() {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

/** Record a latency given in milliseconds (stored in microseconds). */
export function recordMs(hist, ms) {
  hist.recordValue(Math.max(1, Math.round(ms * 1000)));
}

/** p50/p99/p99.9/max in milliseconds. */
export function summarize(hist) {
  if (hist.totalCount === 0) return { count: 0 };
  const at = (p) => round(hist.getValueAtPercentile(p) / 1000);
  return { count: hist.totalCount, p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: round(hist.maxValue / 1000), mean: round(hist.mean / 1000) };
}

export const round = (value, digits = 3) => (value === null || value === undefined || !Number.isFinite(value) ? value : Number(value.toFixed(digits)));

/** Median with min and max over repeats; nulls are ignored. */
export function spread(values) {
  const sorted = values.filter((value) => typeof value === "number" && Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median: round(median), min: round(sorted[0]), max: round(sorted[sorted.length - 1]), n: sorted.length };
}

/** Busy and total jiffies per core from /proc/stat. */
function coreTimes() {
  const cores = [];
  for (const line of readFileSync("/proc/stat", "utf8").split("\n")) {
    const match = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const fields = match[2].split(/\s+/).map(Number);
    const idle = fields[3] + (fields[4] ?? 0);
    const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
    cores[Number(match[1])] = { busy: total - idle, total };
  }
  return cores;
}

/**
 * CPU of this process (the load generator) and of the server's process group over a window,
 * as a fraction of one core. A client above CLIENT_BOUND_CPU may have been the bottleneck.
 */
export function cpuWindow(serverPgid) {
  const startWall = performance.now();
  const startClient = process.cpuUsage();
  const startServer = serverPgid ? groupCpuSeconds(serverPgid) : 0;
  const startCores = coreTimes();
  return () => {
    // How busy each core was in all (ours and the neighbours'): a server at 0.4 of a core on
    // a core busy 1.0 was short of CPU, not of work.
    const coresBusy = coreTimes().map((end, index) => round((end.busy - startCores[index].busy) / Math.max(1, end.total - startCores[index].total), 2));
    const wallS = (performance.now() - startWall) / 1000;
    const client = process.cpuUsage(startClient);
    const clientCpu = (client.user + client.system) / 1e6 / wallS;
    const serverCpu = serverPgid ? (groupCpuSeconds(serverPgid) - startServer) / wallS : null;
    const serverCpuSeconds = serverPgid ? round(groupCpuSeconds(serverPgid) - startServer, 4) : null;
    return { clientCpu: round(clientCpu), serverCpu: round(serverCpu), serverCpuSeconds, clientBound: clientCpu > CLIENT_BOUND_CPU, coresBusy };
  };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Wait until `condition()` holds, polling; false on timeout (the caller reports what is missing). */
export async function waitUntil(condition, timeoutMs, pollMs = 5) {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await sleep(pollMs);
  }
  return true;
}
