#!/usr/bin/env node
/**
 * edgepost benchmarks: `npm run bench` (full) or `npm run bench -- --quick` (under 3 minutes on
 * 2 cores). Builds edgepost and the baselines, serves both through Miniflare on fresh persisted
 * state pinned to the server core, drives them from this process pinned to the other core,
 * prints a table and writes bench/results/<date>-<sha>[-quick].json. See bench/README.md.
 *
 *   options: --quick, --repeats <n>, --only <a,b,c,d,e,s,r>, --out <file>,
 *            --state-dir <dir> (where the servers' fresh state directories go; default the OS temp dir)
 *            --storm-subscribers <n>, --storm-window <n>, --storm-probe-rate <msg/s>,
 *            --storm-relays <k,k>, --storm-systems <keys> (scenario r, the reconnect storm;
 *            npm_start among the keys also starts `npm start`)
 *            --relay-fanout-counts <n,n>, --relays <k> (scenario f, fan-out over relays)
 *            --partitions <p,p> (scenario p, partitioned publish; default 1,4,16)
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { HttpClient } from "./lib/http.mjs";
import { makePayload } from "./lib/frames.mjs";
import { computeRatios, printTable } from "./lib/report.mjs";
import {
  buildEdgepost,
  bundleBaselines,
  fsyncProbe,
  NPM_START_ROOT_KEY,
  pinSelf,
  repoRoot,
  ROOT_KEY,
  setStateRoot,
  startBaselines,
  startEdgepost,
  startNpmStart,
  withEdgepostAssets,
} from "./lib/servers.mjs";
import { runDelivery } from "./scenarios/delivery.mjs";
import { runFanout } from "./scenarios/fanout.mjs";
import { runPublish } from "./scenarios/publish.mjs";
import { runQueue } from "./scenarios/queue.mjs";
import { runRedelivery } from "./scenarios/redelivery.mjs";
import { runStart } from "./scenarios/start.mjs";
import { runStorm, STORM_WINDOW } from "./scenarios/storm.mjs";
import { runRelayFanout } from "./scenarios/relay-fanout.mjs";
import { runPartitions } from "./scenarios/partitions.mjs";

const PAYLOAD_BYTES = 256;

const SCENARIOS = { a: runPublish, b: runDelivery, c: runFanout, d: runQueue, e: runRedelivery, s: runStart, r: runStorm, f: runRelayFanout, p: runPartitions };

/**
 * Many short rounds rather than a few long ones: neighbours on a shared machine come and go
 * within seconds (seen here: the same case 3x apart in consecutive rounds), and a ratio paired
 * by round compares numbers taken seconds apart, so more rounds give a steadier median.
 */
const PROFILES = {
  quick: { repeats: 1, warmupMs: 200, measureMs: 1000, latencyMs: 1000, fanoutCounts: [1, 100, 1000], stormSubscribers: 2000, relayFanoutCounts: [1000, 5000] },
  full: { repeats: 7, warmupMs: 300, measureMs: 1500, latencyMs: 2000, fanoutCounts: [1, 100, 1000], stormSubscribers: 9_800, relayFanoutCounts: [1000, 5000, 9500] },
};

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      repeats: { type: "string" },
      only: { type: "string" },
      out: { type: "string" },
      "state-dir": { type: "string" },
      "storm-subscribers": { type: "string" },
      "storm-window": { type: "string" },
      "storm-probe-rate": { type: "string" },
      "storm-relays": { type: "string" },
      "storm-systems": { type: "string" },
      "relay-fanout-counts": { type: "string" },
      "relays": { type: "string" },
      partitions: { type: "string" },
    },
    strict: true,
  });
  const profile = values.quick ? "quick" : "full";
  const only = (values.only ?? Object.keys(SCENARIOS).join(",")).split(",").map((key) => key.trim());
  for (const key of only) if (!SCENARIOS[key]) throw new Error(`unknown scenario ${key}; use ${Object.keys(SCENARIOS).join(",")}`);
  const storm = {
    subscribers: Number(values["storm-subscribers"] ?? PROFILES[profile].stormSubscribers),
    window: Number(values["storm-window"] ?? STORM_WINDOW),
    probeRate: Number(values["storm-probe-rate"] ?? 0),
    relays: values["storm-relays"] ? values["storm-relays"].split(",").map(Number).filter((k) => k > 0) : [],
    systems: values["storm-systems"] ? values["storm-systems"].split(",").map((key) => key.trim()) : null,
  };
  const relayFanout = {
    counts: values["relay-fanout-counts"] ? values["relay-fanout-counts"].split(",").map(Number) : PROFILES[profile].relayFanoutCounts,
    relays: Number(values.relays ?? 4),
  };
  const partitionCounts = values.partitions ? values.partitions.split(",").map(Number) : undefined;
  return { profile, ...PROFILES[profile], relayFanout, partitionCounts, repeats: Number(values.repeats ?? PROFILES[profile].repeats), only, out: values.out, stateDir: values["state-dir"], storm };
}

const version = (pkg) => JSON.parse(readFileSync(path.join(repoRoot, "node_modules", pkg, "package.json"), "utf8")).version;
const git = (...args) => execFileSync("git", args, { cwd: repoRoot, encoding: "utf8" }).trim();

function environment() {
  return {
    node: process.version,
    workerd: version("workerd"),
    miniflare: version("miniflare"),
    wrangler: version("wrangler"),
    partyserver: version("partyserver"),
    ws: version("ws"),
    "hdr-histogram-js": version("hdr-histogram-js"),
    edgepostCommit: git("rev-parse", "HEAD"),
    edgepostTreeDirty: git("status", "--porcelain", "--", "src", "wrangler.toml", "package.json").length > 0,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    loadAverageAtStart: os.loadavg().map((value) => Number(value.toFixed(2))),
  };
}

async function main() {
  const opts = options();
  const started = Date.now();
  const log = (line) => process.stdout.write(`${line}\n`);
  const pinning = pinSelf();
  log(`edgepost bench (${opts.profile}, ${opts.repeats} repeat(s)); load generator on core ${pinning.clientCore ?? "any"}, servers on core ${pinning.serverCore ?? "any"}`);

  if (opts.stateDir) setStateRoot(opts.stateDir);
  const env = { ...environment(), fsync: fsyncProbe() };
  log(`state under ${env.fsync.stateRoot}: 4 KiB write+fsync p50 ${env.fsync.p50Ms} ms, p99 ${env.fsync.p99Ms} ms`);
  log("building edgepost (npm run build) and the baselines (wrangler --dry-run) ...");
  buildEdgepost();
  const workDir = mkdtempSync(path.join(os.tmpdir(), "edgepost-bench-build-"));
  const bundle = bundleBaselines(workDir);
  // `npm start` (scenario s) rebuilds dist/ in its prestart: after edgepost's server has loaded it.
  const [edgepost, baselines] = await Promise.all([startEdgepost({ inspector: opts.only.includes("f") || opts.only.includes("p") }), startBaselines(bundle)]);
  const assetsBundle = opts.only.includes("a") || opts.only.includes("r") ? withEdgepostAssets(bundle) : null;
  const baselinesAssets = assetsBundle ? await startBaselines(assetsBundle, "baselines-assets") : null;
  const stormOnNpmStart = opts.only.includes("r") && (opts.storm.systems ?? []).some((key) => key.startsWith("npm_start"));
  const npmStart = opts.only.includes("s") || stormOnNpmStart ? await startNpmStart() : null;
  const stopAll = () => Promise.all([edgepost.stop(), baselines.stop(), baselinesAssets?.stop(), npmStart?.stop()]);
  process.on("SIGINT", () => void stopAll().finally(() => process.exit(130)));

  const ctx = {
    log,
    quick: opts.profile === "quick",
    repeats: opts.repeats,
    durations: { warmupMs: opts.warmupMs, measureMs: opts.measureMs, latencyMs: opts.latencyMs },
    fanoutCounts: opts.fanoutCounts,
    storm: opts.storm,
    relayFanout: opts.relayFanout,
    partitionCounts: opts.partitionCounts,
    payload: makePayload(PAYLOAD_BYTES),
    runId: `r${Date.now().toString(36)}`,
    edgepost: {
      url: edgepost.url,
      pgid: edgepost.pgid,
      inspectorUrl: edgepost.inspectorUrl,
      http: new HttpClient(edgepost.url, { headers: { authorization: `Bearer ${ROOT_KEY}` } }),
      anonymousHttp: new HttpClient(edgepost.url),
    },
    baselines: { url: baselines.url, pgid: baselines.pgid, http: new HttpClient(baselines.url) },
    baselinesAssets: baselinesAssets && { url: baselinesAssets.url, pgid: baselinesAssets.pgid, http: new HttpClient(baselinesAssets.url), assets: assetsBundle.assets },
    npmStart: npmStart && { url: npmStart.url, pgid: npmStart.pgid, http: new HttpClient(npmStart.url, { headers: { authorization: `Bearer ${NPM_START_ROOT_KEY}` } }) },
  };

  const results = [];
  const failures = [];
  try {
    for (const key of opts.only) {
      try {
        results.push(...(await SCENARIOS[key](ctx)));
      } catch (error) {
        failures.push({ scenario: key, error: String(error?.stack ?? error) });
        log(`scenario ${key} failed: ${error?.stack ?? error}`);
      }
    }
  } finally {
    ctx.edgepost.http.close();
    ctx.edgepost.anonymousHttp.close();
    ctx.baselines.http.close();
    ctx.npmStart?.http.close();
    ctx.baselinesAssets?.http.close();
    await stopAll();
    rmSync(workDir, { recursive: true, force: true });
  }

  const { ratios, ratioSpreads, targets } = computeRatios(results);
  const invalid = results.filter((result) => !result.valid);
  const report = {
    when: new Date(started).toISOString(),
    profile: opts.profile,
    repeats: opts.repeats,
    durations: ctx.durations,
    payloadBytes: ctx.payload.bytes,
    pinning,
    environment: { ...env, loadAverageAtEnd: os.loadavg().map((value) => Number(value.toFixed(2))) },
    wallSeconds: Math.round((Date.now() - started) / 1000),
    valid: invalid.length === 0 && failures.length === 0,
    ratios,
    ratioSpreads,
    targets,
    failures,
    results,
  };
  printTable(report, log);

  const date = new Date(started).toISOString().slice(0, 10);
  const file = opts.out ?? path.join(repoRoot, "bench/results", `${date}-${env.edgepostCommit.slice(0, 7)}${opts.profile === "quick" ? "-quick" : ""}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`\nwrote ${path.relative(process.cwd(), file)} (${report.wallSeconds} s)`);
  if (!report.valid) {
    log(`INVALID: ${invalid.length} case(s) with correctness problems, ${failures.length} scenario failure(s)`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`bench: ${error?.stack ?? error}\n`);
  process.exit(1);
});
