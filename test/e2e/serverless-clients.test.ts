/**
 * The SDK and the CLI on the serverless features: long-polling pulls, push settings (the
 * generated secret shown once) and deleting topics and queues, against the served worker.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { Edgepost, EdgepostError } from "../../src/client";
import { uniqueName } from "./clients";
import { ROOT_KEY, useServer } from "./server";
import { pollUntil, withTimeout } from "./wait";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/edgepost.mjs");

const server = useServer();
let client: Edgepost;

beforeAll(() => {
  client = new Edgepost({ url: server.url, token: ROOT_KEY });
});

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args, "--url", server.url, "--token", ROOT_KEY], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const code = await withTimeout(new Promise<number | null>((resolve) => child.once("close", resolve)), 30_000, () => `edgepost ${args.join(" ")}: ${stderr}`);
  return { code, stdout, stderr };
}

describe("SDK", () => {
  it("long-polls: a pull with waitSeconds is answered by an enqueue made while it waits", async () => {
    const queue = uniqueName("sdk-lp");
    const waiting = client.pull(queue, { waitSeconds: 15 });
    await pollUntil(async () => ((await client.queueStats(queue)).pullsWaiting === 1 ? true : undefined), 10_000, () => "the pull to wait");
    await client.enqueue(queue, { job: 1 });
    const [message] = await waiting;
    expect(message?.data).toEqual({ job: 1 });
    expect(await client.pull(queue, { waitSeconds: 1 })).toEqual([]);
  });

  it("sets push settings (secret shown once), and deletes queues and topics", async () => {
    const queue = uniqueName("sdk-push");
    const push = await client.setPush(queue, { url: "https://hooks.example/in", maxConcurrency: 2 });
    expect(push).toMatchObject({ url: "https://hooks.example/in", maxConcurrency: 2, timeoutSeconds: 30 });
    expect(push?.secret).toMatch(/^whsec_/);
    expect((await client.queueStats(queue)).push).toMatchObject({ url: "https://hooks.example/in", inFlight: 0 });
    await expect(client.pull(queue)).rejects.toMatchObject({ code: "push_queue", status: 409 });
    expect(await client.setPush(queue, null)).toBeNull();

    expect(await client.deleteQueue(queue)).toEqual({ name: queue, deleted: true });
    const missing = await client.deleteQueue(queue).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(EdgepostError);
    expect(missing).toMatchObject({ code: "not_found", status: 404 });

    const topic = uniqueName("sdk-del");
    await client.publish(topic, "x");
    expect(await client.deleteTopic(topic)).toEqual({ name: topic, deleted: true });
    expect((await client.topicStats(topic)).lastSeq).toBe(0);
  });
});

describe("CLI", () => {
  it("push prints the generated secret once; pull --wait long-polls; delete deletes", async () => {
    const queue = uniqueName("cli-push");
    const pushed = await cli(["push", queue, "https://hooks.example/in", "--concurrency", "3", "--timeout", "5", "--json"]);
    expect(pushed.code, pushed.stderr).toBe(0);
    const answer = JSON.parse(pushed.stdout) as { push: { secret?: string; maxConcurrency: number; timeoutSeconds: number } };
    expect(answer.push).toMatchObject({ maxConcurrency: 3, timeoutSeconds: 5 });
    expect(answer.push.secret).toMatch(/^whsec_/);
    expect((await cli(["push", queue, "off"])).code).toBe(0);

    const started = Date.now();
    const waited = await cli(["pull", queue, "--wait", "1"]);
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stderr + waited.stdout).toContain("no messages");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect((await cli(["pull", queue, "--wait", "21"])).code).toBe(2);

    await client.enqueue(queue, "bye");
    const deleted = await cli(["delete", "queue", queue]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain(`deleted queue ${queue}`);
    const again = await cli(["delete", "queue", queue]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("not_found");
  });
});
