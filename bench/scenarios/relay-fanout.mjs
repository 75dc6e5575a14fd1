/**
 * (f) Fan-out over relays (issue 11): one topic whose N WebSocket subscribers are held by K
 * relays, against the same topic holding them itself (relays 0), at N = 1,000, 5,000 and
 * 9,800 (10,000 sockets need more open files than this machine's hard limit of 20,000 allows:
 * workerd holds two per connection, scripts/fd-limit.mjs). Per N and system, with the
 * subscribers open throughout:
 * - saturation: closed-loop publishers within a window of undelivered messages;
 *   deliveries/s and delivery p99 (intended send to receipt, hdr-histogram);
 * - fixed rate: open loop at about FIXED_DELIVERIES deliveries/s, delivery p50/p99;
 * - profiled saturation: a V8 CPU profile of the isolate (worker, topic and relays share it
 *   here) split by which object's stack each sample is on (lib/attribution.mjs), applied to
 *   the server's measured CPU over the phase: the topic's CPU per publish (with relays it should stay flat as N grows: K feeds per commit, not N
 *   sends), each relay's CPU per delivery, the worker's per publish. The profiler slows the
 *   isolate, so these phases' rates are not reported as rates.
 * The two systems of one N run one after the other (2 x 9,800 sockets do not fit at once), so
 * their ratios pair repeats taken a minute apart, not seconds.
 */
import { runRounds } from "../lib/cases.mjs";
import { attribute, bundleModules, cpuSplit } from "../lib/attribution.mjs";
import { expectJson } from "../lib/http.mjs";
import { connectInspector, profileWhile } from "../lib/inspector.mjs";
import { fixedRatePhase, saturationPhase, warmup } from "../lib/phases.mjs";
import { groupFds, repoRoot } from "../lib/servers.mjs";
import { nowMs } from "../lib/stats.mjs";
import { SubscriberSet } from "../lib/subscribers.mjs";
import { edgepostTopic } from "../lib/systems.mjs";
import path from "node:path";

/** Undelivered messages the publishers may run ahead by (every system, every N). */
export const RELAY_WINDOW = 8;
/** Offered deliveries/s in the fixed-rate phase: below every case's saturation here. */
const FIXED_DELIVERIES = 5000;
const FIXED_MIN_MS = 3000;

const FIELDS = {
  deliveriesPerSec: (run) => run.saturation.deliveriesPerSec,
  p99: (run) => run.saturation.latency.p99,
  fixedP50: (run) => run.fixed.latency.p50,
  fixedP99: (run) => run.fixed.latency.p99,
  topicCpuMsPerPublish: (run) => run.split.topicMsPerPublish,
  relayCpuUsPerDelivery: (run) => run.split.relayUsPerDelivery,
  workerCpuMsPerPublish: (run) => run.split.workerMsPerPublish,
  runtimeCpuUsPerDelivery: (run) => run.split.runtimeUsPerDelivery,
  serverCpuUsPerDelivery: (run) => run.saturation.serverCpuUsPerDelivery,
  messagesPerSec: (run) => run.saturation.messagesPerSec,
  clientCpu: (run) => run.saturation.cpu.clientCpu,
  serverCpu: (run) => run.saturation.cpu.serverCpu,
};

function relaySystem(ctx, relays) {
  const plain = edgepostTopic(ctx);
  return {
    ...plain,
    key: relays > 0 ? `edgepost_relays${relays}` : "edgepost",
    label: relays > 0 ? `edgepost topic over ${relays} relays` : "edgepost topic (direct)",
    relays,
  };
}

async function profiledSaturation(ctx, system, name, subscribers, window, moduleAt) {
  const inspector = await connectInspector(ctx.edgepost.inspectorUrl);
  try {
    const { result, profile } = await profileWhile(inspector, () => saturationPhase(ctx, system, name, subscribers, { window, concurrency: Math.min(16, window) }));
    const split = attribute(profile, moduleAt);
    // The server's measured CPU over the phase, spread over the owners by their samples.
    const cpuMs = cpuSplit(split, result.cpu.serverCpuSeconds * 1000);
    const published = result.published;
    return {
      ...split,
      cpuMs,
      published,
      delivered: result.delivered,
      topicMsPerPublish: published ? (cpuMs.topic ?? 0) / published : null,
      workerMsPerPublish: published ? (cpuMs.worker ?? 0) / published : null,
      relayUsPerDelivery: result.delivered ? ((cpuMs.relay ?? 0) * 1000) / result.delivered : null,
      runtimeUsPerDelivery: result.delivered ? (((cpuMs.runtime ?? 0) + (cpuMs.gc ?? 0)) * 1000) / result.delivered : null,
      problems: result.problems,
    };
  } finally {
    inspector.close();
  }
}

export async function runRelayFanout(ctx) {
  const { counts, relays } = ctx.relayFanout;
  ctx.log(`(f) fan-out over ${relays} relays vs direct, ${counts.join(" / ")} WebSocket subscribers`);
  if (!ctx.edgepost.inspectorUrl) throw new Error("scenario f needs the edgepost server's inspector (run.mjs starts it when f is selected)");
  const moduleAt = bundleModules(path.join(repoRoot, "dist/index.js"));
  const results = [];
  for (const count of counts) {
    for (const system of [relaySystem(ctx, 0), relaySystem(ctx, relays)]) {
      const name = `${ctx.runId}-f${count}-${system.key}`;
      if (system.relays > 0) await expectJson(ctx.edgepost.http.put(`/v1/topics/${name}`, JSON.stringify({ relays: system.relays })), `set relays=${system.relays}`);
      const opening = nowMs();
      const subscribers = await new SubscriberSet(system.subscribeUrl(name), count).open();
      const connectMs = Math.round(nowMs() - opening);
      const serverFds = groupFds(ctx.edgepost.pgid).reduce((sum, process) => sum + process.open, 0);
      try {
        await warmup(ctx, system, name, subscribers);
        const rate = Math.max(1, Math.round(FIXED_DELIVERIES / count));
        const fixedCtx = { ...ctx, durations: { ...ctx.durations, latencyMs: Math.max(ctx.durations.latencyMs, FIXED_MIN_MS) } };
        const spec = {
          scenario: "f",
          system: system.key,
          label: system.label,
          params: { subscribers: count, relays: system.relays, window: RELAY_WINDOW, fixedRate: rate, connectMs, serverFds },
          fields: FIELDS,
          once: async () => {
            const saturation = await saturationPhase(ctx, system, name, subscribers, { window: RELAY_WINDOW, concurrency: Math.min(16, RELAY_WINDOW) });
            const fixed = await fixedRatePhase(fixedCtx, system, name, subscribers, rate);
            const split = await profiledSaturation(ctx, system, name, subscribers, RELAY_WINDOW, moduleAt);
            return {
              saturation,
              fixed,
              split,
              cpu: saturation.cpu,
              overloaded: fixed.overloaded,
              problems: [...saturation.problems, ...fixed.problems.map((problem) => `fixed: ${problem}`), ...split.problems.map((problem) => `profiled: ${problem}`)],
            };
          },
        };
        results.push(...(await runRounds(ctx, [spec])));
      } finally {
        await subscribers.close();
      }
    }
  }
  return results;
}
