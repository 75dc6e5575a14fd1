#!/usr/bin/env node
/**
 * Where edgepost's publish time goes inside workerd: serve the bundled worker (dist/index.js,
 * `npm run build` first) through Miniflare with workerd's V8 inspector on, drive publishes at
 * a fixed concurrency, record a CPU profile of the isolate (the worker and its Durable Objects
 * run in it) over the Chrome DevTools Protocol, and print the functions with the most self and
 * inclusive time. State persists to a fresh temporary directory, as in the benchmarks.
 *
 *   node bench/profile.mjs [--batch 1|10|100] [--concurrency 16] [--seconds 4] [--out profile.cpuprofile]
 *                          [--anonymous]
 *
 * `--anonymous` publishes without credentials: every answer is a 401, the worker's fixed cost
 * (routing, middleware, the error answer) with no crypto and no object.
 *
 * `--connects <n>` profiles WebSocket subscribes instead (issue 11, reconnect storms): n
 * subscribers connect to one topic, 200 upgrades in flight (`--relays <k>` sets the topic's
 * relays first).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from "miniflare";
import { experimental_readRawConfig } from "wrangler";
import { connectInspector } from "./lib/inspector.mjs";
import { HttpClient } from "./lib/http.mjs";
import { makePayload } from "./lib/frames.mjs";
import { closedLoop } from "./lib/load.mjs";
import { nowMs } from "./lib/stats.mjs";
import { repoRoot } from "./lib/servers.mjs";
import { StormClients } from "./lib/storm-clients.mjs";

const { values } = parseArgs({
  options: {
    batch: { type: "string", default: "1" },
    concurrency: { type: "string", default: "16" },
    seconds: { type: "string", default: "4" },
    out: { type: "string" },
    anonymous: { type: "boolean", default: false },
    connects: { type: "string" },
    relays: { type: "string" },
  },
});
const anonymous = values.anonymous;
const batch = Number(values.batch);
const ROOT_KEY = "profile-root-key";
const INSPECTOR_PORT = 9329;

const { rawConfig } = experimental_readRawConfig({ config: path.join(repoRoot, "wrangler.toml") });
const sqlite = new Set((rawConfig.migrations ?? []).flatMap((migration) => migration.new_sqlite_classes ?? []));
const durableObjects = Object.fromEntries(
  (rawConfig.durable_objects?.bindings ?? []).map((binding) => [binding.name, { className: binding.class_name, useSQLite: sqlite.has(binding.class_name) }]),
);
const script = path.join(repoRoot, "dist/index.js");
const persist = mkdtempSync(path.join(tmpdir(), "edgepost-profile-"));
const miniflare = new Miniflare(
  convertV4MiniflareOptions({
    modules: true,
    scriptPath: script,
    modulesRoot: path.dirname(script),
    compatibilityDate: rawConfig.compatibility_date,
    compatibilityFlags: rawConfig.compatibility_flags ?? [],
    durableObjects,
    bindings: { ...(rawConfig.vars ?? {}), EDGEPOST_ROOT_KEY: ROOT_KEY },
    resourcePersistencePath: persist,
    port: 0,
    cf: false,
    inspectorPort: INSPECTOR_PORT,
    log: new Log(LogLevel.WARN),
  }),
);

function summarize(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const interval = (profile.endTime - profile.startTime) / Math.max(1, profile.samples.length) / 1000; // ms per sample
  const name = (node) => `${node.callFrame.functionName || "(anonymous)"} ${path.basename(node.callFrame.url || "")}:${node.callFrame.lineNumber + 1}`;
  const self = new Map();
  const inclusive = new Map();
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  for (const node of profile.nodes) {
    const ms = node.hitCount * interval;
    self.set(name(node), (self.get(name(node)) ?? 0) + ms);
    // Inclusive: add to this frame and every distinct ancestor frame once.
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const key = name(byId.get(id));
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + ms);
    }
  }
  const total = profile.samples.length * interval;
  const top = (map, n) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([key, ms]) => ({ fn: key, ms: Number(ms.toFixed(1)), share: Number((ms / total).toFixed(3)) }));
  return { totalMs: Number(total.toFixed(1)), self: top(self, 25), inclusive: top(inclusive, 40) };
}

try {
  const url = await miniflare.ready;
  const http = new HttpClient(url.origin, { headers: anonymous ? {} : { authorization: `Bearer ${ROOT_KEY}` } });
  const payload = makePayload(256);
  let c = 0;
  const one = () => `{"data":${payload.data(c++, nowMs())}}`;
  const body = () => (batch > 1 ? `{"messages":[${Array.from({ length: batch }, one).join(",")}]}` : one());
  const publish = async () => {
    const response = await http.post("/v1/topics/profiled/messages", body());
    const expected = anonymous ? 401 : 201;
    if (response.status !== expected) throw new Error(`publish answered ${response.status} (expected ${expected}): ${response.text}`);
  };
  const concurrency = Number(values.concurrency);
  await closedLoop({ concurrency, durationMs: 1000, issue: publish });
  const inspector = await connectInspector(`ws://127.0.0.1:${INSPECTOR_PORT}`);
  await inspector.send("Profiler.enable");
  await inspector.send("Profiler.setSamplingInterval", { interval: 100 });
  let what;
  if (values.connects) {
    const count = Number(values.connects);
    const topic = "profiled-connects";
    if (values.relays) await http.put(`/v1/topics/${topic}`, JSON.stringify({ relays: Number(values.relays) }));
    const wsBase = url.origin.replace(/^http/, "ws");
    const clients = new StormClients(count, (_index, after) => `${wsBase}/v1/topics/${topic}/subscribe?token=${ROOT_KEY}${after === null ? "" : `&after=${after}`}`, { resumable: true });
    await inspector.send("Profiler.start");
    const connected = await clients.connectAll({ window: 200 });
    what = `${count} connects in ${(connected.elapsedMs / 1000).toFixed(1)} s (${Math.round(connected.connectsPerSec)}/s, ${connected.retries} retried, ${connected.failures.length} failed)`;
    var { profile } = await inspector.send("Profiler.stop");
    await clients.close();
  } else {
    await inspector.send("Profiler.start");
    const { issued, elapsedMs } = await closedLoop({ concurrency, durationMs: Number(values.seconds) * 1000, issue: publish });
    what = `${issued} requests x ${batch} message(s) in ${(elapsedMs / 1000).toFixed(1)} s`;
    var { profile } = await inspector.send("Profiler.stop");
  }
  inspector.close();
  http.close();
  if (values.out) writeFileSync(values.out, JSON.stringify(profile));
  const summary = summarize(profile);
  process.stdout.write(`target ${inspector.target}; ${what}; profiled ${summary.totalMs} ms of samples\n`);
  process.stdout.write("\nself time (ms, share of samples):\n");
  for (const row of summary.self) process.stdout.write(`  ${row.ms.toFixed(1).padStart(8)}  ${(row.share * 100).toFixed(1).padStart(5)}%  ${row.fn}\n`);
  process.stdout.write("\ninclusive time:\n");
  for (const row of summary.inclusive) process.stdout.write(`  ${row.ms.toFixed(1).padStart(8)}  ${(row.share * 100).toFixed(1).padStart(5)}%  ${row.fn}\n`);
} finally {
  await miniflare.dispose();
  rmSync(persist, { recursive: true, force: true });
}
