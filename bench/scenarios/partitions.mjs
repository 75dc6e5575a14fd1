/**
 * (p) Partitioned publish throughput (issue 11): one topic of P = 1, 4 and 16 partitions, every
 * message with a random `key` (so messages spread over the partitions as a keyed workload
 * does). Closed loop, single publishes at concurrency 16 and 64, batches of 100 at 16 (the
 * worker splits each batch per partition and publishes the parts in parallel). Beside it, the
 * same single-publish load on the one-insert baseline spread over P objects: what P objects
 * of this runtime do on this machine, the like-for-like ceiling for P partitions.
 *
 * Here every object shares one workerd process and one server core, so P partitions cannot
 * add CPU: what more partitions can add is commits in flight at once (each partition commits
 * its own group, and the disk's sync latency bounds one object's commit rate). A profiled
 * run per P (concurrency 64) splits the isolate's CPU between the worker and the partitions
 * (lib/attribution.mjs): the per-hop costs of bench/README.md's model.
 *
 * Correctness: every answer 201; per partition, the acked seqs are unique and contiguous, and
 * the topic's stats then show each partition's lastSeq and retained count as acked; answers
 * carry `partition` exactly when P > 1.
 */
import path from "node:path";
import { attribute, bundleModules, cpuSplit } from "../lib/attribution.mjs";
import { runRounds } from "../lib/cases.mjs";
import { AckedSeqs } from "../lib/frames.mjs";
import { expectJson } from "../lib/http.mjs";
import { connectInspector, profileWhile } from "../lib/inspector.mjs";
import { closedLoop } from "../lib/load.mjs";
import { repoRoot } from "../lib/servers.mjs";
import { cpuWindow, histogram, nowMs, recordMs, summarize } from "../lib/stats.mjs";
import { edgepostTopic, insertObject, seqOfSingle } from "../lib/systems.mjs";

export const PARTITIONS = [1, 4, 16];
const LOADS = [{ concurrency: 16 }, { concurrency: 64 }, { concurrency: 16, batch: 100 }];
const PROFILED = { concurrency: 64 };

const FIELDS = {
  msgsPerSec: (run) => run.msgsPerSec,
  serverCpuMsPerMsg: (run) => (run.cpu.serverCpuSeconds * 1000) / run.messages,
  ackP50: (run) => run.ack.p50,
  ackP99: (run) => run.ack.p99,
  clientCpu: (run) => run.cpu.clientCpu,
  serverCpu: (run) => run.cpu.serverCpu,
};

const PROFILE_FIELDS = {
  topicCpuMsPerMsg: (run) => run.topicMsPerMsg,
  workerCpuMsPerMsg: (run) => run.workerMsPerMsg,
  runtimeCpuMsPerMsg: (run) => run.runtimeMsPerMsg,
  msgsPerSec: (run) => run.msgsPerSec,
};

const randomKey = () => `k${Math.floor(Math.random() * 1e9).toString(36)}`;

/** Acked seqs per partition; answers must name the partition exactly when P > 1. */
class PartitionAcks {
  constructor(partitions) {
    this.partitions = partitions;
    this.acks = new Map();
    this.problems = new Set();
  }

  add(answer) {
    const partition = answer.partition ?? 0;
    if (this.partitions > 1 && answer.partition === undefined) this.problems.add("an answer without partition on a partitioned topic");
    if (this.partitions === 1 && answer.partition !== undefined) this.problems.add("an answer with partition on a one-partition topic");
    if (!(partition >= 0 && partition < this.partitions)) this.problems.add(`partition ${partition} out of range`);
    if (!this.acks.has(partition)) this.acks.set(partition, new AckedSeqs());
    this.acks.get(partition).add(answer.seq);
  }

  /** Check every partition's acked range against the topic's stats. */
  async check(http, name) {
    const problems = [...this.problems];
    const stats = await expectJson(http.get(`/v1/topics/${name}`), "topic stats");
    const byPartition = new Map((stats.partitionStats ?? []).map((entry) => [entry.partition, entry]));
    for (const [partition, acked] of this.acks) {
      const range = acked.range();
      problems.push(...range.problems.map((problem) => `partition ${partition}: ${problem}`));
      const entry = byPartition.get(partition) ?? (partition === 0 ? stats : null);
      if (!entry) problems.push(`partition ${partition}: not in the topic's stats`);
      else {
        if (entry.lastSeq !== range.to) problems.push(`partition ${partition}: lastSeq ${entry.lastSeq}, acked up to ${range.to}`);
        if (entry.retainedMessages !== acked.seqs.length) problems.push(`partition ${partition}: retains ${entry.retainedMessages}, acked ${acked.seqs.length}`);
      }
    }
    if (this.partitions > 1 && this.acks.size < this.partitions) problems.push(`only ${this.acks.size} of ${this.partitions} partitions got messages`);
    return problems;
  }
}

async function partitionedRun(ctx, partitions, { concurrency, batch }, name, during = (work) => work()) {
  const system = edgepostTopic(ctx);
  if (partitions > 1) await expectJson(system.http.put(`/v1/topics/${name}`, JSON.stringify({ partitions })), `set partitions=${partitions}`);
  const acks = new PartitionAcks(partitions);
  const statuses = new Map();
  const ack = histogram();
  let clientSeq = 0;
  let measuring = false;
  let messages = 0;
  const one = () => `{"key":"${randomKey()}","data":${ctx.payload.data(clientSeq++, nowMs())}}`;
  const body = () => (batch ? `{"messages":[${Array.from({ length: batch }, one).join(",")}]}` : one());
  system.http.fresh();
  const issue = async () => {
    const sent = nowMs();
    const response = await system.http.post(system.publishPath(name), body()).catch((error) => ({ status: `error ${error.message}` }));
    const took = nowMs() - sent;
    if (response.status !== 201) {
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      return;
    }
    const answer = JSON.parse(response.text);
    for (const item of batch ? answer.messages : [answer]) acks.add(item);
    if (measuring) {
      recordMs(ack, took);
      messages += batch ?? 1;
    }
  };
  await closedLoop({ concurrency, durationMs: ctx.durations.warmupMs, issue });
  measuring = true;
  const cpu = cpuWindow(system.pgid);
  const { elapsedMs, extra } = await during(async () => closedLoop({ concurrency, durationMs: ctx.durations.measureMs, issue }));
  const cpuUse = cpu();
  const problems = [...statuses].map(([status, count]) => `${count} answers with HTTP ${status}, expected 201`);
  problems.push(...(await acks.check(system.http, name)));
  return { messages, elapsedMs, msgsPerSec: (messages / elapsedMs) * 1000, ack: summarize(ack), cpu: cpuUse, problems, extra };
}

/** The one-insert baseline over P objects: each request to one of them at random. */
async function baselineRun(ctx, partitions, { concurrency }, name) {
  const system = insertObject(ctx);
  const ack = histogram();
  const statuses = new Map();
  const acked = Array.from({ length: partitions }, () => new AckedSeqs());
  let measuring = false;
  let messages = 0;
  let clientSeq = 0;
  system.http.fresh();
  const issue = async () => {
    const object = Math.floor(Math.random() * partitions);
    const sent = nowMs();
    const response = await system.http.post(system.publishPath(`${name}-${object}`), `{"data":${ctx.payload.data(clientSeq++, sent)}}`).catch((error) => ({ status: `error ${error.message}` }));
    if (response.status !== 200) {
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      return;
    }
    acked[object].add(seqOfSingle(response.text));
    if (measuring) {
      recordMs(ack, nowMs() - sent);
      messages++;
    }
  };
  await closedLoop({ concurrency, durationMs: ctx.durations.warmupMs, issue });
  measuring = true;
  const cpu = cpuWindow(system.pgid);
  const { elapsedMs } = await closedLoop({ concurrency, durationMs: ctx.durations.measureMs, issue });
  const problems = [...statuses].map(([status, count]) => `${count} answers with HTTP ${status}, expected 200`);
  acked.forEach((seqs, object) => problems.push(...seqs.range().problems.map((problem) => `object ${object}: ${problem}`)));
  return { messages, elapsedMs, msgsPerSec: (messages / elapsedMs) * 1000, ack: summarize(ack), cpu: cpu(), problems };
}

function profiledCase(ctx, partitions, moduleAt) {
  return {
    scenario: "p",
    system: "edgepost_profiled",
    label: `edgepost, ${partitions} partition(s), profiled`,
    params: { partitions, ...PROFILED, profiled: true },
    fields: PROFILE_FIELDS,
    once: async (repeat) => {
      const inspector = await connectInspector(ctx.edgepost.inspectorUrl);
      try {
        let split;
        const run = await partitionedRun(ctx, partitions, PROFILED, `${ctx.runId}-p${partitions}-prof-r${repeat}`, async (work) => {
          const { result, profile } = await profileWhile(inspector, work);
          split = attribute(profile, moduleAt);
          return result;
        });
        const cpuMs = cpuSplit(split, run.cpu.serverCpuSeconds * 1000);
        const per = (...owners) => (run.messages ? owners.reduce((sum, owner) => sum + (cpuMs[owner] ?? 0), 0) / run.messages : null);
        return { ...run, split, cpuMs, topicMsPerMsg: per("topic"), workerMsPerMsg: per("worker"), runtimeMsPerMsg: per("runtime", "gc") };
      } finally {
        inspector.close();
      }
    },
  };
}

export async function runPartitions(ctx) {
  const partitionCounts = ctx.partitionCounts ?? PARTITIONS;
  ctx.log(`(p) partitioned publish: P = ${partitionCounts.join(", ")}, random keys`);
  const moduleAt = ctx.edgepost.inspectorUrl ? bundleModules(path.join(repoRoot, "dist/index.js")) : null;
  const specs = [];
  for (const load of LOADS) {
    for (const partitions of partitionCounts) {
      const tag = load.batch ? `b${load.batch}` : `c${load.concurrency}`;
      specs.push({
        scenario: "p",
        system: "edgepost",
        label: `edgepost, ${partitions} partition(s)`,
        params: { partitions, ...load },
        fields: FIELDS,
        once: (repeat) => partitionedRun(ctx, partitions, load, `${ctx.runId}-p${partitions}-${tag}-r${repeat}`),
      });
      if (!load.batch) {
        specs.push({
          scenario: "p",
          system: "insert_do",
          label: `baseline: one insert, over ${partitions} object(s)`,
          params: { partitions, ...load },
          fields: FIELDS,
          once: (repeat) => baselineRun(ctx, partitions, load, `${ctx.runId}-p${partitions}-${tag}-r${repeat}`),
        });
      }
    }
  }
  if (moduleAt) for (const partitions of partitionCounts) specs.push(profiledCase(ctx, partitions, moduleAt));
  return runRounds(ctx, specs);
}
