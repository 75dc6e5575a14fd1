#!/usr/bin/env node
/**
 * The worker's fixed cost (issue 10), like for like: edgepost answering a publish without
 * credentials (401: Hono, middleware, the error answer; no crypto, no object) against the bare
 * baseline worker (200, nothing else), each served three ways: without static assets, with
 * wrangler.toml's [assets] (the assets router in front of the worker), and with [assets] plus
 * `run_worker_first` for the API routes. Server CPU per request (workerd's process, pinned to
 * the server core) is the number that neighbours on a shared machine barely move; req/s is
 * printed beside it. `npm run build` first (dist/index.js).
 *
 *   node bench/worker-cost.mjs [--seconds 2] [--rounds 3] [--concurrency 16] [--script dist/index.js] [--out file.json]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { HttpClient } from "./lib/http.mjs";
import { closedLoop } from "./lib/load.mjs";
import { bundleBaselines, CLIENT_CORE, pinSelf, repoRoot, SERVER_CORE } from "./lib/servers.mjs";
import { spread } from "./lib/stats.mjs";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "2" },
    rounds: { type: "string", default: "3" },
    concurrency: { type: "string", default: "16" },
    out: { type: "string" },
    script: { type: "string", default: "dist/index.js" },
  },
});
const CLOCK_TICKS = 100;

/** user+system CPU seconds of the workerd processes started by this process. */
function workerdCpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited
    }
  }
  return ticks / CLOCK_TICKS;
}

function workerdPids() {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (comm === "workerd" && ppid === process.pid) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** Miniflare options for a wrangler config, converted by wrangler itself (as scripts/serve.mjs does). */
function optionsFor(configPath, script, bindings) {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(configPath);
  const { modulesRules: _unused, ...rest } = workerOptions;
  return { ...rest, name: "worker", modules: true, scriptPath: script, modulesRoot: path.dirname(script), bindings: { ...rest.bindings, ...bindings } };
}

const ASSETS = { directory: path.join(repoRoot, "public") };

function edgepostConfig(dir, assets) {
  let toml = readFileSync(path.join(repoRoot, "wrangler.toml"), "utf8");
  toml = toml.replace(/^main = .*$/m, `main = ${JSON.stringify(path.join(repoRoot, "src/index.ts"))}`);
  // Drop whatever [assets] says, then add the variant's.
  toml = toml.replace(/^\[assets\]\n(?:(?!\[).*(?:\n|$))*/m, "");
  if (assets) {
    toml += `\n[assets]\ndirectory = ${JSON.stringify(assets.directory)}\n`;
    if (assets.runWorkerFirst) toml += `run_worker_first = ${JSON.stringify(assets.runWorkerFirst)}\n`;
  }
  const file = path.join(dir, `edgepost-${assets ? (assets.runWorkerFirst ? "rwf" : "assets") : "plain"}.toml`);
  writeFileSync(file, toml);
  return file;
}

function bareConfig(dir, bundle, assets) {
  const config = JSON.parse(readFileSync(bundle.configPath, "utf8"));
  if (assets) config.assets = { directory: assets.directory, ...(assets.runWorkerFirst ? { run_worker_first: assets.runWorkerFirst } : {}) };
  const file = path.join(dir, `bare-${assets ? (assets.runWorkerFirst ? "rwf" : "assets") : "plain"}.json`);
  writeFileSync(file, JSON.stringify(config));
  return file;
}

async function measure(variant, seconds, concurrency) {
  const persist = mkdtempSync(path.join(os.tmpdir(), "edgepost-worker-cost-"));
  const miniflare = new Miniflare(convertV4MiniflareOptions({ ...variant.options, port: 0, host: "127.0.0.1", cf: false, resourcePersistencePath: persist, log: new Log(LogLevel.WARN) }));
  try {
    const url = await miniflare.ready;
    const pids = workerdPids();
    for (const pid of pids) execFileSync("taskset", ["-a", "-p", "-c", String(SERVER_CORE), String(pid)], { stdio: "ignore" });
    const http = new HttpClient(url.origin);
    const statuses = new Map();
    const issue = async () => {
      const response = await http.post(variant.path, '{"data":{"c":1}}');
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    };
    await closedLoop({ concurrency, durationMs: 500, issue });
    statuses.clear();
    const cpuBefore = workerdCpuSeconds(pids);
    const { issued, elapsedMs } = await closedLoop({ concurrency, durationMs: seconds * 1000, issue });
    const cpu = workerdCpuSeconds(pids) - cpuBefore;
    http.close();
    if (statuses.size !== 1 || !statuses.has(variant.status)) throw new Error(`${variant.key}: answers ${JSON.stringify([...statuses])}, expected ${variant.status}`);
    return { requestsPerSec: (issued / elapsedMs) * 1000, cpuMsPerRequest: (cpu * 1000) / issued };
  } finally {
    await miniflare.dispose();
    rmSync(persist, { recursive: true, force: true });
  }
}

const pinning = pinSelf();
const work = mkdtempSync(path.join(os.tmpdir(), "edgepost-worker-cost-build-"));
try {
  const bundle = bundleBaselines(work);
  const edgepostScript = path.join(work, "edgepost.js");
  writeFileSync(edgepostScript, readFileSync(path.resolve(repoRoot, values.script)));
  const edgepost = (assets) => optionsFor(edgepostConfig(work, assets), edgepostScript, { EDGEPOST_ROOT_KEY: "worker-cost-key" });
  const bare = (assets) => optionsFor(bareConfig(work, bundle, assets), bundle.script, {});
  const variants = [
    { key: "edgepost_401_plain", path: "/v1/topics/diag/messages", status: 401, options: edgepost(null) },
    { key: "bare_plain", path: "/bare", status: 200, options: bare(null) },
    { key: "edgepost_401_assets", path: "/v1/topics/diag/messages", status: 401, options: edgepost(ASSETS) },
    { key: "bare_assets", path: "/bare", status: 200, options: bare(ASSETS) },
    { key: "edgepost_401_assets_rwf", path: "/v1/topics/diag/messages", status: 401, options: edgepost({ ...ASSETS, runWorkerFirst: ["/v1/*"] }) },
    { key: "bare_assets_rwf", path: "/bare", status: 200, options: bare({ ...ASSETS, runWorkerFirst: ["/bare"] }) },
  ];
  const rounds = Number(values.rounds);
  const runs = Object.fromEntries(variants.map((variant) => [variant.key, []]));
  process.stdout.write(`worker cost: client core ${pinning.clientCore ?? CLIENT_CORE}, workerd on core ${SERVER_CORE}; ${rounds} round(s) of ${values.seconds} s at concurrency ${values.concurrency}\n`);
  for (let round = 0; round < rounds; round++) {
    for (const variant of variants) {
      const run = await measure(variant, Number(values.seconds), Number(values.concurrency));
      runs[variant.key].push(run);
      process.stdout.write(`  [${round + 1}/${rounds}] ${variant.key.padEnd(26)} ${run.requestsPerSec.toFixed(0).padStart(6)} req/s  ${run.cpuMsPerRequest.toFixed(3)} ms CPU/req\n`);
    }
  }
  const paired = (a, b, field, flip = false) => spread(runs[a].map((run, index) => (flip ? runs[b][index][field] / run[field] : run[field] / runs[b][index][field])));
  const ratios = {};
  for (const suffix of ["plain", "assets", "assets_rwf"]) {
    ratios[`edgepost_401_vs_bare_worker_${suffix}`] = paired(`edgepost_401_${suffix}`, `bare_${suffix}`, "requestsPerSec");
    // CPU: bare's ms per request / edgepost's, so that higher is better as for req/s.
    ratios[`edgepost_401_vs_bare_worker_${suffix}_cpu`] = paired(`edgepost_401_${suffix}`, `bare_${suffix}`, "cpuMsPerRequest", true);
  }
  process.stdout.write("\nratios (median over rounds, paired; _cpu: bare's CPU per request / edgepost's):\n");
  for (const [key, value] of Object.entries(ratios)) process.stdout.write(`  ${key.padEnd(46)} ${value.median?.toFixed(2)} (${value.min?.toFixed(2)}-${value.max?.toFixed(2)})\n`);
  const summary = Object.fromEntries(Object.entries(runs).map(([key, list]) => [key, { requestsPerSec: spread(list.map((run) => run.requestsPerSec)), cpuMsPerRequest: spread(list.map((run) => run.cpuMsPerRequest)) }]));
  if (values.out) writeFileSync(values.out, `${JSON.stringify({ when: new Date().toISOString(), loadAverage: os.loadavg(), params: values, summary, ratios, runs }, null, 2)}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
