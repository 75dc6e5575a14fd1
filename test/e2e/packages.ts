/**
 * The installable packages from a user's side: the tarballs `npm run pack` wrote (npm run build
 * runs it), installed with npm into a scratch project in the system's temp directory, outside
 * this repository, so nothing resolves through the repo's own node_modules or sources.
 * Installs prefer npm's cache (partysocket is there after `npm ci`), so they run offline.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { withTimeout } from "./wait";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const VERSION: string = (JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { version: string }).version;
const packagesDir = path.join(repoRoot, "dist/packages");
export const CLIENT_TARBALL = path.join(packagesDir, `edgepost-client-${VERSION}.tgz`);
export const CLI_TARBALL = path.join(packagesDir, `edgepost-cli-${VERSION}.tgz`);

const INSTALL_TIMEOUT_MS = 90_000;
const RUN_TIMEOUT_MS = 60_000;

/** The tarballs must exist: `npm run build` (and so test:e2e and test:browser) packs them. */
export function assertPacked(): void {
  for (const tarball of [CLIENT_TARBALL, CLI_TARBALL]) {
    if (!existsSync(tarball)) throw new Error(`${path.relative(repoRoot, tarball)} is missing: run \`npm run pack\` (npm run build does)`);
  }
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run a program to completion with a deadline; never throws for a non-zero exit (the caller
 * asserts), only when it cannot be started or outlives `timeoutMs` (then it is killed).
 */
export async function runProgram(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number },
): Promise<Finished> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  child.stdin.end(options.stdin ?? "");
  const finished = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve(code));
  });
  try {
    const code = await withTimeout(
      finished,
      options.timeoutMs ?? RUN_TIMEOUT_MS,
      () => `${command} ${args.join(" ")} did not finish\nstdout: ${stdout.slice(-1000)}\nstderr: ${stderr.slice(-1000)}`,
    );
    return { code, stdout, stderr };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

/** A throwaway npm project in the temp directory; `dispose` removes it. */
export class ScratchProject {
  private readonly children = new Set<ChildProcess>();

  private constructor(readonly dir: string) {}

  static async create(prefix: string): Promise<ScratchProject> {
    const dir = await mkdtemp(path.join(tmpdir(), `edgepost-${prefix}-`));
    const project = new ScratchProject(dir);
    await project.write("package.json", `${JSON.stringify({ name: `scratch-${prefix}`, private: true, type: "module" }, null, 2)}\n`);
    return project;
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  async write(file: string, text: string): Promise<void> {
    await writeFile(this.path(file), text);
  }

  /**
   * `npm install <specs>` as a user would run it, preferring the cache. The environment is the
   * user's minus anything npm set for this repository's own scripts (npm_config_* from `npm
   * test`, which would point the install back at the repo).
   */
  async install(...specs: string[]): Promise<void> {
    const env = userEnv();
    const result = await new Promise<Finished>((resolve, reject) => {
      const child = execFile(
        "npm",
        ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", ...specs],
        { cwd: this.dir, env, timeout: INSTALL_TIMEOUT_MS, killSignal: "SIGKILL" },
        (error, stdout, stderr) => {
          if (error && error.code === undefined && !error.killed) reject(error);
          else resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr });
        },
      );
      this.children.add(child);
    });
    if (result.code !== 0) throw new Error(`npm install ${specs.join(" ")} failed (${result.code}) in ${this.dir}:\n${result.stderr.slice(-2000)}`);
  }

  /** Run a program in the project with the user's environment (plus `env`). */
  run(command: string, args: string[], options: { env?: Record<string, string>; stdin?: string; timeoutMs?: number } = {}): Promise<Finished> {
    return runProgram(command, args, { cwd: this.dir, env: { ...userEnv(), ...options.env }, stdin: options.stdin, timeoutMs: options.timeoutMs });
  }

  async dispose(): Promise<void> {
    for (const child of this.children) child.kill("SIGKILL");
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * The environment a user's shell would have: without npm's per-script variables and without
 * this repo's node_modules/.bin on PATH, but with the Node that runs the tests first on PATH
 * (Node 22+; the machine's own `node` may be older).
 */
export function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key.startsWith("EDGEPOST_") || key === "INIT_CWD") continue;
    env[key] = value;
  }
  const repoBins = new Set([path.join(repoRoot, "node_modules/.bin")]);
  const rest = (process.env.PATH ?? "").split(path.delimiter).filter((entry) => entry && !repoBins.has(entry) && !entry.includes(`${path.sep}node_modules${path.sep}.bin`));
  env.PATH = [path.dirname(process.execPath), ...rest].join(path.delimiter);
  return env;
}
