/**
 * (a) HTTP publish into one topic: single messages at concurrency 1, 16 and 64, batches of 10
 * and 100; messages/s and publish-ack p50/p99, closed loop. The same load against the
 * baselines (bare worker, no-op object, one insert, n-row insert transaction) and two
 * edgepost requests that stop before the object (401, 400) to split the worker's own cost.
 *
 * Correctness: every answer has the expected status; the acked seqs of a run are unique and
 * contiguous; for edgepost the topic's stats then show exactly that many messages retained.
 */
import { expectJson } from "../lib/http.mjs";
import { runRounds } from "../lib/cases.mjs";
import { AckedSeqs } from "../lib/frames.mjs";
import { closedLoop } from "../lib/load.mjs";
import { cpuWindow, histogram, nowMs, recordMs, summarize } from "../lib/stats.mjs";
import {
  bareWorker,
  bareWorkerSameAssets,
  batchInsertObject,
  edgepostTopic,
  edgepostWorkerOnly,
  insertObject,
  noopObject,
  probeAppendOnly,
  probeTopicBatch,
  probeTopicRpc,
  seqOfSingle,
  validationProbes,
} from "../lib/systems.mjs";

export const CONCURRENCIES = [1, 16, 64];
export const BATCHES = [10, 100];
export const BATCH_CONCURRENCY = 16;
export const DIAG_CONCURRENCY = 16;

const FIELDS = {
  msgsPerSec: (run) => run.msgsPerSec,
  // Server CPU per message: unlike msgs/s, barely moved by neighbours taking the core.
  serverCpuMsPerMsg: (run) => (run.cpu.serverCpuSeconds * 1000) / (run.messages ?? run.requests),
  requestsPerSec: (run) => run.requestsPerSec,
  ackP50: (run) => run.ack.p50,
  ackP99: (run) => run.ack.p99,
  clientCpu: (run) => run.cpu.clientCpu,
  serverCpu: (run) => run.cpu.serverCpu,
};

async function publishRun(ctx, system, { concurrency, batch, name }) {
  const acked = new AckedSeqs();
  const statuses = new Map();
  const ack = histogram();
  let clientSeq = 0;
  let measuring = false;
  let messages = 0;
  const path = system.publishPath(name);
  const one = () => `{"data":${ctx.payload.data(clientSeq++, nowMs())}}`;
  const body = () => (batch ? `{"messages":[${Array.from({ length: batch }, one).join(",")}]}` : one());
  system.http.fresh();
  const issue = async () => {
    const text = body();
    const sent = nowMs();
    const response = await system.http.post(path, text).catch((error) => ({ status: `error ${error.message}` }));
    const took = nowMs() - sent;
    if (response.status !== system.okStatus) {
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      return;
    }
    if (!system.noSeq) {
      if (batch) for (const seq of system.seqsOfBatch(response.text)) acked.add(seq);
      else acked.add(seqOfSingle(response.text));
    }
    if (measuring) {
      recordMs(ack, took);
      messages += batch ?? 1;
    }
  };
  await closedLoop({ concurrency, durationMs: ctx.durations.warmupMs, issue });
  measuring = true;
  const cpu = cpuWindow(system.pgid);
  const { issued, elapsedMs } = await closedLoop({ concurrency, durationMs: ctx.durations.measureMs, issue });
  const cpuUse = cpu();

  const problems = [...statuses].map(([status, count]) => `${count} answers with HTTP ${status}, expected ${system.okStatus}`);
  if (!system.noSeq) {
    const range = acked.range();
    problems.push(...range.problems);
    if (system.key === "edgepost" || system.key === "npm_start") {
      const stats = await expectJson(system.http.get(`/v1/topics/${name}`), "topic stats");
      if (stats.lastSeq !== range.to) problems.push(`topic lastSeq ${stats.lastSeq}, acked up to ${range.to}`);
      if (stats.retainedMessages !== acked.seqs.length) problems.push(`topic retains ${stats.retainedMessages}, acked ${acked.seqs.length}`);
    }
  }
  return {
    name,
    messages,
    requests: issued,
    elapsedMs,
    msgsPerSec: (messages / elapsedMs) * 1000,
    requestsPerSec: (issued / elapsedMs) * 1000,
    ack: summarize(ack),
    cpu: cpuUse,
    problems,
  };
}

export function publishCase(ctx, system, params, scenario = "a") {
  const tag = params.batch ? `b${params.batch}` : `c${params.concurrency}`;
  return {
    scenario,
    system: system.key,
    label: system.label,
    params,
    fields: FIELDS,
    once: (repeat) => publishRun(ctx, system, { ...params, name: `${ctx.runId}-${scenario}-${system.key}-${tag}-r${repeat}` }),
  };
}

/** A request that edgepost answers before reaching the object, at the expected status. */
function workerOnlyCase(ctx, diag) {
  return {
    scenario: "a",
    system: diag.key,
    label: diag.label,
    params: { concurrency: DIAG_CONCURRENCY, ...(diag.batch ? { batch: diag.batch } : {}) },
    fields: FIELDS,
    once: async () => {
      const statuses = new Map();
      const ack = histogram();
      let measuring = false;
      diag.http.fresh();
      const issue = async () => {
        const sent = nowMs();
        const response = await diag.http.post(diag.path, diag.body ?? diag.makeBody?.(ctx) ?? `{"data":${ctx.payload.data(0, sent)}}`).catch((error) => ({ status: `error ${error.message}` }));
        if (response.status !== diag.status) statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        else if (measuring) recordMs(ack, nowMs() - sent);
      };
      await closedLoop({ concurrency: DIAG_CONCURRENCY, durationMs: ctx.durations.warmupMs, issue });
      measuring = true;
      const cpu = cpuWindow(diag.pgid);
      const { issued, elapsedMs } = await closedLoop({ concurrency: DIAG_CONCURRENCY, durationMs: ctx.durations.measureMs, issue });
      return {
        requests: issued,
        messages: issued * (diag.batch ?? 1),
        elapsedMs,
        requestsPerSec: (issued / elapsedMs) * 1000,
        msgsPerSec: null,
        ack: summarize(ack),
        cpu: cpu(),
        problems: [...statuses].map(([status, count]) => `${count} answers with HTTP ${status}, expected ${diag.status}`),
      };
    },
  };
}

export async function runPublish(ctx) {
  ctx.log("(a) HTTP publish into one topic");
  // Within a round, each edgepost case runs right next to the baseline it is divided by.
  const specs = [];
  for (const concurrency of CONCURRENCIES) {
    for (const system of [edgepostTopic(ctx), insertObject(ctx)]) specs.push(publishCase(ctx, system, { concurrency }));
    if (concurrency === DIAG_CONCURRENCY) {
      // Where the time goes: edgepost's object without its worker, and the append alone.
      specs.push(publishCase(ctx, probeTopicRpc(ctx), { concurrency }));
      specs.push(publishCase(ctx, probeAppendOnly(ctx), { concurrency }));
    }
    for (const system of [noopObject(ctx), bareWorker(ctx)]) specs.push(publishCase(ctx, system, { concurrency }));
  }
  for (const batch of BATCHES) {
    for (const system of [edgepostTopic(ctx), batchInsertObject(ctx)]) specs.push(publishCase(ctx, system, { concurrency: BATCH_CONCURRENCY, batch }));
  }
  specs.push(publishCase(ctx, probeTopicBatch(ctx), { concurrency: BATCH_CONCURRENCY, batch: 100 }));
  // edgepost's worker alone: answers that stop before the object.
  for (const diag of [...edgepostWorkerOnly(ctx), ...validationProbes(ctx)]) specs.push(workerOnlyCase(ctx, diag));
  // Like for like for the 401: the bare worker behind the same assets router as edgepost.
  if (ctx.baselinesAssets) specs.push(publishCase(ctx, bareWorkerSameAssets(ctx), { concurrency: DIAG_CONCURRENCY }));
  return runRounds(ctx, specs);
}
