/**
 * The `edgepost` command as a user runs it (`node bin/edgepost.mjs ...`, the package's bin)
 * against the bundled worker served on workerd: stdin lines published and tailed back in
 * order, single publishes, stats, queues, tokens, and the exit codes (0 ok, 1 API or network
 * error, 2 usage error) with their messages.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Edgepost } from "../../src/client";
import { jsonLines, RUN_TIMEOUT_MS, useCli } from "./cli-run";
import { uniqueName } from "./clients";
import { ROOT_KEY, useServer } from "./server";
import { range, withTimeout } from "./wait";

const server = useServer();
const { run, ok, spawnJsonLines } = useCli(server);
let client: Edgepost;

beforeAll(async () => {
  client = new Edgepost({ url: server.url, token: ROOT_KEY });
});

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

    const { child: tail, inbox, exited, stderr: tailStderr } = spawnJsonLines<TailedMessage>(["tail", topic, "--after", "0", "--json"], "tail --json");
    await inbox.waitUntil((items) => items.length >= lines.length, RUN_TIMEOUT_MS, `${lines.length} tailed messages`);
    // Live: a message published now arrives on the same tail.
    await client.publish(topic, "live");
    await inbox.waitUntil((items) => items.length >= lines.length + 1, RUN_TIMEOUT_MS, "the live message");
    tail.kill("SIGINT");
    expect(await withTimeout(exited, RUN_TIMEOUT_MS, () => "tail did not stop on SIGINT"), `tail stderr: ${tailStderr()}`).toBe(0);

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
