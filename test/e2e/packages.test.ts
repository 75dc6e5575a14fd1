/**
 * The packed tarballs as a user gets them: `npm install ./edgepost-client-<version>.tgz` in a
 * project outside this repository, then (1) a Node ESM script that publishes and subscribes
 * against the served worker, (2) a TypeScript project that type-checks a typical use (types
 * resolve under `nodenext` and `bundler`; no `any` in the public API), a Worker bundled with
 * it and run on workerd, and the CLI tarball's
 * `npx edgepost publish` and `npx edgepost tail`. The browser case is in
 * test/browser/packages.test.ts.
 */
import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { build } from "esbuild";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "./clients";
import { findAnyInPublicApi } from "./package-types";
import { CLI_TARBALL, CLIENT_TARBALL, ScratchProject, VERSION, assertPacked, repoRoot } from "./packages";
import { ROOT_KEY, useServer } from "./server";

const server = useServer({ beforeStart: assertPacked });
let app: ScratchProject;
let tools: ScratchProject;

beforeAll(async () => {
  // Two projects: the SDK's users and the CLI's users install one tarball each.
  [app, tools] = await Promise.all([ScratchProject.create("client"), ScratchProject.create("cli")]);
  await Promise.all([app.install(CLIENT_TARBALL), tools.install(CLI_TARBALL)]);
}, 180_000);

afterAll(async () => {
  await Promise.all([app?.dispose(), tools?.dispose()]);
});

/** The worker's own compatibility date (wrangler.toml), for the Worker that uses the SDK. */
function compatibilityDate(): string {
  const match = /^compatibility_date = "([\d-]+)"$/m.exec(readFileSync(path.join(repoRoot, "wrangler.toml"), "utf8"));
  if (!match) throw new Error("wrangler.toml has no compatibility_date");
  return match[1]!;
}

const installedClient = () => app.path("node_modules/@edgepost/client");

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}

describe("@edgepost/client, installed from its tarball", () => {
  it("is an ESM package with types, exports for browsers, Node and Workers, and partysocket as its only dependency", async () => {
    const manifest = JSON.parse(await readFile(path.join(installedClient(), "package.json"), "utf8")) as {
      name: string;
      version: string;
      type: string;
      dependencies: Record<string, string>;
      exports: Record<string, Record<string, string>>;
    };
    expect(manifest.name).toBe("@edgepost/client");
    expect(manifest.version).toBe(VERSION);
    expect(manifest.type).toBe("module");
    expect(Object.keys(manifest.dependencies)).toEqual(["partysocket"]);
    expect(Object.keys(manifest.exports["."]!)).toEqual(expect.arrayContaining(["types", "browser", "node", "workerd", "default"]));

    // Only the SDK's build: no sources, no server, no tests.
    const files = await listFiles(installedClient());
    expect(files.filter((file) => !/^(dist\/[a-z-]+\.(js|d\.ts)|package\.json|README\.md|CHANGELOG\.md)$/.test(file))).toEqual([]);
    const code = await readFile(path.join(installedClient(), "dist/index.js"), "utf8");
    const imports = [...code.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gm)].map((match) => match[1]);
    expect(imports.filter((specifier) => specifier !== "partysocket" && !specifier!.startsWith("partysocket/"))).toEqual([]);
    // esbuild marks each bundled module with its path: all of them are the SDK's.
    const modules = [...code.matchAll(/^\/\/ (\S+\.ts)$/gm)].map((match) => match[1]);
    expect(modules.length).toBeGreaterThan(5);
    expect(modules.filter((module) => !module!.startsWith("src/client/"))).toEqual([]);
  });

  it("publishes and subscribes from a Node ESM script", async () => {
    const topic = uniqueName("pkg-node");
    await app.write(
      "pubsub.mjs",
      `import { Edgepost, EdgepostError } from "@edgepost/client";

const [url, token, topic] = process.argv.slice(2);
const client = new Edgepost({ url, token });
const subscription = client.subscribe(topic, { after: 0 });
const published = [];
for (let n = 1; n <= 3; n++) published.push((await client.publish(topic, { n, from: "node" })).seq);
const received = [];
for await (const message of subscription) {
  received.push({ seq: message.seq, data: message.data, topic: message.topic });
  if (received.length === published.length) break;
}
let denied = null;
try {
  await new Edgepost({ url, token: "not-a-key", retry: { attempts: 1 } }).publish(topic, 1);
} catch (error) {
  denied = error instanceof EdgepostError ? { status: error.status, code: error.code } : String(error);
}
console.log(JSON.stringify({ published, received, denied }));
`,
    );
    const result = await app.run(process.execPath, ["pubsub.mjs", server.url, ROOT_KEY, topic]);
    expect(result.code, result.stderr).toBe(0);
    const output = JSON.parse(result.stdout) as { published: number[]; received: Array<{ seq: number; data: unknown; topic: string }>; denied: unknown };
    expect(output.published).toEqual([1, 2, 3]);
    expect(output.received).toEqual([1, 2, 3].map((n) => ({ seq: n, data: { n, from: "node" }, topic })));
    expect(output.denied).toEqual({ status: 401, code: "unauthorized" });
  });

  it("type-checks a typical use with tsc --noEmit (nodenext with Node's types, bundler with the DOM), with no any in the public API", async () => {
    await app.write(
      "use.ts",
      `import { Edgepost, EdgepostError, type ErrorCode, type JsonValue, type PublishResult, type TopicMessage } from "@edgepost/client";

export async function run(url: string, token: string): Promise<number> {
  const client = new Edgepost({ url, token, retry: { attempts: 5 } });
  const result: PublishResult = await client.publish("orders", { order: 42, lines: ["a", "b"] }, { id: "order-42" });
  const seq: number = result.seq;
  // @ts-expect-error seq is a number (this line would not be an error if the types were any)
  const wrong: string = result.seq;
  void wrong;
  // @ts-expect-error data must be JSON: a function is not
  await client.publish("orders", () => 1);

  const subscription = client.subscribe("orders", { after: seq - 1, transport: "sse" });
  for await (const message of subscription) {
    const received: TopicMessage = message;
    const data: JsonValue = received.data;
    console.log(received.topic, received.seq, data);
    break;
  }

  const consumer = client.consume("jobs", { prefetch: 10 });
  for await (const job of consumer) {
    const outcome = await job.ack();
    if (outcome.status === "stale") console.log("lease lost", job.leaseId);
    break;
  }
  consumer.close();

  try {
    await client.queueStats("jobs");
  } catch (error) {
    if (error instanceof EdgepostError && error.code === "forbidden") return error.status;
    const code: ErrorCode | undefined = error instanceof EdgepostError && error.code !== "closed" && error.code !== "network_error" && error.code !== "http_error" && error.code !== "invalid_response" ? error.code : undefined;
    console.log(code);
  }
  // @ts-expect-error not an error code of the API
  const bogus: ErrorCode = "no_such_code";
  void bogus;
  return (await client.topicStats("orders")).lastSeq;
}
`,
    );
    // The browser project checks the package's declaration files themselves (skipLibCheck off,
    // TypeScript's own lib files skipped); the Node one only resolves them (Node's types are big).
    const common = { strict: true, noEmit: true, target: "es2022", lib: ["es2023"], types: [] as string[] };
    // Node's types from this repo's @types/node: the one thing not installed in the project.
    await app.write(
      "tsconfig.node.json",
      JSON.stringify({
        compilerOptions: { ...common, module: "nodenext", moduleResolution: "nodenext", skipLibCheck: true, types: ["node"], typeRoots: [path.join(repoRoot, "node_modules/@types")] },
        files: ["use.ts"],
      }),
    );
    await app.write(
      "tsconfig.browser.json",
      JSON.stringify({ compilerOptions: { ...common, module: "esnext", moduleResolution: "bundler", skipLibCheck: false, skipDefaultLibCheck: true, lib: ["es2023", "dom", "dom.iterable"] }, files: ["use.ts"] }),
    );
    // As a user runs it: tsc -p, here the Node project.
    const tsc = path.join(repoRoot, "node_modules/typescript/bin/tsc");
    const result = await app.run(process.execPath, [tsc, "-p", "tsconfig.node.json"]);
    expect(result.code, `tsc -p tsconfig.node.json:\n${result.stdout}${result.stderr}`).toBe(0);

    // The browser project through the compiler API (what tsc -p does), so the same program
    // also gives the checker's view of the installed package: no any anywhere reachable.
    const parsed = ts.getParsedCommandLineOfConfigFile(app.path("tsconfig.browser.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
    const program = ts.createProgram({ rootNames: parsed!.fileNames, options: parsed!.options });
    const diagnostics = ts.getPreEmitDiagnostics(program);
    expect(diagnostics.length, ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (name) => name, getCurrentDirectory: () => app.dir, getNewLine: () => "\n" })).toBe(0);
    const report = findAnyInPublicApi(program, installedClient());
    expect(report.exports).toEqual(expect.arrayContaining(["Edgepost", "EdgepostError", "Subscription", "QueueConsumer", "JsonValue", "TopicMessage", "ErrorCode"]));
    expect(report.visited).toBeGreaterThan(50);
    expect(report.anys).toEqual([]);
  });
});

describe("@edgepost/client in a Worker", () => {
  it("bundled as wrangler does (the workerd condition), publishes, reads history and subscribes (WebSocket and SSE) from a Worker on workerd", async () => {
    const topic = uniqueName("pkg-worker");
    await app.write(
      "worker.js",
      `import { Edgepost } from "@edgepost/client";

export default {
  async fetch(request) {
    const params = new URL(request.url).searchParams;
    const client = new Edgepost({ url: params.get("url"), token: params.get("token") });
    const topic = params.get("topic");
    const subscription = client.subscribe(topic, { after: 0, transport: params.get("transport") });
    const published = await client.publish(topic, { from: "worker" });
    const page = await client.history(topic, { after: 0 });
    let live = null;
    for await (const message of subscription) {
      live = { seq: message.seq, data: message.data };
      break;
    }
    return Response.json({ published, history: page.messages.map((m) => m.data), live });
  },
};
`,
    );
    // As wrangler bundles a Worker: esbuild with the workerd condition, neutral platform.
    await build({
      absWorkingDir: app.dir,
      entryPoints: ["worker.js"],
      bundle: true,
      format: "esm",
      platform: "neutral",
      conditions: ["workerd", "worker"],
      mainFields: ["module", "main"],
      outfile: app.path("worker.bundle.js"),
      logLevel: "warning",
    });
    const workerd = new Miniflare(
      // modulesRoot: without it a script outside the working directory fails to start
      // ("internal error"; Miniflare 5 beta, 2026-12-02).
      convertV4MiniflareOptions({ modules: true, scriptPath: app.path("worker.bundle.js"), modulesRoot: app.dir, compatibilityDate: compatibilityDate(), cf: false }),
    );
    try {
      for (const transport of ["websocket", "sse"]) {
        const query = new URLSearchParams({ url: server.url, token: ROOT_KEY, topic, transport });
        const response = await workerd.dispatchFetch(`http://worker/?${query}`);
        const text = await response.text();
        expect(response.status, text).toBe(200);
        const body = JSON.parse(text) as { published: { seq: number }; history: unknown[]; live: { seq: number; data: unknown } };
        expect(body.history.at(-1)).toEqual({ from: "worker" });
        expect(body.live).toEqual({ seq: 1, data: { from: "worker" } });
        expect(body.published.seq).toBe(transport === "websocket" ? 1 : 2);
      }
    } finally {
      await workerd.dispose();
    }
  });
});

describe("@edgepost/cli, installed from its tarball", () => {
  it("runs as npx edgepost: publish from arguments and stdin, tail them back live", async () => {
    const topic = uniqueName("pkg-cli");
    const env = { EDGEPOST_URL: server.url, EDGEPOST_TOKEN: ROOT_KEY };

    const version = await tools.run("npx", ["--no-install", "edgepost", "--version"]);
    expect(version.stdout.trim(), version.stderr).toBe(`edgepost ${VERSION}`);

    // The tail is started first and ends by itself after 4 messages (--count).
    const tail = tools.run("npx", ["--no-install", "edgepost", "tail", topic, "--after", "0", "--count", "4", "--json"], { env });
    const single = await tools.run("npx", ["--no-install", "edgepost", "publish", topic, '{"n":1}'], { env });
    expect(single.code, single.stderr).toBe(0);
    const lines = await tools.run("npx", ["--no-install", "edgepost", "publish", topic], { env, stdin: "two\nthree\nfour\n" });
    expect(lines.code, lines.stderr).toBe(0);

    const tailed = await tail;
    expect(tailed.code, tailed.stderr).toBe(0);
    const messages = tailed.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { seq: number; data: unknown; topic: string });
    expect(messages.map(({ seq, data }) => ({ seq, data }))).toEqual([
      { seq: 1, data: { n: 1 } },
      { seq: 2, data: "two" },
      { seq: 3, data: "three" },
      { seq: 4, data: "four" },
    ]);
  });
});
