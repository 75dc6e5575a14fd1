/**
 * The servers under test, each a process group pinned to the server core:
 * - edgepost: `npm run build`'s bundle served by scripts/serve.mjs on fresh persisted state;
 * - the baselines and the partyserver peer: bench/baselines bundled by wrangler's dry-run
 *   bundler (the same bundler and settings as edgepost's build) with edgepost's compatibility
 *   date and flags, served by bench/serve-bundle.mjs on fresh persisted state.
 * The runner pins itself (the load generator) to the other core.
 */
import { execFileSync, spawn } from "node:child_process";
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { experimental_readRawConfig } from "wrangler";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const SERVER_CORE = 1;
export const CLIENT_CORE = 0;
export const ROOT_KEY = "bench-root-key";
const READY_TIMEOUT_MS = 60_000;
const CLOCK_TICKS = 100; // USER_HZ on Linux

function hasTaskset() {
  try {
    execFileSync("taskset", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Pin this process (every thread) to the client core; children start elsewhere by taskset. */
export function pinSelf() {
  if (!hasTaskset()) return { pinned: false, note: "taskset not found: server and load generator share cores" };
  execFileSync("taskset", ["-a", "-p", "-c", String(CLIENT_CORE), String(process.pid)], { stdio: "ignore" });
  return { pinned: true, clientCore: CLIENT_CORE, serverCore: SERVER_CORE };
}

function run(command, args, options = {}) {
  execFileSync(command, args, { cwd: repoRoot, stdio: ["ignore", "ignore", "pipe"], ...options });
}

export function buildEdgepost() {
  run("npm", ["run", "build", "--silent"]);
  return path.join(repoRoot, "dist/index.js");
}

/** Bundle bench/baselines with wrangler's dry-run, with edgepost's compatibility settings. */
export function bundleBaselines(workDir) {
  const { rawConfig } = experimental_readRawConfig({ config: path.join(repoRoot, "wrangler.toml") });
  const config = {
    name: "edgepost-bench-baselines",
    main: path.join(repoRoot, "bench/baselines/worker.ts"),
    compatibility_date: rawConfig.compatibility_date,
    compatibility_flags: rawConfig.compatibility_flags ?? [],
    durable_objects: {
      bindings: [
        { name: "BASE", class_name: "BaselineObject" },
        { name: "Room", class_name: "Room" },
        // edgepost's own objects, for the probes (bench/baselines/probe.ts)
        { name: "TOPIC", class_name: "TopicObject" },
        { name: "QUEUE", class_name: "QueueObject" },
        { name: "DIRECTORY", class_name: "DirectoryObject" },
        { name: "TOPIC_APPEND_ONLY", class_name: "TopicAppendOnly" },
      ],
    },
    migrations: [{ tag: "v1", new_sqlite_classes: ["BaselineObject", "Room", "TopicObject", "QueueObject", "DirectoryObject", "TopicAppendOnly"] }],
  };
  const configPath = path.join(workDir, "wrangler.json");
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const outDir = path.join(workDir, "dist");
  run("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outDir, "--config", configPath], { env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  return { configPath, script: path.join(outDir, "worker.js"), compatibilityDate: config.compatibility_date };
}

/** Sum of user+system CPU seconds of every process in a process group (from /proc). */
export function groupCpuSeconds(pgid) {
  let ticks = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) !== pgid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICKS;
}

/** Resident memory (bytes) of every process in a process group (from /proc). */
export function groupRssBytes(pgid) {
  const pageBytes = 4096;
  let pages = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) !== pgid) continue;
      pages += Number(readFileSync(`/proc/${entry}/statm`, "utf8").split(" ")[1]);
    } catch {
      // Gone meanwhile.
    }
  }
  return pages * pageBytes;
}

class Server {
  constructor(name, child, persistDir) {
    this.name = name;
    this.child = child;
    this.persistDir = persistDir;
    this.output = "";
    child.stdout.on("data", (chunk) => (this.output = (this.output + chunk).slice(-4000)));
    child.stderr.on("data", (chunk) => (this.output = (this.output + chunk).slice(-4000)));
  }

  get pgid() {
    return this.child.pid;
  }

  ready(pattern) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} not ready after ${READY_TIMEOUT_MS} ms:\n${this.output}`)), READY_TIMEOUT_MS);
      const check = () => {
        const match = pattern.exec(this.output);
        if (match) {
          clearTimeout(timer);
          this.child.stdout.off("data", check);
          resolve(match[1]);
        }
      };
      this.child.stdout.on("data", check);
      this.child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited with ${code} before it was ready:\n${this.output}`));
      });
    });
  }

  /** Close stdin (the servers stop on it), then TERM and KILL the group if it lingers. */
  async stop() {
    const exited = new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve();
      else this.child.once("exit", resolve);
    });
    this.child.stdin.end();
    const signal = (name) => {
      try {
        process.kill(-this.pgid, name);
      } catch {
        // Gone already.
      }
    };
    const term = setTimeout(() => signal("SIGTERM"), 3000);
    const kill = setTimeout(() => signal("SIGKILL"), 6000);
    await exited;
    clearTimeout(term);
    clearTimeout(kill);
    signal("SIGKILL"); // workerd children, if any survived their parent
    rmSync(this.persistDir, { recursive: true, force: true });
  }
}

/** Where the servers keep their state: a fresh directory under this, per server and run. */
let stateRoot = tmpdir();
export function setStateRoot(dir) {
  stateRoot = path.resolve(dir);
}

/**
 * Latency of a 4 KiB write + fsync where the state lives: one object's durable commits are
 * bounded by it (SQLite syncs its WAL on commit), so it explains absolute publish rates.
 */
export function fsyncProbe(samples = 50) {
  const dir = mkdtempSync(path.join(stateRoot, "edgepost-bench-fsync-"));
  const fd = openSync(path.join(dir, "probe"), "w");
  const block = Buffer.alloc(4096, 1);
  const times = [];
  try {
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      writeSync(fd, block);
      fsyncSync(fd);
      times.push(performance.now() - started);
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  times.sort((a, b) => a - b);
  const at = (p) => Number(times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))].toFixed(3));
  return { stateRoot, samples, p50Ms: at(50), p99Ms: at(99) };
}

function startPinned(name, args) {
  const persistDir = mkdtempSync(path.join(stateRoot, `edgepost-bench-${name}-`));
  const command = hasTaskset() ? "taskset" : process.execPath;
  const fullArgs = hasTaskset() ? ["-c", String(SERVER_CORE), process.execPath, ...args(persistDir)] : args(persistDir);
  const child = spawn(command, fullArgs, { cwd: repoRoot, detached: true, stdio: ["pipe", "pipe", "pipe"] });
  return new Server(name, child, persistDir);
}

export async function startEdgepost() {
  const server = startPinned("edgepost", (persist) => [
    "scripts/serve.mjs", "--port", "0", "--persist", persist, "--root-key", ROOT_KEY, "--exit-with-stdin",
  ]);
  server.url = await server.ready(/edgepost listening on (http:\/\/\S+)/);
  return server;
}

/**
 * `npm start` as a user runs it (prestart builds, then scripts/serve.mjs), pinned like the
 * others, on a fresh state directory instead of .wrangler/state and a free port. Its root key
 * is npm start's default, `dev-root-key`.
 */
export const NPM_START_ROOT_KEY = "dev-root-key";
export async function startNpmStart() {
  const persistDir = mkdtempSync(path.join(stateRoot, "edgepost-bench-npm-start-"));
  const args = ["start", "--", "--port", "0", "--persist-to", persistDir, "--exit-with-stdin"];
  const env = { ...process.env };
  delete env.EDGEPOST_ROOT_KEY;
  const child = hasTaskset()
    ? spawn("taskset", ["-c", String(SERVER_CORE), "npm", ...args], { cwd: repoRoot, env, detached: true, stdio: ["pipe", "pipe", "pipe"] })
    : spawn("npm", args, { cwd: repoRoot, env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
  const server = new Server("npm start", child, persistDir);
  server.url = await server.ready(/edgepost listening on (http:\/\/\S+)/);
  return server;
}

/**
 * The baseline bundle behind the same static-assets router as edgepost: wrangler.toml's
 * [assets] directory, and its `run_worker_first` patterns plus the bare route and the
 * partyserver room, so `POST /bare` and the room take the path edgepost's API requests take.
 * Like for like for `edgepost_401` (issue 10) and the reconnect storm (issue 11).
 */
export function withEdgepostAssets(bundle) {
  const { rawConfig } = experimental_readRawConfig({ config: path.join(repoRoot, "wrangler.toml") });
  if (!rawConfig.assets) return null;
  const config = JSON.parse(readFileSync(bundle.configPath, "utf8"));
  const runWorkerFirst = rawConfig.assets.run_worker_first;
  config.assets = {
    directory: path.resolve(repoRoot, rawConfig.assets.directory),
    ...(Array.isArray(runWorkerFirst) ? { run_worker_first: ["/bare", "/parties/*", ...runWorkerFirst] } : runWorkerFirst !== undefined ? { run_worker_first: runWorkerFirst } : {}),
  };
  const configPath = bundle.configPath.replace(/\.json$/, ".assets.json");
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  return { ...bundle, configPath, assets: config.assets };
}

export async function startBaselines(bundle, name = "baselines") {
  const server = startPinned(name, (persist) => [
    "bench/serve-bundle.mjs", "--config", bundle.configPath, "--script", bundle.script, "--persist", persist, "--port", "0",
  ]);
  server.url = await server.ready(/listening on (http:\/\/\S+)/);
  return server;
}
