/**
 * Publish-and-deliver phases over an open SubscriberSet, shared by scenarios (b) and (c).
 * Each phase starts fresh order checks, publishes over HTTP, waits until every subscriber has
 * the last acked seq, and returns its numbers with its correctness problems: every subscriber
 * must get exactly the acked seqs, in order, once.
 */
import { AckedSeqs } from "./frames.mjs";
import { closedLoop, openLoop } from "./load.mjs";
import { cpuWindow, histogram, nowMs, recordMs, summarize } from "./stats.mjs";
import { seqOfSingle } from "./systems.mjs";

const DRAIN_TIMEOUT_MS = 60_000;

function publisher(ctx, system, name) {
  system.http.fresh();
  const acked = new AckedSeqs();
  const statuses = new Map();
  const ack = histogram();
  let clientSeq = 0;
  const path = system.publishPath(name);
  const started = () => clientSeq;
  /** Publish one message stamped with `intended` (its intended send time). */
  const publish = async (intended = nowMs()) => {
    let response;
    try {
      response = await system.http.post(path, `{"data":${ctx.payload.data(clientSeq++, intended)}}`);
    } catch (error) {
      response = { status: `error ${error.message}` };
    }
    recordMs(ack, nowMs() - intended);
    if (response.status !== system.okStatus) statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    else acked.add(seqOfSingle(response.text));
  };
  return { acked, ack, publish, statuses, started };
}

async function finish(subscribers, pub, system, phaseStart, cpu) {
  const range = pub.acked.range();
  const drained = await subscribers.drained(range.to, DRAIN_TIMEOUT_MS);
  const cpuUse = cpu();
  const problems = [...range.problems];
  for (const [status, count] of pub.statuses) problems.push(`${count} publishes answered HTTP ${status}, expected ${system.okStatus}`);
  if (!drained) problems.push(`not every subscriber received seq ${range.to} within ${DRAIN_TIMEOUT_MS} ms`);
  problems.push(...subscribers.problems(range.from, range.to));
  const deliverySpanMs = subscribers.lastDeliveryAt - phaseStart;
  return {
    published: pub.acked.seqs.length,
    delivered: subscribers.delivered,
    deliveriesPerSec: subscribers.delivered > 0 ? (subscribers.delivered / deliverySpanMs) * 1000 : 0,
    serverCpuUsPerDelivery: subscribers.delivered > 0 ? (cpuUse.serverCpuSeconds * 1e6) / subscribers.delivered : null,
    // Bytes per delivered message (with `batch=1` a frame holds several).
    meanFrameBytes: subscribers.delivered > 0 ? Math.round(subscribers.frameBytes / subscribers.delivered) : null,
    frames: subscribers.frames,
    messagesPerFrame: subscribers.frames > 0 ? subscribers.delivered / subscribers.frames : null,
    latency: summarize(subscribers.latency),
    ack: summarize(pub.ack),
    cpu: cpuUse,
    problems,
  };
}

/** A short closed-loop warm-up, fully delivered before the measured phase starts. */
export async function warmup(ctx, system, name, subscribers) {
  subscribers.reset();
  const pub = publisher(ctx, system, name);
  await closedLoop({ concurrency: 4, durationMs: ctx.durations.warmupMs, issue: () => pub.publish() });
  const range = pub.acked.range();
  await subscribers.drained(range.to, DRAIN_TIMEOUT_MS);
}

/**
 * Saturation: closed-loop publishers, held back while more than `window` messages are not yet
 * delivered to every subscriber, so the server's send buffers stay bounded and the rate is
 * what the whole path sustains.
 */
export async function saturationPhase(ctx, system, name, subscribers, { concurrency = 16, window = 64 } = {}) {
  subscribers.reset();
  const pub = publisher(ctx, system, name);
  const count = subscribers.count;
  const cpu = cpuWindow(system.pgid);
  const phaseStart = nowMs();
  const { issued } = await closedLoop({
    concurrency,
    durationMs: ctx.durations.measureMs,
    issue: () => pub.publish(),
    mayIssue: () => pub.started() - subscribers.delivered / count < window,
  });
  const result = await finish(subscribers, pub, system, phaseStart, cpu);
  return { ...result, issued, messagesPerSec: (result.published / (subscribers.lastDeliveryAt - phaseStart)) * 1000 };
}

/** Fixed rate, open loop: each message stamped with its intended send time. */
export async function fixedRatePhase(ctx, system, name, subscribers, rate) {
  subscribers.reset();
  const pub = publisher(ctx, system, name);
  const cpu = cpuWindow(system.pgid);
  const phaseStart = nowMs();
  const { maxSchedulerLagMs } = await openLoop({ rate, durationMs: ctx.durations.latencyMs, issue: (_i, intended) => pub.publish(intended) });
  const result = await finish(subscribers, pub, system, phaseStart, cpu);
  // Delivered slower than offered: the latency is mostly queueing behind the backlog.
  const achievedRate = (result.published / (subscribers.lastDeliveryAt - phaseStart)) * 1000;
  return { ...result, rate, achievedRate, overloaded: achievedRate < rate * 0.9, maxSchedulerLagMs };
}
