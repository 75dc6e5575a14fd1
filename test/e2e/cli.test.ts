/**
 * The `edgepost` command as a user runs it (`node bin/edgepost.mjs ...`, the package's bin)
 * against the bundled worker served on workerd: stdin lines published and tailed back in
 * order, single publishes, stats, queues, tokens, and the exit codes (0 ok, 1 API or network
 * error, 2 usage error) with their messages.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { Edgepost } from "../../src/client";
import { uniqueName } from "./clients";
import { ROOT_KEY, useServer } from "./server";
import { Inbox, range, withTimeout } from "./wait";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/edgepost.mjs");
const RUN_TIMEOUT_MS = 30_000;

const server = useServer();
let client: Edgepost;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  client = new Edgepost({ url: server.url, token: ROOT_KEY });
});

afterEach(() => {
  for (const child of children) child.kill("SIGKILL");
  children.clear();
});

interface RunOptions {
  stdin?: string;
  /** Environment in place of --url/--token (which are then not added). */
  env?: Record<string, string>;
}

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `--url` and `--token` for the test server, unless the test passes its own environment. */
function withServer(args: string[], options: RunOptions): string[] {
  return options.env ? args : [...args, "--url", server.url, "--token", ROOT_KEY];
}

function spawnCli(args: string[], options: RunOptions = {}): ChildProcess {
  // Only what a user's shell would pass: no EDGEPOST_* from the test's own environment.
  const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...options.env };
  const child = spawn(process.execPath, [bin, ...withServer(args, options)], { env, stdio: ["pipe", "pipe", "pipe"] });
  children.add(child);
  child.stdin!.end(options.stdin ?? "");
  return child;
}

/** Run to completion; resolves with the exit code and everything printed. */
async function run(args: string[], options: RunOptions = {}): Promise<Finished> {
  const child = spawnCli(args, options);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const code = await withTimeout(
    new Promise<number | null>((resolve) => child.once("close", (exitCode) => resolve(exitCode))),
    RUN_TIMEOUT_MS,
    () => `edgepost ${args.join(" ")} did not exit; stdout: ${stdout.slice(-500)} stderr: ${stderr.slice(-500)}`,
  );
  children.delete(child);
  return { code, stdout, stderr };
}

/** Run and expect exit code 0; returns stdout. */
async function ok(args: string[], options: RunOptions = {}): Promise<string> {
  const result = await run(args, options);
  expect(result.code, `edgepost ${args.join(" ")}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

function jsonLines<T>(text: string): T[] {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as T);
}

interface TailedMessage {
  topic: string;
  seq: number;
  id: string;
  data: unknown;
  attributes: Record<string, string>;
}

describe("publish from stdin, then tail", () => {
  it("publishes each stdin line as one string message and tails them back in order with --after 0 --json", async () => {
    const topic = uniqueName("cli-lines");
    // Lines that must stay strings: JSON-looking text, numbers, blanks, tabs, non-ASCII.
    const special = ['{"looks": "like json"}', "42", "", "  padded  ", "tab\tseparated", "ünïcödé ✓"];
    const lines = [...special, ...range(1, 244).map((n) => `line ${n}`)];
    const published = await run(["publish", topic], { stdin: `${lines.join("\n")}\n` });
    expect(published.code, published.stderr).toBe(0);
    expect(published.stdout).toContain(`published ${lines.length} messages to topic ${topic} (seq 1-${lines.length})`);

    const tail = spawnCli(["tail", topic, "--after", "0", "--json"]);
    const inbox = new Inbox<TailedMessage>("tail --json");
    let pending = "";
    let stderr = "";
    tail.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    tail.stdout!.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      const complete = pending.split("\n");
      pending = complete.pop()!;
      for (const line of complete) inbox.push(JSON.parse(line) as TailedMessage);
    });
    const exited = new Promise<number | null>((resolve) => tail.once("close", (code) => resolve(code)));
    void exited.then((code) => inbox.end(`tail exited with ${code}: ${stderr}`));

    await inbox.waitUntil((items) => items.length >= lines.length, RUN_TIMEOUT_MS, `${lines.length} tailed messages`);
    // Live: a message published now arrives on the same tail.
    await client.publish(topic, "live");
    await inbox.waitUntil((items) => items.length >= lines.length + 1, RUN_TIMEOUT_MS, "the live message");
    tail.kill("SIGINT");
    expect(await withTimeout(exited, RUN_TIMEOUT_MS, () => "tail did not stop on SIGINT"), `tail stderr: ${stderr}`).toBe(0);

    expect(inbox.items.map((item) => item.seq)).toEqual(range(1, lines.length + 1));
    expect(inbox.items.map((item) => item.data)).toEqual([...lines, "live"]);
    expect(new Set(inbox.items.map((item) => item.topic))).toEqual(new Set([topic]));
  });
});

describe("single publishes and reads", () => {
  it("publishes an argument as JSON when it parses, else as a string, with --id and --attr", async () => {
    const topic = uniqueName("cli-arg");
    expect(jsonLines(await ok(["publish", topic, '{"n": 1}', "--json"]))).toEqual([{ seq: 1, id: expect.any(String) }]);
    const human = await ok(["publish", topic, "hello world", "--id", "greeting", "--attr", "kind=test", "--attr", "lang=en"]);
    expect(human).toBe(`published to topic ${topic}: seq 2, id greeting\n`);
    const repeated = await ok(["publish", topic, "hello world", "--id", "greeting"]);
    expect(repeated).toContain("seq 2, id greeting (duplicate");

    const { messages } = await client.history(topic, { after: 0 });
    expect(messages.map(({ seq, id, data, attributes }) => ({ seq, id, data, attributes }))).toEqual([
      { seq: 1, id: expect.any(String), data: { n: 1 }, attributes: {} },
      { seq: 2, id: "greeting", data: "hello world", attributes: { kind: "test", lang: "en" } },
    ]);
  });

  it("reads EDGEPOST_URL and EDGEPOST_TOKEN; stats prints topics and queues, human or --json", async () => {
    const topic = uniqueName("cli-stats");
    const queue = uniqueName("cli-stats-q");
    const env = { EDGEPOST_URL: server.url, EDGEPOST_TOKEN: ROOT_KEY };
    await ok(["publish", topic, "1"], { env });
    await ok(["enqueue", queue, "job"], { env });

    const [stats] = jsonLines<{ name: string; lastSeq: number }>(await ok(["stats", "topic", topic, "--json"], { env }));
    expect(stats).toMatchObject({ name: topic, lastSeq: 1 });
    const human = await ok(["stats", "queue", queue], { env });
    expect(human).toContain(`queue ${queue}\n`);
    expect(human).toMatch(/^ {2}ready: 1$/m);
    expect(human).toMatch(/^ {2}config\.maxAttempts: 5$/m);
  });
});

describe("queues and tokens", () => {
  it("pull --ack and consume print and ack messages; token mints a scoped token", async () => {
    const queue = uniqueName("cli-queue");
    await ok(["enqueue", queue], { stdin: "a\nb\nc\nd\ne\n" });

    const pulled = jsonLines<{ data: string; attempt: number; ack: string }>(await ok(["pull", queue, "--max", "3", "--ack", "--json"]));
    expect(pulled.map(({ data, attempt, ack }) => ({ data, attempt, ack }))).toEqual(
      ["a", "b", "c"].map((data) => ({ data, attempt: 1, ack: "acked" })),
    );
    const consumed = jsonLines<{ data: string; ack: string }>(await ok(["consume", queue, "--count", "2", "--json"]));
    expect(consumed.map(({ data, ack }) => ({ data, ack }))).toEqual([
      { data: "d", ack: "acked" },
      { data: "e", ack: "acked" },
    ]);
    expect(await client.queueStats(queue)).toMatchObject({ acked: 5, ready: 0, inFlight: 0 });

    const topic = uniqueName("cli-token");
    const [minted] = jsonLines<{ token: string; expiresAt: number }>(await ok(["token", "--publish", topic, "--ttl", "60", "--json"]));
    expect(minted!.expiresAt).toBeGreaterThan(Date.now());
    await ok(["publish", topic, "allowed"], { env: { EDGEPOST_URL: server.url, EDGEPOST_TOKEN: minted!.token } });
    const refused = await run(["publish", `${topic}-other`, "refused"], { env: { EDGEPOST_URL: server.url, EDGEPOST_TOKEN: minted!.token } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("403 forbidden");
  });
});

describe("errors and exit codes", () => {
  it("exits 2 with the usage on a usage error", async () => {
    const noArgs = await run([]);
    expect(noArgs.code).toBe(2);
    expect(noArgs.stderr).toContain("usage: edgepost <command>");

    const missing = await run(["publish"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("edgepost: missing <topic>");
    expect(missing.stderr).toContain("usage: edgepost publish <topic> [data]");

    for (const args of [["frobnicate"], ["tail", "t", "--after", "soon"], ["publish", "t", "x", "--bogus"], ["pull", "q", "--after", "1"]]) {
      const result = await run(args);
      expect(result.code, `edgepost ${args.join(" ")}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(/^edgepost: /);
      expect(result.stdout).toBe("");
    }
    const noToken = await run(["stats", "topic", "t"], { env: { EDGEPOST_URL: server.url } });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain("no credentials");
  });

  it("exits 1 with a clear message on a bad token or an unreachable server", async () => {
    const badToken = await run(["publish", uniqueName("cli-bad"), "x"], { env: { EDGEPOST_URL: server.url, EDGEPOST_TOKEN: "not-a-key" } });
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toContain("edgepost: 401 unauthorized: invalid or expired credentials");
    expect(badToken.stdout).toBe("");

    const tailBadToken = await run(["tail", uniqueName("cli-bad")], { env: { EDGEPOST_URL: server.url, EDGEPOST_TOKEN: "not-a-key" } });
    expect(tailBadToken.code).toBe(1);
    expect(tailBadToken.stderr).toContain("401 unauthorized");

    const unreachable = await run(["stats", "topic", "t"], { env: { EDGEPOST_URL: "http://127.0.0.1:9", EDGEPOST_TOKEN: ROOT_KEY } });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain("edgepost: cannot reach http://127.0.0.1:9");
  });
});
