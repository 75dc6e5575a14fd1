/**
 * Running the `edgepost` command as a user does (`node bin/edgepost.mjs ...`, the package's
 * bin) against a test server: to completion with its exit code and output, or spawned for
 * long-running commands (tail). Children left running are killed after each test.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, expect } from "vitest";
import type { Target } from "./clients";
import { ROOT_KEY } from "./server";
import { Inbox, withTimeout } from "./wait";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/edgepost.mjs");
export const RUN_TIMEOUT_MS = 30_000;

export interface RunOptions {
  stdin?: string;
  /** Environment in place of --url/--token (which are then not added). */
  env?: Record<string, string>;
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI against `server`; registers an afterEach that kills children a test left running. */
export function useCli(server: Target) {
  const children = new Set<ChildProcess>();
  afterEach(() => {
    for (const child of children) child.kill("SIGKILL");
    children.clear();
  });

  /** `--url` and `--token` for the test server, unless the test passes its own environment. */
  const withServer = (args: string[], options: RunOptions) => (options.env ? args : [...args, "--url", server.url, "--token", ROOT_KEY]);

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

  /**
   * A long-running command whose stdout is JSON lines (`--json`): each line lands in `inbox`
   * as it comes; `exited` resolves with the exit code (and ends the inbox).
   */
  function spawnJsonLines<T>(args: string[], label: string): { child: ChildProcess; inbox: Inbox<T>; exited: Promise<number | null>; stderr: () => string } {
    const child = spawnCli(args);
    const inbox = new Inbox<T>(label);
    let pending = "";
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.stdout!.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      const complete = pending.split("\n");
      pending = complete.pop()!;
      for (const line of complete) inbox.push(JSON.parse(line) as T);
    });
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    void exited.then((code) => inbox.end(`${label} exited with ${code}: ${stderr}`));
    return { child, inbox, exited, stderr: () => stderr };
  }

  return { spawnCli, run, ok, spawnJsonLines };
}

export function jsonLines<T>(text: string): T[] {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as T);
}
