/**
 * `npm start`, the way a user runs it (issue 10): the real script path (`prestart` builds the
 * bundle and the console's SDK, then scripts/serve.mjs serves them through Miniflare, no
 * wrangler dev proxy) in a fresh copy of the project (the working tree's files without dist/,
 * .wrangler/ or build outputs, node_modules linked), so the defaults are what is tested: the root key
 * `dev-root-key`, state persisted in `.wrangler/state` (wrangler dev's layout), the console
 * served, `PUSH_ALLOW_HTTP="true"` (push queues may use http: URLs). Only the port is overridden (PORT=0: a free one; 8787 is for people).
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil, withTimeout } from "./wait";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const READY_LINE = /^edgepost listening on (http:\/\/\S+)$/m;
/** prestart bundles the worker and the SDK first: seconds alone, far more on a busy machine. */
const START_TIMEOUT_MS = 150_000;
const STOP_TIMEOUT_MS = 15_000;
const DEV_KEY = "dev-root-key";

let project: string;

/** The project as a fresh clone has it: tracked and new (not ignored) files; node_modules linked. */
function copyProject(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "edgepost-npm-start-"));
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: repoRoot, encoding: "utf8" })
    .split("\0")
    .filter((file) => file && existsSync(path.join(repoRoot, file)));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    cpSync(path.join(repoRoot, file), path.join(dir, file));
  }
  symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"), "dir");
  return dir;
}

/** A process group is gone when signalling it fails with ESRCH. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Gone already.
  }
}

class NpmStart {
  private output = "";
  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on("data", (chunk: Buffer) => (this.output += chunk.toString("utf8")));
    child.stderr!.on("data", (chunk: Buffer) => (this.output += chunk.toString("utf8")));
  }

  /** `npm start` with PORT=0, in its own process group; `--exit-with-stdin` so no server outlives us. */
  static async run(cwd: string): Promise<{ server: NpmStart; url: string }> {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: "0" };
    delete env.EDGEPOST_ROOT_KEY; // the default key is under test
    delete env.EDGEPOST_PERSIST_DIR;
    const child = spawn("npm", ["start", "--", "--exit-with-stdin"], { cwd, env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
    const server = new NpmStart(child);
    running.add(server);
    const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`npm start exited with ${code}:\n${server.tail}`))));
    const ready = pollUntil(async () => READY_LINE.exec(server.output)?.[1], START_TIMEOUT_MS, () => `npm start did not print its ready line:\n${server.tail}`, 100);
    const url = await Promise.race([ready, exited]);
    return { server, url };
  }

  get tail(): string {
    return this.output.slice(-4000);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Ctrl-C as a terminal sends it (SIGINT to the group); wait until every process is gone. */
  async stop(): Promise<void> {
    signalGroup(this.pid, "SIGINT");
    try {
      await pollUntil(async () => (groupAlive(this.pid) ? undefined : true), STOP_TIMEOUT_MS, () => `npm start still running after SIGINT:\n${this.tail}`);
    } finally {
      signalGroup(this.pid, "SIGKILL");
      running.delete(this);
    }
  }
}

const running = new Set<NpmStart>();
process.on("exit", () => {
  for (const server of running) signalGroup(server.pid, "SIGKILL");
});

interface Answer {
  status: number;
  json: { seq?: number; messages?: { seq: number; data: unknown }[] } | null;
}

async function api(url: string, method: string, route: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: { authorization: `Bearer ${DEV_KEY}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

beforeAll(() => {
  project = copyProject();
});

afterAll(async () => {
  await Promise.all([...running].map((server) => server.stop()));
  if (project) rmSync(project, { recursive: true, force: true });
});

describe("npm start", () => {
  it("builds, serves the API with dev-root-key and the console, and keeps state in .wrangler/state across a restart", async () => {
    expect(existsSync(path.join(project, "dist")), "the copy starts without a build").toBe(false);

    const first = await NpmStart.run(project);
    expect(first.server.tail, "served by scripts/serve.mjs, not wrangler dev").toContain("scripts/serve.mjs");

    const published = await api(first.url, "POST", "/v1/topics/start-check/messages", { data: { hello: "npm start" } });
    expect(published.status).toBe(201);
    expect(published.json?.seq).toBe(1);
    expect((await fetch(`${first.url}/v1/topics/start-check`)).status, "no credentials: 401").toBe(401);
    // npm start sets PUSH_ALLOW_HTTP="true": a push queue may deliver to a local http: URL.
    const push = await api(first.url, "PUT", "/v1/queues/start-push", { push: { url: "http://127.0.0.1:9/hook" } });
    expect(push.status, `push to http: accepted (${JSON.stringify(push.json)})`).toBe(200);

    // The console and the SDK it loads (built by prestart: not in git).
    const page = await fetch(`${first.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain("edgepost");
    const sdk = await fetch(`${first.url}/sdk/edgepost.js`);
    expect(sdk.status).toBe(200);
    expect((await sdk.text()).length).toBeGreaterThan(1000);

    // wrangler dev's layout (`--persist-to .wrangler/state` keeps Miniflare's state in v3/), under
    // the worker's name, so `npm start` and `npm run dev` share one state.
    const objects = readdirSync(path.join(project, ".wrangler/state/v3/do"));
    expect(objects).toEqual(expect.arrayContaining(["edgepost-TopicObject", "edgepost-DirectoryObject"]));

    await first.server.stop();

    const second = await NpmStart.run(project);
    const history = await api(second.url, "GET", "/v1/topics/start-check/messages?after=0");
    expect(history.status).toBe(200);
    expect(history.json?.messages?.map((message) => [message.seq, message.data])).toEqual([[1, { hello: "npm start" }]]);
    const next = await api(second.url, "POST", "/v1/topics/start-check/messages", { data: 2 });
    expect(next.status).toBe(201);
    expect(next.json?.seq, "the topic's seq continues after the restart").toBe(2);
    await withTimeout(second.server.stop(), STOP_TIMEOUT_MS * 2, () => "stop");
  });
});
