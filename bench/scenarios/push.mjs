#!/usr/bin/env node
/**
 * Push queues (issue 12), one run: the served worker POSTs to a Node receiver in this process
 * that answers 200 at once.
 * - throughput: N messages enqueued while push is off, then push switched on with
 *   maxConcurrency c: acked msgs/s from the switch until the queue's stats show all acked;
 * - latency: c producers each enqueue one message, wait for the receiver to get it, repeat, for
 *   a few seconds: enqueue send to the receiver's 2xx, p50/p99 (HDR).
 * Run for c = 1 and 10. Correctness: every message reaches the receiver, none twice.
 * The bundled worker (`npm run build` first) runs on core 1 (taskset), this process on core 0.
 *
 *   node bench/scenarios/push.mjs [--messages 2000] [--seconds 5]
 */
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { histogram, nowMs, recordMs, summarize } from "../lib/stats.mjs";

const { values } = parseArgs({ options: { messages: { type: "string", default: "2000" }, seconds: { type: "string", default: "5" } } });
const MESSAGES = Number(values.messages);
const SECONDS = Number(values.seconds);
const ROOT_KEY = "bench-root-key";
const CONCURRENCIES = [1, 10];

try {
  execFileSync("taskset", ["-a", "-p", "-c", "0", String(process.pid)], { stdio: "ignore" });
} catch {
  console.warn("taskset unavailable: client and server share cores");
}

async function startServer() {
  const args = ["-c", "1", process.execPath, "scripts/serve.mjs", "--port", "0", "--root-key", ROOT_KEY, "--var", "PUSH_ALLOW_HTTP=true"];
  const child = spawn("taskset", args, { stdio: ["ignore", "pipe", "inherit"], detached: true });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = /edgepost listening on (\S+)/.exec(out);
      if (match) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
  return { url, stop: () => process.kill(-child.pid, "SIGKILL") };
}

/** The receiver: answers 200 at once and reports each message (its `data`) to `onMessage`. */
async function startReceiver(onMessage) {
  const server = createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      response.writeHead(200).end();
      onMessage(JSON.parse(Buffer.concat(chunks).toString("utf8")).data, nowMs());
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/hook`, close: () => new Promise((resolve) => server.close(resolve)) };
}

async function api(url, method, path, body) {
  const response = await fetch(url + path, { method, headers: { authorization: `Bearer ${ROOT_KEY}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

async function waitFor(condition, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function throughput(url, receiver, state, concurrency) {
  const queue = `bench-push-tp-${concurrency}-${Date.now()}`;
  for (let sent = 0; sent < MESSAGES; sent += 100) {
    await api(url, "POST", `/v1/queues/${queue}/messages`, { messages: Array.from({ length: Math.min(100, MESSAGES - sent) }, (_, n) => ({ data: { q: queue, n: sent + n } })) });
  }
  state.seen = new Map();
  const started = nowMs();
  await api(url, "PUT", `/v1/queues/${queue}`, { push: { url: receiver.url, maxConcurrency: concurrency, timeoutSeconds: 30 } });
  let acked = 0;
  await waitFor(async () => (acked = (await api(url, "GET", `/v1/queues/${queue}`)).acked) >= MESSAGES, 600_000, `${MESSAGES} acked`);
  const seconds = (nowMs() - started) / 1000;
  const twice = [...state.seen.values()].filter((times) => times > 1).length;
  return { ackedPerSec: Math.round(MESSAGES / seconds), seconds: Number(seconds.toFixed(2)), delivered: state.seen.size, deliveredTwice: twice };
}

async function latency(url, receiver, state, concurrency) {
  const queue = `bench-push-lat-${concurrency}-${Date.now()}`;
  await api(url, "PUT", `/v1/queues/${queue}`, { push: { url: receiver.url, maxConcurrency: concurrency, timeoutSeconds: 30 } });
  const hist = histogram();
  state.waiting = new Map();
  const deadline = nowMs() + SECONDS * 1000;
  let counter = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (nowMs() < deadline) {
        const key = `${queue}:${counter++}`;
        const sentAt = nowMs();
        const arrived = new Promise((resolve) => state.waiting.set(key, resolve));
        await api(url, "POST", `/v1/queues/${queue}/messages`, { data: { key } });
        recordMs(hist, (await arrived) - sentAt);
      }
    }),
  );
  return summarize(hist);
}

const server = await startServer();
const state = { seen: new Map(), waiting: new Map() };
const receiver = await startReceiver((data, at) => {
  if (data?.key !== undefined) {
    state.waiting.get(data.key)?.(at);
    state.waiting.delete(data.key);
  } else state.seen.set(`${data.q}:${data.n}`, (state.seen.get(`${data.q}:${data.n}`) ?? 0) + 1);
});
const results = { messages: MESSAGES, seconds: SECONDS, runs: [] };
try {
  for (const concurrency of CONCURRENCIES) {
    const tp = await throughput(server.url, receiver, state, concurrency);
    const lat = await latency(server.url, receiver, state, concurrency);
    results.runs.push({ concurrency, ...tp, enqueueTo2xx: lat });
    console.log(`push c=${concurrency}: ${tp.ackedPerSec} acked msgs/s (${MESSAGES} in ${tp.seconds} s, ${tp.delivered} delivered, ${tp.deliveredTwice} twice); enqueue->2xx p50 ${lat.p50} ms p99 ${lat.p99} ms (n=${lat.count})`);
  }
} finally {
  server.stop();
  await receiver.close();
}
console.log(JSON.stringify(results));
