#!/usr/bin/env node
/**
 * Serve a bundled baseline worker on workerd through Miniflare, the same way scripts/serve.mjs
 * serves edgepost (same Miniflare, same constructor, persisted state), but with the bindings
 * of the given wrangler config instead of edgepost's:
 *
 *   node bench/serve-bundle.mjs --config <wrangler.json> --script <bundle.js> --persist <dir> [--port 0]
 *
 * Prints `listening on http://127.0.0.1:<port>` when ready; stops when stdin closes or on
 * SIGTERM/SIGINT, so the benchmark runner cannot leave it behind.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from "miniflare";
import { experimental_readRawConfig, unstable_getMiniflareWorkerOptions } from "wrangler";

const { values } = parseArgs({
  options: {
    config: { type: "string" },
    script: { type: "string" },
    persist: { type: "string" },
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
  },
  strict: true,
});
if (!values.config || !values.script || !values.persist) {
  process.stderr.write("usage: node bench/serve-bundle.mjs --config <wrangler.json> --script <bundle.js> --persist <dir> [--port n]\n");
  process.exit(2);
}

const { rawConfig } = experimental_readRawConfig({ config: path.resolve(values.config) });
const sqliteClasses = new Set((rawConfig.migrations ?? []).flatMap((migration) => migration.new_sqlite_classes ?? []));
const durableObjects = {};
for (const binding of rawConfig.durable_objects?.bindings ?? []) {
  durableObjects[binding.name] = { className: binding.class_name, useSQLite: sqliteClasses.has(binding.class_name) };
}
const script = path.resolve(values.script);
// Static assets as wrangler converts them (the assets router in front of the worker), when the
// config has [assets]: a baseline with the same router as edgepost (bench/worker-cost.mjs).
const assets = rawConfig.assets ? unstable_getMiniflareWorkerOptions(path.resolve(values.config)).workerOptions.assets : undefined;

const miniflare = new Miniflare(
  convertV4MiniflareOptions({
    modules: true,
    scriptPath: script,
    modulesRoot: path.dirname(script),
    compatibilityDate: rawConfig.compatibility_date,
    compatibilityFlags: rawConfig.compatibility_flags ?? [],
    durableObjects,
    ...(assets ? { assets } : {}),
    resourcePersistencePath: path.resolve(values.persist),
    host: values.host,
    port: Number(values.port),
    cf: false,
    log: new Log(LogLevel.WARN),
  }),
);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  try {
    await miniflare.dispose();
  } finally {
    process.exit(0);
  }
}
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
process.stdin.on("end", () => void stop());
process.stdin.on("error", () => void stop());
process.stdin.resume();

const url = await miniflare.ready;
process.stdout.write(`listening on ${url.origin}\n`);
