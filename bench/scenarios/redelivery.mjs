/**
 * (e) Redelivery timing: lease expiry to redelivery. A queue with a 1 s lease and a fixed
 * 100 ms retry backoff (minSeconds = maxSeconds = 0.1, so no jitter); messages enqueued at a
 * fixed rate to one consumer that never acks the first delivery and acks the second. For each
 * message: redelivered-at minus the first lease's leaseExpiresAt ("raw", which includes the
 * 100 ms backoff) and the same minus the backoff ("lag": what the alarm path adds).
 *
 * Baseline: the platform's own alarm lag, an object that sets an alarm 1 s ahead and tells its
 * socket when it fires (received minus scheduled time). edgepost's redelivery runs through two
 * alarms: expiry (which schedules the backoff) and the backoff's end (which pushes).
 *
 * Correctness: every message is delivered exactly twice (attempts 1 and 2) and acked once.
 */
import WebSocket from "ws";
import { runRounds } from "../lib/cases.mjs";
import { ConsumerPool } from "../lib/consumers.mjs";
import { expectJson } from "../lib/http.mjs";
import { openLoop } from "../lib/load.mjs";
import { ROOT_KEY } from "../lib/servers.mjs";
import { histogram, recordMs, summarize, waitUntil } from "../lib/stats.mjs";

export const LEASE_SECONDS = 1;
export const BACKOFF_MS = 100;
export const RATE = 20;
const ALARM_DELAY_MS = 1000;

const FIELDS = {
  lagP50: (run) => run.lag.p50,
  lagP99: (run) => run.lag.p99,
  rawP99: (run) => run.raw?.p99,
  max: (run) => run.lag.max,
};

async function redeliveryRun(ctx, queue) {
  const http = ctx.edgepost.http;
  http.fresh();
  const config = { visibilityTimeoutSeconds: LEASE_SECONDS, maxAttempts: 5, backoff: { minSeconds: BACKOFF_MS / 1000, maxSeconds: BACKOFF_MS / 1000 } };
  await expectJson(http.put(`/v1/queues/${queue}`, JSON.stringify(config)), "queue config");
  const firstExpiry = new Map();
  const problems = [];
  const raw = histogram();
  const lag = histogram();
  let acked = 0;
  const consumers = await new ConsumerPool(`${ctx.edgepost.url.replace(/^http/, "ws")}/v1/queues/${queue}/consume?prefetch=1000&token=${ROOT_KEY}`, 1, {
    onMessage: (index, message) => {
      const now = Date.now(); // the server's leaseExpiresAt is Date.now()-based too
      if (message.attempt === 1) {
        if (firstExpiry.has(message.c)) problems.push(`c=${message.c} delivered twice as attempt 1`);
        firstExpiry.set(message.c, message.leaseExpiresAt);
      } else if (message.attempt === 2 && firstExpiry.has(message.c)) {
        const late = now - firstExpiry.get(message.c);
        recordMs(raw, late);
        recordMs(lag, late - BACKOFF_MS);
        if (late < BACKOFF_MS - 5) problems.push(`c=${message.c} redelivered ${late} ms after expiry, before the backoff`);
        consumers.ack(index, message.leaseId);
      } else problems.push(`c=${message.c} delivered with attempt ${message.attempt}`);
    },
    onResult: (_index, result) => {
      if (result.ok) acked++;
      else problems.push(`ack of ${result.leaseId} was stale`);
    },
  }).open();
  try {
    const statuses = new Map();
    const { issued } = await openLoop({
      rate: RATE,
      durationMs: ctx.durations.latencyMs,
      issue: async (c, intended) => {
        const response = await http.post(`/v1/queues/${queue}/messages`, `{"data":${ctx.payload.data(c, intended)}}`).catch((error) => ({ status: `error ${error.message}` }));
        if (response.status !== 201) statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      },
    });
    const timeout = LEASE_SECONDS * 1000 + BACKOFF_MS + 10_000;
    if (!(await waitUntil(() => acked + problems.length >= issued, timeout))) problems.push(`${issued - acked} of ${issued} not redelivered and acked within ${timeout} ms`);
    for (const [status, count] of statuses) problems.push(`${count} enqueues answered HTTP ${status}`);
    problems.push(...consumers.problems());
    return { messages: issued, raw: summarize(raw), lag: summarize(lag), problems };
  } finally {
    await consumers.close();
  }
}

/** The platform's alarm lag: one object per sample, each with a socket told when it fires. */
async function alarmBaselineRun(ctx, prefix) {
  const count = Math.max(10, Math.round((RATE * ctx.durations.latencyMs) / 1000));
  const base = ctx.baselines.url.replace(/^http/, "ws");
  const scheduled = new Map();
  const lag = histogram();
  const problems = [];
  let fired = 0;
  const sockets = await Promise.all(
    Array.from({ length: count }, (_, i) => new Promise((resolve, reject) => {
      const socket = new WebSocket(`${base}/subscribe/${prefix}-${i}`, { perMessageDeflate: false });
      socket.on("open", () => resolve(socket));
      socket.on("error", reject);
      socket.on("message", (buf) => {
        const now = Date.now();
        if (!buf.toString().startsWith('{"type":"alarm"')) return;
        if (!scheduled.has(i)) problems.push(`alarm ${i} fired before it was scheduled`);
        else recordMs(lag, now - scheduled.get(i));
        fired++;
      });
    })),
  );
  try {
    await openLoop({
      rate: RATE,
      durationMs: (count / RATE) * 1000,
      issue: async (i) => {
        const answer = await expectJson(ctx.baselines.http.post(`/alarm/${prefix}-${i}?delay=${ALARM_DELAY_MS}`, "{}"), "alarm baseline");
        scheduled.set(i, answer.scheduledAt);
      },
    });
    if (!(await waitUntil(() => fired >= count, ALARM_DELAY_MS + 10_000))) problems.push(`${count - fired} of ${count} alarms not seen`);
    return { messages: count, lag: summarize(lag), problems };
  } finally {
    for (const socket of sockets) socket.terminate();
  }
}

export async function runRedelivery(ctx) {
  ctx.log(`(e) redelivery: ${LEASE_SECONDS} s lease, ${BACKOFF_MS} ms backoff, ${RATE} msg/s`);
  return runRounds(ctx, [
    {
      scenario: "e",
      system: "edgepost",
      label: "edgepost queue redelivery",
      params: { leaseSeconds: LEASE_SECONDS, backoffMs: BACKOFF_MS, rate: RATE },
      fields: FIELDS,
      once: (repeat) => redeliveryRun(ctx, `${ctx.runId}-e-r${repeat}`),
    },
    {
      scenario: "e",
      system: "alarm",
      label: "baseline: DO alarm fire lag",
      params: { delayMs: ALARM_DELAY_MS, rate: RATE },
      fields: FIELDS,
      once: (repeat) => alarmBaselineRun(ctx, `${ctx.runId}-e-alarm-r${repeat}`),
    },
  ]);
}
