#!/usr/bin/env node
/**
 * Serve the bundled worker (dist/index.js, from `npm run build`) on local workerd through
 * Miniflare's programmatic API: no wrangler dev proxy in front, so end-to-end tests and
 * benchmarks talk to the worker itself.
 *
 *   node scripts/serve.mjs [--port 8787] [--host 127.0.0.1] [--persist <dir> | --persist-to <dir>]
 *                          [--root-key <key>] [--var NAME=value ...] [--exit-with-stdin]
 *                          [--inspector-port <n>]
 *
 * Options fall back to environment variables: PORT, HOST, EDGEPOST_PERSIST_DIR,
 * EDGEPOST_ROOT_KEY. `--port 0` picks a free port. `--persist <dir>` keeps the state in <dir>
 * itself; `--persist-to <dir>` keeps it in <dir>/v3, the layout of `wrangler dev --persist-to`,
 * so `npm start` (this script) and `npm run dev` (wrangler dev) share `.wrangler/state`. Without
 * either the state lives in a temporary directory and is gone when the server stops. `--var`
 * adds a plain-text variable (repeatable), as `wrangler dev --var` does.
 *
 * Bindings (Durable Objects, SQLite-backed per the migrations; rate limiters; vars) and the
 * compatibility date come from wrangler.toml. When ready it prints exactly one line:
 *   edgepost listening on http://127.0.0.1:<port>
 * SIGTERM or SIGINT disposes Miniflare (which stops workerd) and exits. With
 * `--exit-with-stdin` it also stops when its stdin closes: a parent that holds the other end of
 * a pipe (a test harness) cannot leave the server behind, even if it is killed itself.
 * `--inspector-port` (0 for a free one) opens workerd's V8 inspector and prints, before the
 * ready line, `edgepost inspector on ws://127.0.0.1:<port>` (the soak reads the isolate's heap).
 *
 * Open files: workerd holds two descriptors per connection, so many WebSockets need a high
 * open-file limit; scripts/fd-limit.mjs raises it where it may and warns on stderr when fewer
 * than 10,000 connections fit (issue 11).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from "miniflare";
import { experimental_readRawConfig, unstable_getMiniflareWorkerOptions } from "wrangler";
import { prepareOpenFiles } from "./fd-limit.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function fail(message) {
  process.stderr.write(`serve: ${message}\n`);
  process.exit(2);
}

function readOptions() {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      host: { type: "string" },
      persist: { type: "string" },
      "persist-to": { type: "string" },
      "root-key": { type: "string" },
      var: { type: "string", multiple: true },
      script: { type: "string" },
      "exit-with-stdin": { type: "boolean" },
      "inspector-port": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      "usage: node scripts/serve.mjs [--port n] [--host h] [--persist dir | --persist-to dir] [--root-key key] [--var NAME=value ...] [--script dist/index.js] [--exit-with-stdin] [--inspector-port n]\n",
    );
    process.exit(0);
  }
  const portText = values.port ?? process.env.PORT ?? "8787";
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid port: ${portText}`);
  if (values.persist && values["persist-to"]) fail("give --persist or --persist-to, not both");
  // wrangler dev keeps Miniflare's state in <persist-to>/v3 (wrangler 4.164, getDefaultPersistRoot).
  const persist = values["persist-to"] ? path.join(values["persist-to"], "v3") : (values.persist ?? process.env.EDGEPOST_PERSIST_DIR);
  const vars = {};
  for (const entry of values.var ?? []) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(entry);
    if (!match) fail(`invalid --var ${entry}: use NAME=value`);
    vars[match[1]] = match[2];
  }
  const inspectorPort = values["inspector-port"] === undefined ? undefined : Number(values["inspector-port"]);
  if (inspectorPort !== undefined && (!Number.isInteger(inspectorPort) || inspectorPort < 0 || inspectorPort > 65535)) fail(`invalid inspector port: ${values["inspector-port"]}`);
  return {
    vars,
    inspectorPort,
    port,
    host: values.host ?? process.env.HOST ?? "127.0.0.1",
    persist: persist ? path.resolve(persist) : undefined,
    wranglerLayout: Boolean(values["persist-to"]),
    vars,
    rootKey: values["root-key"] ?? process.env.EDGEPOST_ROOT_KEY ?? "dev-root-key",
    script: path.resolve(root, values.script ?? "dist/index.js"),
    exitWithStdin: values["exit-with-stdin"] ?? false,
  };
}

/**
 * The worker's bindings and compatibility settings from wrangler.toml, converted by wrangler
 * itself (the same conversion `wrangler dev` uses): Durable Objects with SQLite per the
 * migrations, rate limiters, vars, compatibility date and flags.
 */
function readWorkerOptions({ wranglerLayout }) {
  const configPath = path.join(root, "wrangler.toml");
  const { workerOptions } = unstable_getMiniflareWorkerOptions(configPath);
  if (!workerOptions.compatibilityDate) fail("wrangler.toml has no compatibility_date");
  // The bundle is one self-contained module: no rules for finding others (and Miniflare 5's
  // v4 converter refuses them).
  const { modulesRules: _unused, ...rest } = workerOptions;
  if (!wranglerLayout) return rest;
  // With --persist-to, the worker's name as wrangler dev gives it: Durable Object state is
  // stored per `<worker name>-<class>` (unnamed: `-<class>`, the layout the e2e tests read),
  // so both find the same objects in a shared state directory.
  const { rawConfig } = experimental_readRawConfig({ config: configPath });
  return { ...rest, name: rawConfig.name };
}

async function main() {
  const options = readOptions();
  if (!existsSync(options.script)) fail(`${path.relative(process.cwd(), options.script)} not found: run \`npm run build\` first`);
  const worker = readWorkerOptions(options);
  // Before workerd starts: it inherits this process's limit.
  prepareOpenFiles((message) => process.stderr.write(`serve: ${message}\n`));

  const miniflare = new Miniflare(
    convertV4MiniflareOptions({
      ...worker,
      rootPath: root,
      modules: true,
      scriptPath: options.script,
      bindings: { ...worker.bindings, ...options.vars, EDGEPOST_ROOT_KEY: options.rootKey },
      resourcePersistencePath: options.persist,
      host: options.host,
      port: options.port,
      // The placeholder `Request.cf`: no fetch of the real one from the network at startup.
      cf: false,
      // Warnings and errors (including uncaught errors in the worker) go to stderr.
      log: new Log(LogLevel.WARN),
      ...(options.inspectorPort === undefined ? {} : { inspectorPort: options.inspectorPort }),
    }),
  );

  let stopping = false;
  const stop = async (reason) => {
    if (stopping) return;
    stopping = true;
    try {
      await miniflare.dispose();
    } finally {
      process.exit(reason === "SIGINT" ? 130 : 0);
    }
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  if (options.exitWithStdin) {
    process.stdin.on("end", () => void stop("stdin closed"));
    process.stdin.on("error", () => void stop("stdin closed"));
    process.stdin.resume();
  }

  let url;
  try {
    url = await miniflare.ready;
  } catch (error) {
    // Told to stop while starting: `stop` is disposing and will exit.
    if (stopping) return;
    throw error;
  }
  if (options.inspectorPort !== undefined) process.stdout.write(`edgepost inspector on ${(await miniflare.getInspectorURL()).href}\n`);
  process.stdout.write(`edgepost listening on ${url.origin}\n`);
}

main().catch((error) => {
  process.stderr.write(`serve: ${error?.stack ?? error}\n`);
  process.exit(1);
});
