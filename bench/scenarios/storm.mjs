/**
 * (r) Reconnect storm (issue 11): every deploy drops every socket, and they all come back at
 * once. Per system and round, on a fresh topic or room:
 * 1. cold connect: N subscribers connect, `window` upgrades in flight;
 * 2. one probe publish reaches all N; then a burst of FANOUT_BURST publishes (deliveries/s);
 * 3. the drop: every client closes (1001) and waits for the server's close;
 * 4. the storm: all N reconnect, `window` in flight; edgepost's clients resume with
 *    `after=<last seq seen>`, so each must see exactly the messages after it, once, in order;
 *    `--storm-probe-rate` publishes race the reconnects (default none: the connect rate is
 *    the storm's own cost, as the issue measured it);
 * 5. a final probe: "live again" is the time from the storm's start until every client has it.
 * Connects/s = N / time to connect all N. Server CPU per connect (the server's process group,
 * over the storm) is the figure neighbours on a shared machine move least.
 */
import { AckedSeqs } from "../lib/frames.mjs";
import { runRounds } from "../lib/cases.mjs";
import { groupRssBytes } from "../lib/servers.mjs";
import { cpuWindow, nowMs, round, sleep } from "../lib/stats.mjs";
import { StormClients } from "../lib/storm-clients.mjs";
import { seqOfSingle } from "../lib/systems.mjs";
import { stormSystems } from "../lib/storm-systems.mjs";

export const STORM_WINDOW = 200;
const FANOUT_BURST = 10;
const REACH_TIMEOUT_MS = 120_000;

const FIELDS = {
  connectsPerSec: (run) => run.storm.connectsPerSec,
  liveAgainMs: (run) => run.liveAgainMs,
  serverCpuMsPerConnect: (run) => run.serverCpuMsPerConnect,
  coldConnectsPerSec: (run) => run.cold.connectsPerSec,
  connectP50: (run) => run.storm.latency.p50,
  connectP99: (run) => run.storm.latency.p99,
  fanoutDeliveriesPerSec: (run) => run.fanoutDeliveriesPerSec,
  rssKbPerSubscriber: (run) => run.rssKbPerSubscriber,
  clientCpu: (run) => run.cpu.clientCpu,
  serverCpu: (run) => run.cpu.serverCpu,
};

function publisher(ctx, system, name) {
  system.http.fresh();
  const acked = new AckedSeqs();
  const failures = [];
  let c = 0;
  const publish = async () => {
    const response = await system.http.post(system.publishPath(name), `{"data":${ctx.payload.data(c++, nowMs())}}`).catch((error) => ({ status: `error ${error.message}` }));
    if (response.status !== system.okStatus) {
      failures.push(`publish answered ${response.status}`);
      return null;
    }
    const seq = seqOfSingle(response.text);
    acked.add(seq);
    return seq;
  };
  return { acked, failures, publish };
}

/** Publishes at `rate` per second until `stop()` is true; resolves when they have all settled. */
async function racingProbes(pub, rate, stop) {
  if (!rate) return;
  const pending = [];
  const interval = 1000 / rate;
  for (let next = nowMs(); !stop(); next += interval) {
    pending.push(pub.publish());
    await sleep(Math.max(0, next + interval - nowMs()));
  }
  await Promise.all(pending);
}

async function stormOnce(ctx, system, count, repeat) {
  const name = `${ctx.runId}-storm${count}-${system.key}-r${repeat}`;
  await system.setup?.(name);
  const clients = new StormClients(count, (index, after) => system.subscribeUrl(name, after), { resumable: system.resumable });
  const pub = publisher(ctx, system, name);
  const problems = [];
  try {
    const rssBefore = groupRssBytes(system.pgid);
    const cold = await clients.connectAll({ window: ctx.storm.window });
    problems.push(...cold.failures.slice(0, 5));
    const first = await pub.publish();
    if (first !== null && !(await clients.reached(first, REACH_TIMEOUT_MS))) problems.push(`${clients.missing(first)} clients never got the first probe`);
    const rssKbPerSubscriber = (groupRssBytes(system.pgid) - rssBefore) / 1024 / count;

    // The fan-out the issue measured after its storm: a burst of publishes to all N.
    const burstStart = nowMs();
    const burst = await Promise.all(Array.from({ length: FANOUT_BURST }, () => pub.publish()));
    const burstTo = Math.max(...burst.filter((seq) => seq !== null));
    if (!(await clients.reached(burstTo, REACH_TIMEOUT_MS))) problems.push(`${clients.missing(burstTo)} clients never got the burst`);
    const fanoutDeliveriesPerSec = ((FANOUT_BURST * count) / (nowMs() - burstStart)) * 1000;

    const drop = await clients.dropAll();
    if (!drop.closed) problems.push("not every socket saw the server's close within 60 s");

    const cpu = cpuWindow(system.pgid);
    const stormStart = nowMs();
    let connecting = true;
    const probes = racingProbes(pub, ctx.storm.probeRate, () => !connecting);
    const storm = await clients.connectAll({ window: ctx.storm.window });
    connecting = false;
    await probes;
    problems.push(...storm.failures.slice(0, 5));
    const final = await pub.publish();
    const live = final !== null && (await clients.reached(final, REACH_TIMEOUT_MS));
    const liveAgainMs = nowMs() - stormStart;
    const cpuUse = cpu();
    if (!live) problems.push(`${final === null ? count : clients.missing(final)} clients not live again within ${REACH_TIMEOUT_MS} ms`);

    const range = pub.acked.range();
    problems.push(...range.problems, ...pub.failures.slice(0, 5), ...clients.problems());
    return {
      cold,
      storm,
      liveAgainMs,
      serverCpuMsPerConnect: (cpuUse.serverCpuSeconds * 1000) / count,
      fanoutDeliveriesPerSec,
      rssKbPerSubscriber: round(rssKbPerSubscriber, 1),
      published: pub.acked.seqs.length,
      delivered: clients.delivered,
      cpu: cpuUse,
      problems,
    };
  } finally {
    await clients.close();
  }
}

export async function runStorm(ctx) {
  const { subscribers, window, probeRate } = ctx.storm;
  ctx.log(`(r) reconnect storm: ${subscribers} WebSocket subscribers, ${window} connects in flight, ${probeRate} probe publishes/s racing`);
  const specs = stormSystems(ctx).map((system) => ({
    scenario: "r",
    system: system.key,
    label: system.label,
    params: { subscribers, window, probeRate, ...(system.params ?? {}) },
    fields: FIELDS,
    once: (repeat) => stormOnce(ctx, system, subscribers, repeat),
  }));
  return runRounds(ctx, specs);
}
