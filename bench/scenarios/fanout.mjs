/**
 * (c) Fan-out: one topic with 1, 100 and 1,000 WebSocket subscribers (the `ws` package, all in
 * the load generator: watch its CPU). Per subscriber count and system:
 * - saturation: closed-loop publishers held within a window of undelivered messages;
 *   deliveries/s = frames received by all subscribers / time from first publish to last frame;
 * - fixed load: open-loop publishes at FIXED_RATE[n] msg/s, delivery latency from the intended
 *   send time.
 * The systems: edgepost, the broadcast baselines (no storage; one insert) and partyserver.
 */
import { runRounds } from "../lib/cases.mjs";
import { fixedRatePhase, saturationPhase, warmup } from "../lib/phases.mjs";
import { nowMs } from "../lib/stats.mjs";
import { SubscriberSet } from "../lib/subscribers.mjs";
import { fanoutSystems } from "../lib/systems.mjs";

/**
 * Messages/s for the fixed-load latency phase, per subscriber count (deliveries/s = rate x n):
 * below what every system sustained at saturation here, so latency is not queueing.
 */
export const FIXED_RATE = { 1: 50, 100: 20, 1000: 5 };
/**
 * Saturation window (messages published but not yet delivered to everyone): enough to keep
 * the pipeline full, small enough that send buffers stay bounded (1,000 x 4 frames at most).
 */
export const WINDOW = { 1: 64, 100: 16, 1000: 4 };
/**
 * With `batch=1` subscribers, messages that wait for a subscriber's socket leave together in
 * one frame, so a window of 4 would cap the batches at 4 messages; 32 lets the server batch
 * (1,000 x 32 messages of ~400 B buffered at most).
 */
export const BATCHED_WINDOW = { 1: 64, 100: 32, 1000: 32 };

const SATURATION_FIELDS = {
  deliveriesPerSec: (run) => run.deliveriesPerSec,
  messagesPerFrame: (run) => run.messagesPerFrame,
  // Server CPU per delivered frame: unlike deliveries/s, barely moved by neighbours.
  serverCpuUsPerDelivery: (run) => run.serverCpuUsPerDelivery,
  messagesPerSec: (run) => run.messagesPerSec,
  p99: (run) => run.latency.p99,
  clientCpu: (run) => run.cpu.clientCpu,
  serverCpu: (run) => run.cpu.serverCpu,
};

const FIXED_FIELDS = {
  p50: (run) => run.latency.p50,
  p99: (run) => run.latency.p99,
  p999: (run) => run.latency.p999,
  deliveriesPerSec: (run) => run.deliveriesPerSec,
  clientCpu: (run) => run.cpu.clientCpu,
  serverCpu: (run) => run.cpu.serverCpu,
};

/**
 * Per subscriber count, every system's subscribers are open at once (idle sockets cost
 * nothing), so the systems' saturation and fixed-load runs can alternate in rounds.
 */
export async function runFanout(ctx) {
  ctx.log("(c) fan-out to 1, 100 and 1,000 WebSocket subscribers");
  const results = [];
  for (const count of ctx.fanoutCounts) {
    const opened = [];
    try {
      const saturation = [];
      const fixed = [];
      for (const system of fanoutSystems(ctx)) {
        const name = `${ctx.runId}-c${count}-${system.key}`;
        const opening = nowMs();
        const subscribers = await new SubscriberSet(system.subscribeUrl(name), count).open();
        opened.push(subscribers);
        const connectMs = Math.round(nowMs() - opening);
        if (subscribers.openRetries > 0) ctx.log(`  ${system.key}: ${subscribers.openRetries} subscriber upgrade(s) retried`);
        await warmup(ctx, system, name, subscribers);
        const base = { scenario: "c", system: system.key, label: system.label };
        const rate = FIXED_RATE[count] ?? 10;
        const window = (system.key === "edgepost_batched" ? BATCHED_WINDOW[count] : WINDOW[count]) ?? 4;
        saturation.push({
          ...base,
          params: { subscribers: count, phase: "saturation", window, connectMs, openRetries: subscribers.openRetries },
          fields: SATURATION_FIELDS,
          once: () => saturationPhase(ctx, system, name, subscribers, { window, concurrency: Math.min(16, window) }),
        });
        fixed.push({ ...base, params: { subscribers: count, phase: "fixed", rate }, fields: FIXED_FIELDS, once: () => fixedRatePhase(ctx, system, name, subscribers, rate) });
      }
      // Saturation runs of all systems next to each other in a round, then the fixed loads.
      results.push(...(await runRounds(ctx, [...saturation, ...fixed])));
    } finally {
      for (const subscribers of opened) await subscribers.close();
    }
  }
  return results;
}
