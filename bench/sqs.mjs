#!/usr/bin/env node
/**
 * SQS endpoint throughput beside the native HTTP API's (issue 13), one run, as ratios:
 * - send: SendMessageBatch of 10 through @aws-sdk/client-sqs vs POST /v1/queues/{q}/messages
 *   with a batch of 10, closed loop at the same concurrency;
 * - consume: ReceiveMessage (10) + DeleteMessageBatch vs POST /pull (max 10) + POST /ack, on a
 *   queue filled beforehand, closed loop at the same concurrency.
 * The bundled worker (`npm run build` first) is served by scripts/serve.mjs on core 1 (taskset)
 * and this process runs on core 0, as bench/run.mjs does. Payload: 256-byte bodies.
 *
 *   node bench/sqs.mjs [--seconds 5] [--concurrency 8] [--rounds 3]   (ratios: median over rounds)
 */
import { SendMessageBatchCommand, ReceiveMessageCommand, DeleteMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { spawn, execFileSync } from "node:child_process";
import { Agent, request as httpRequest } from "node:http";
import { parseArgs } from "node:util";
import { NodeHttpHandler } from "@smithy/node-http-handler";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "5" }, concurrency: { type: "string", default: "8" }, rounds: { type: "string", default: "3" } } });
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);
const ROOT_KEY = "bench-root-key";
const BODY = "x".repeat(256);

function pin() {
  try {
    execFileSync("taskset", ["-a", "-p", "-c", "0", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

async function startServer() {
  const child = spawn("taskset", ["-c", "1", process.execPath, "scripts/serve.mjs", "--port", "0", "--root-key", ROOT_KEY], { stdio: ["ignore", "pipe", "inherit"], detached: true });
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

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** A native API call on the same keep-alive node:http agent the SDK uses (a like-for-like client). */
function native(url, method, path, body) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = httpRequest(url + path, { method, agent, headers: { authorization: `Bearer ${ROOT_KEY}`, "content-type": "application/json", ...(payload ? { "content-length": Buffer.byteLength(payload) } : {}) } }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => (response.statusCode >= 300 ? reject(new Error(`${method} ${path}: ${response.statusCode} ${text}`)) : resolve(JSON.parse(text))));
    });
    request.on("error", reject);
    request.end(payload);
  });
}

/** Run `step` (returns messages handled) in `CONCURRENCY` closed loops for SECONDS; msgs/s. */
async function closedLoop(step) {
  const deadline = performance.now() + SECONDS * 1000;
  let messages = 0;
  let requests = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const { handled, calls } = await step();
        messages += handled;
        requests += calls;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  // Cores this load generator used: near 1.0 means the client, not the server, set the pace.
  const clientCores = +((cpu.user + cpu.system) / 1e6 / elapsed).toFixed(2);
  return { msgsPerSecond: Math.round(messages / elapsed), requestsPerSecond: Math.round(requests / elapsed), messages, clientCores };
}

async function fill(url, queue, count) {
  for (let sent = 0; sent < count; sent += 100) {
    await native(url, "POST", `/v1/queues/${queue}/messages`, { messages: Array.from({ length: 100 }, () => ({ data: BODY })) });
  }
}

const pinned = pin();
const server = await startServer();
const sqs = new SQSClient({
  endpoint: `${server.url}/sqs`,
  region: "us-east-1",
  credentials: { accessKeyId: "root", secretAccessKey: ROOT_KEY },
  requestHandler: new NodeHttpHandler({ httpAgent: agent }),
});
try {
  const run = Date.now().toString(36);
  const entries = Array.from({ length: 10 }, (_, index) => ({ Id: `m${index}`, MessageBody: BODY }));
  // Warm both paths (isolate, objects).
  await native(server.url, "POST", `/v1/queues/warm-${run}/messages`, { messages: [{ data: BODY }] });
  await sqs.send(new SendMessageBatchCommand({ QueueUrl: `${server.url}/sqs/000000000000/warm-${run}`, Entries: entries }));

  // Rounds alternate the two APIs so that both see the same neighbours; ratios are per round.
  const rounds = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const tag = `${run}-${round}`;
    const r = {};
    const nativeQueue = `send-native-${tag}`;
    r.send_native = await closedLoop(async () => {
      await native(server.url, "POST", `/v1/queues/${nativeQueue}/messages`, { messages: entries.map(() => ({ data: BODY })) });
      return { handled: 10, calls: 1 };
    });
    const sqsQueueUrl = `${server.url}/sqs/000000000000/send-sqs-${tag}`;
    r.send_sqs = await closedLoop(async () => {
      const answer = await sqs.send(new SendMessageBatchCommand({ QueueUrl: sqsQueueUrl, Entries: entries }));
      if (answer.Successful.length !== 10) throw new Error("batch not fully sent");
      return { handled: 10, calls: 1 };
    });
    // Consume: queues filled with more than a run can take.
    const fillCount = Math.max(1000, Math.ceil((Math.max(r.send_native.msgsPerSecond, r.send_sqs.msgsPerSecond) * SECONDS * 1.5) / 100) * 100);
    const nativeConsume = `consume-native-${tag}`;
    const sqsConsume = `consume-sqs-${tag}`;
    await fill(server.url, nativeConsume, fillCount);
    await fill(server.url, sqsConsume, fillCount);
    r.consume_native = await closedLoop(async () => {
      const { messages } = await native(server.url, "POST", `/v1/queues/${nativeConsume}/pull`, { max: 10 });
      if (messages.length === 0) return { handled: 0, calls: 1 };
      await native(server.url, "POST", `/v1/queues/${nativeConsume}/ack`, { leaseIds: messages.map((m) => m.leaseId) });
      return { handled: messages.length, calls: 2 };
    });
    const consumeUrl = `${server.url}/sqs/000000000000/${sqsConsume}`;
    r.consume_sqs = await closedLoop(async () => {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: consumeUrl, MaxNumberOfMessages: 10 }));
      if (Messages.length === 0) return { handled: 0, calls: 1 };
      const done = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: consumeUrl, Entries: Messages.map((m, index) => ({ Id: `d${index}`, ReceiptHandle: m.ReceiptHandle })) }));
      if ((done.Failed ?? []).length > 0) throw new Error("delete failed");
      return { handled: Messages.length, calls: 2 };
    });
    r.ratios = {
      sqs_send_batch10_vs_native: +(r.send_sqs.msgsPerSecond / r.send_native.msgsPerSecond).toFixed(2),
      sqs_receive_delete_vs_native_pull_ack: +(r.consume_sqs.msgsPerSecond / r.consume_native.msgsPerSecond).toFixed(2),
    };
    rounds.push(r);
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
  const ratios = Object.fromEntries(Object.keys(rounds[0].ratios).map((key) => [key, median(rounds.map((r) => r.ratios[key]))]));
  const results = rounds;
  console.log(JSON.stringify({ seconds: SECONDS, concurrency: CONCURRENCY, rounds: ROUNDS, pinned, loadavg: (await import("node:os")).loadavg(), results, ratios }, null, 2));
} finally {
  sqs.destroy();
  server.stop();
}
