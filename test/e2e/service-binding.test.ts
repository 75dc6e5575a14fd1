/**
 * The service binding: a second Worker bound to edgepost's `EdgepostService` entrypoint
 * (`services = [{ binding = "EDGEPOST", service = "edgepost", entrypoint = "EdgepostService" }]`),
 * both served by one Miniflare (two workers, real workerd, the bundled dist/index.js). The
 * consumer publishes, enqueues, reads history and stats through the binding, with no
 * credentials, and gets what the HTTP API answers; errors carry the same codes.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "./clients";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ROOT_KEY = "service-test-root-key";

/** The other Worker: calls a method of its EDGEPOST binding and reports the result or the error. */
const CONSUMER = `
export default {
  async fetch(request, env) {
    const { method, args } = await request.json();
    try {
      return Response.json({ ok: true, value: await env.EDGEPOST[method](...args) });
    } catch (error) {
      return Response.json({ ok: false, code: error.code ?? null, status: error.status ?? null, message: String(error.message) });
    }
  },
};`;

type Called<T> = { ok: true; value: T } | { ok: false; code: string | null; status: number | null; message: string };

let miniflare: Miniflare;

beforeAll(async () => {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(root, "wrangler.toml"));
  const { modulesRules: _unused, ...edgepost } = workerOptions;
  miniflare = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      cf: false,
      log: new Log(LogLevel.WARN),
      workers: [
        {
          ...edgepost,
          name: "edgepost",
          rootPath: root,
          modules: true,
          scriptPath: path.join(root, "dist/index.js"),
          bindings: { ...(edgepost.bindings as Record<string, unknown> | undefined), EDGEPOST_ROOT_KEY: ROOT_KEY },
        },
        {
          name: "consumer",
          modules: true,
          script: CONSUMER,
          compatibilityDate: edgepost.compatibilityDate,
          serviceBindings: { EDGEPOST: { name: "edgepost", entrypoint: "EdgepostService" } },
        },
      ],
    } as Parameters<typeof convertV4MiniflareOptions>[0]),
  );
  await miniflare.ready;
});

afterAll(async () => {
  await miniflare?.dispose();
});

async function viaBinding<T>(method: string, ...args: unknown[]): Promise<Called<T>> {
  const consumer = await miniflare.getWorker("consumer");
  const response = await consumer.fetch("http://consumer/", { method: "POST", body: JSON.stringify({ method, args }) });
  return (await response.json()) as Called<T>;
}

async function ok<T>(method: string, ...args: unknown[]): Promise<T> {
  const called = await viaBinding<T>(method, ...args);
  if (!called.ok) throw new Error(`${method} through the binding failed: ${JSON.stringify(called)}`);
  return called.value;
}

async function viaHttp<T>(method: string, pathname: string, body?: unknown, auth: string | null = ROOT_KEY): Promise<{ status: number; body: T }> {
  const response = await miniflare.dispatchFetch(`http://edgepost.test${pathname}`, {
    method,
    headers: { ...(auth === null ? {} : { authorization: `Bearer ${auth}` }), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

describe("EdgepostService binding", () => {
  it("publishes single and batch messages with no credentials; history matches the HTTP answer", async () => {
    const topic = uniqueName("svc-topic");
    expect((await viaHttp("POST", `/v1/topics/${topic}/messages`, { data: 1 }, null)).status).toBe(401);

    expect(await ok("publish", topic, { data: { n: 1 }, id: "one", attributes: { k: "v" } })).toEqual({ seq: 1, id: "one" });
    const batch = await ok<{ messages: { seq: number; id: string }[] }>("publish", topic, { messages: [{ data: "two" }, { data: null }] });
    expect(batch.messages.map((message) => message.seq)).toEqual([2, 3]);
    expect(await ok("publish", topic, { data: "again", id: "one" })).toEqual({ seq: 1, id: "one", duplicate: true });

    const http = await viaHttp<{ messages: unknown[]; lastSeq: number }>("GET", `/v1/topics/${topic}/messages?after=1&limit=5`);
    expect(await ok("history", topic, { after: 1, limit: 5 })).toEqual(http.body);
    const all = await ok<{ messages: { data: unknown; attributes: Record<string, string> }[]; lastSeq: number }>("history", topic);
    expect(all.messages.map((message) => message.data)).toEqual([{ n: 1 }, "two", null]);
    expect(all.messages[0]!.attributes).toEqual({ k: "v" });
    expect(all.lastSeq).toBe(3);
  });

  it("enqueues (delays and ids included) to what HTTP consumers pull, and reports the same stats", async () => {
    const queue = uniqueName("svc-queue");
    const first = await ok<{ seq: number; id: string }>("enqueue", queue, { data: "now", id: "job-1" });
    expect(first).toEqual({ seq: 1, id: "job-1" });
    await ok("enqueue", queue, { messages: [{ data: "later", delaySeconds: 600 }] });
    expect(await ok("enqueue", queue, { data: "dup", id: "job-1" })).toEqual({ seq: 1, id: "job-1", duplicate: true });

    const pulled = await viaHttp<{ messages: { id: string; data: unknown }[] }>("POST", `/v1/queues/${queue}/pull`, { max: 10 });
    expect(pulled.body.messages.map((message) => [message.id, message.data])).toEqual([["job-1", "now"]]);

    const stats = await ok<Record<string, unknown>>("stats", "queue", queue);
    const http = await viaHttp<Record<string, unknown>>("GET", `/v1/queues/${queue}`);
    expect(stats).toMatchObject({ name: queue, ready: 0, inFlight: 1, delayed: 1, enqueued: 2 });
    const { oldestAgeSeconds: _a, ...stable } = stats;
    const { oldestAgeSeconds: _b, ...stableHttp } = http.body;
    expect(stable).toEqual(stableHttp);
    expect(await ok("stats", "topic", uniqueName("svc-none"))).toMatchObject({ lastSeq: 0 });
  });

  it("publishes to partitioned topics, reads history by partition and reports stats, as HTTP does", async () => {
    const topic = uniqueName("svc-parts");
    expect((await viaHttp("PUT", `/v1/topics/${topic}`, { partitions: 3 })).status).toBe(200);
    const keys = ["a", "b", "c", "d", "e", "f"];
    const viaService = await ok<{ messages: { seq: number; id: string; partition: number }[] }>("publish", topic, { messages: keys.map((key) => ({ data: key, key, id: `svc-${key}` })) });
    const viaHttpPublish = await viaHttp<{ messages: { seq: number; id: string; partition: number }[] }>("POST", `/v1/topics/${topic}/messages`, { messages: keys.map((key) => ({ data: key, key, id: `http-${key}` })) });
    expect(viaHttpPublish.status).toBe(201);
    // The same key goes to the same partition through either door.
    expect(viaService.messages.map((answer) => answer.partition)).toEqual(viaHttpPublish.body.messages.map((answer) => answer.partition));
    expect(await ok("publish", topic, { data: "a", key: "a", id: "svc-a" })).toEqual({ ...viaService.messages[0], duplicate: true });

    for (let partition = 0; partition < 3; partition++) {
      const http = await viaHttp<{ messages: { partition: number }[]; lastSeq: number }>("GET", `/v1/topics/${topic}/messages?partition=${partition}`);
      expect(await ok("history", topic, { partition })).toEqual(http.body);
      expect(http.body.messages.every((row) => row.partition === partition)).toBe(true);
    }
    expect(await viaBinding("history", topic, {})).toMatchObject({ ok: false, code: "partition_required", status: 400 });
    expect(await viaBinding("history", topic, { partition: 3 })).toMatchObject({ ok: false, code: "invalid_query", status: 400 });
    expect((await viaHttp("GET", `/v1/topics/${topic}/messages`)).status).toBe(400);
    expect(await viaBinding("history", topic, { partition: 64 })).toMatchObject({ ok: false, code: "invalid_request", status: 400 });

    const stats = await ok<{ partitions: number; partitionStats: unknown[]; lastSeq: number }>("stats", "topic", topic);
    expect(stats).toMatchObject({ partitions: 3, lastSeq: 12 });
    expect(stats.partitionStats).toHaveLength(3);
    expect(stats).toEqual((await viaHttp("GET", `/v1/topics/${topic}`)).body);
  });

  it("throws errors with the HTTP API's codes", async () => {
    const topic = uniqueName("svc-errors");
    const cases: [string, unknown[], string, number][] = [
      ["publish", ["bad name!", { data: 1 }], "invalid_name", 400],
      ["publish", [topic, { nodata: 1 }], "invalid_request", 400],
      ["publish", [topic, { messages: [] }], "invalid_request", 400],
      ["publish", [topic, { data: "x".repeat(300_000) }], "message_too_large", 413],
      ["enqueue", [topic, { data: 1, delaySeconds: -1 }], "invalid_request", 400],
      ["history", [topic, { limit: 0 }], "invalid_request", 400],
      ["history", [topic, { after: -1 }], "invalid_request", 400],
      ["stats", ["stream", topic], "invalid_request", 400],
    ];
    for (const [method, args, code, status] of cases) {
      const called = await viaBinding(method, ...args);
      expect(called, `${method}(${JSON.stringify(args).slice(0, 80)})`).toMatchObject({ ok: false, code, status });
      if (!called.ok) expect(called.message.startsWith(`${code}: `)).toBe(true);
    }
    // HTTP answers the same input with the same code.
    const http = await viaHttp<{ error: { code: string } }>("POST", `/v1/topics/${topic}/messages`, { nodata: 1 });
    expect([http.status, http.body.error.code]).toEqual([400, "invalid_request"]);
  });
});
