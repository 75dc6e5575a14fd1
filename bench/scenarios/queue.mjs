/**
 * (d) Queue: enqueue over HTTP, consume over WebSocket, ack on the socket, with 1 and 4
 * competing consumers. Consumers ask for batched frames (`batch=1`) and ack each batch with one
 * `{"type":"ack","leaseIds":[...]}` when the server sends them; else one frame and one ack per
 * message (`batchedFrames` in the results says which). Producers run closed loop, held within a window of unacked messages so
 * the queue stays short and latency means something. Acked msgs/s counts confirmed acks (the
 * server's `result` frame); latency is enqueue send to ack confirmed (HDR), p50/p99.
 *
 * Correctness: every enqueued message (by its client seq) is delivered once with attempt 1 and
 * acked once with ok; afterwards the queue's stats show nothing ready or in flight.
 */
import { runRounds } from "../lib/cases.mjs";
import { ConsumerPool } from "../lib/consumers.mjs";
import { expectJson } from "../lib/http.mjs";
import { closedLoop } from "../lib/load.mjs";
import { ROOT_KEY } from "../lib/servers.mjs";
import { cpuWindow, histogram, nowMs, recordMs, summarize, waitUntil } from "../lib/stats.mjs";

export const CONSUMER_COUNTS = [1, 4];
export const PREFETCH = 32;
const PRODUCERS = 8;
const WINDOW = 256;
const DRAIN_TIMEOUT_MS = 30_000;

const FIELDS = {
  ackedPerSec: (run) => run.ackedPerSec,
  p50: (run) => run.latency.p50,
  p99: (run) => run.latency.p99,
  enqueueAckP99: (run) => run.enqueueAck.p99,
  clientCpu: (run) => run.cpu.clientCpu,
  serverCpu: (run) => run.cpu.serverCpu,
};

async function queueRun(ctx, queue, consumerCount) {
  const http = ctx.edgepost.http;
  http.fresh();
  await expectJson(http.put(`/v1/queues/${queue}`, JSON.stringify({ visibilityTimeoutSeconds: 60 })), "queue config");
  const deliveries = new Map(); // client seq -> times delivered
  const pendingAcks = new Map(); // leaseId -> intended enqueue time
  const problems = [];
  const perConsumer = new Array(consumerCount).fill(0);
  let acked = 0;
  let lastAckAt = 0;
  let measuring = false;
  const latency = histogram();
  const enqueueAck = histogram();
  const statuses = new Map();

  const consumers = await new ConsumerPool(`${ctx.edgepost.url.replace(/^http/, "ws")}/v1/queues/${queue}/consume?prefetch=${PREFETCH}&batch=1&token=${ROOT_KEY}`, consumerCount, {
    onMessage: (index, message) => {
      const times = (deliveries.get(message.c) ?? 0) + 1;
      deliveries.set(message.c, times);
      if (times > 1 || message.attempt !== 1) problems.push(`message c=${message.c} delivered again (attempt ${message.attempt})`);
      pendingAcks.set(message.leaseId, message.t);
      perConsumer[index]++;
      consumers.ack(index, message.leaseId);
    },
    onResult: (_index, result, at) => {
      const intended = pendingAcks.get(result.leaseId);
      pendingAcks.delete(result.leaseId);
      if (!result.ok || intended === undefined) {
        problems.push(`ack of ${result.leaseId} answered ok=${result.ok}`);
        return;
      }
      acked++;
      lastAckAt = at;
      if (measuring) recordMs(latency, at - intended);
    },
  }).open();

  let clientSeq = 0;
  const enqueue = async () => {
    const sent = nowMs();
    const response = await http.post(`/v1/queues/${queue}/messages`, `{"data":${ctx.payload.data(clientSeq++, sent)}}`).catch((error) => ({ status: `error ${error.message}` }));
    if (response.status !== 201) statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    else if (measuring) recordMs(enqueueAck, nowMs() - sent);
  };
  const mayIssue = () => clientSeq - acked < WINDOW;
  try {
    await closedLoop({ concurrency: PRODUCERS, durationMs: ctx.durations.warmupMs, issue: enqueue, mayIssue });
    await waitUntil(() => acked === clientSeq, DRAIN_TIMEOUT_MS);
    const ackedBefore = acked;
    measuring = true;
    const cpu = cpuWindow(ctx.edgepost.pgid);
    const phaseStart = nowMs();
    await closedLoop({ concurrency: PRODUCERS, durationMs: ctx.durations.measureMs, issue: enqueue, mayIssue });
    const drained = await waitUntil(() => acked + problems.length >= clientSeq, DRAIN_TIMEOUT_MS);
    const cpuUse = cpu();
    if (!drained) problems.push(`${clientSeq - acked} of ${clientSeq} messages not acked within ${DRAIN_TIMEOUT_MS} ms`);
    for (const [status, count] of statuses) problems.push(`${count} enqueues answered HTTP ${status}`);
    for (let c = 0; c < clientSeq; c++) if (deliveries.get(c) !== 1 && problems.length < 20) problems.push(`message c=${c} delivered ${deliveries.get(c) ?? 0} times`);
    const stats = await expectJson(http.get(`/v1/queues/${queue}`), "queue stats");
    if (stats.ready !== 0 || stats.inFlight !== 0) problems.push(`queue left with ready=${stats.ready} inFlight=${stats.inFlight}`);
    problems.push(...consumers.problems());
    const measured = acked - ackedBefore;
    return {
      queue,
      enqueued: clientSeq,
      acked: measured,
      ackedPerSec: (measured / (lastAckAt - phaseStart)) * 1000,
      perConsumer,
      batchedFrames: consumers.batchedFrames,
      latency: summarize(latency),
      enqueueAck: summarize(enqueueAck),
      cpu: cpuUse,
      problems,
    };
  } finally {
    await consumers.close();
  }
}

export async function runQueue(ctx) {
  ctx.log("(d) queue: enqueue, consume and ack over WebSocket");
  return runRounds(
    ctx,
    CONSUMER_COUNTS.map((consumers) => ({
      scenario: "d",
      system: "edgepost",
      label: "edgepost queue",
      params: { consumers, prefetch: PREFETCH, producers: PRODUCERS, window: WINDOW },
      fields: FIELDS,
      once: (repeat) => queueRun(ctx, `${ctx.runId}-d${consumers}-r${repeat}`, consumers),
    })),
  );
}
