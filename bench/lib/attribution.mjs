/**
 * Which object did the work: a CPU profile of edgepost's isolate split by where each sample's
 * stack starts. The worker, every topic and every relay run in one isolate here, but each RPC,
 * fetch, timer and continuation starts a fresh stack, and its outermost frame in the bundle
 * (dist/index.js, whose `// src/...` comments mark each module) tells whose work it is:
 *
 *   topic   src/topic/*, src/commit/* (group commit), src/relay/feed.ts (the topic's feeds),
 *           src/partition/object-side.ts
 *   relay   src/relay/relay-object.ts, relay-fanout.ts, stream.ts
 *   worker  src/http/*, src/index.ts, src/operations/*, src/partition/* (routing), hono, zod
 *
 * Samples with no frame of the bundle (garbage collection, the runtime's own C++ "(program)",
 * idle) are reported apart. Sampling is statistical: at 200 us a second of busy isolate is
 * 5,000 samples.
 *
 * Shares, not the profile's own milliseconds, carry the result: on a shared core the sampler
 * loses samples while the thread waits for the CPU, so sample count x interval is not CPU
 * time. `cpuSplit` spreads the server's measured CPU (its process group, from /proc) over the
 * owners by their share of the non-idle samples.
 */
import { readFileSync } from "node:fs";

const TOPIC = [/^src\/topic\//, /^src\/commit\//, /^src\/relay\/feed\.ts$/, /^src\/partition\/object-side\.ts$/];
const RELAY = [/^src\/relay\/relay-object\.ts$/, /^src\/relay\/relay-fanout\.ts$/, /^src\/relay\/stream\.ts$/];

/** Line ranges of the bundle's modules, from its `// src/...` and `// node_modules/...` markers. */
export function bundleModules(bundlePath) {
  const starts = [];
  readFileSync(bundlePath, "utf8")
    .split("\n")
    .forEach((line, index) => {
      const match = /^\/\/ ((?:src|node_modules)\/\S+)$/.exec(line);
      if (match) starts.push({ line: index, module: match[1] });
    });
  return (zeroBasedLine) => {
    let low = 0;
    let high = starts.length - 1;
    let found = null;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (starts[mid].line <= zeroBasedLine) {
        found = starts[mid].module;
        low = mid + 1;
      } else high = mid - 1;
    }
    return found;
  };
}

export function classify(module) {
  if (!module) return "unknown";
  if (TOPIC.some((pattern) => pattern.test(module))) return "topic";
  if (RELAY.some((pattern) => pattern.test(module))) return "relay";
  return "worker";
}

/**
 * Milliseconds of samples per owner (topic, relay, worker, gc, runtime, idle) and per module
 * of the outermost frame, for a V8 CPU profile of the isolate.
 */
export function attribute(profile, moduleAt, bundleName = "index.js") {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const owner = new Map();
  const outerModule = new Map();
  for (const node of profile.nodes) {
    // The frame closest to the root that lies in the bundle.
    let outer = null;
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id).callFrame;
      if (frame.url && frame.url.endsWith(bundleName)) outer = frame;
    }
    const name = node.callFrame.functionName;
    if (outer) {
      const module = moduleAt(outer.lineNumber);
      owner.set(node.id, classify(module));
      outerModule.set(node.id, module);
    } else owner.set(node.id, name === "(garbage collector)" ? "gc" : name === "(idle)" ? "idle" : "runtime");
  }
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const msPerSample = (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.samples.length);
  const owners = {};
  const modules = {};
  for (const [id, count] of counts) {
    const ms = count * msPerSample;
    const who = owner.get(id) ?? "unknown";
    owners[who] = (owners[who] ?? 0) + ms;
    const module = outerModule.get(id);
    if (module) modules[module] = (modules[module] ?? 0) + ms;
  }
  const round1 = (value) => Math.round(value * 10) / 10;
  return {
    totalMs: round1(profile.samples.length * msPerSample),
    owners: Object.fromEntries(Object.entries(owners).map(([key, value]) => [key, round1(value)])),
    modules: Object.fromEntries(Object.entries(modules).sort((a, b) => b[1] - a[1]).slice(0, 15).map(([key, value]) => [key, round1(value)])),
  };
}

/** The server's measured CPU (ms) split over owners by their share of the busy (non-idle) samples. */
export function cpuSplit(split, serverCpuMs) {
  const busy = Object.entries(split.owners).filter(([owner]) => owner !== "idle").reduce((sum, [, ms]) => sum + ms, 0);
  return Object.fromEntries(Object.entries(split.owners).filter(([owner]) => owner !== "idle").map(([owner, ms]) => [owner, busy > 0 ? (ms / busy) * serverCpuMs : 0]));
}
