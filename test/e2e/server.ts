/**
 * The server under test: scripts/serve.mjs (the bundled worker on workerd through Miniflare)
 * as a child process. It runs in its own process group so that stopping it also stops the
 * workerd it spawned, even when Node exits first (TOOLCHAIN.md, "Processes"). Every server
 * started here is tracked, and `stopAllServers` (afterAll) and a last-resort exit hook kill
 * the groups that are left, so a failing test cannot leave workerd holding a port or CI hanging.
 *
 * Tests use `useServer()`: it starts the server in beforeAll, brings it back after any test that
 * left it down (afterEach), and stops it and removes its state in afterAll.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll } from "vitest";
import { withTimeout } from "./wait";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const serveScript = path.join(repoRoot, "scripts/serve.mjs");

export const ROOT_KEY = "e2e-root-key";
const READY_LINE = /^edgepost listening on (http:\/\/\S+)$/m;
/** Printed before the ready line when the inspector is on (serve.mjs `--inspector-port`). */
const INSPECTOR_LINE = /^edgepost inspector on (ws:\/\/\S+)$/m;
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
/** Keep the tail of the server's output for error messages. */
const OUTPUT_TAIL_CHARS = 4_000;

const running = new Set<ServerProcess>();

/** Send `signal` to the whole process group led by `pid`; a group already gone is fine. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

// Last resort if a test process exits without afterAll (crash, worker teardown): no strays.
process.on("exit", () => {
  for (const server of running) signalGroup(server.pid, "SIGKILL");
});

/** One running serve.mjs process group. */
class ServerProcess {
  private output = "";
  readonly exited: Promise<number | null>;
  /** workerd's V8 inspector, when started with it. */
  inspectorUrl: string | null = null;

  constructor(private readonly child: ChildProcess) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString("utf8")).slice(-OUTPUT_TAIL_CHARS);
    };
    // Always drain both pipes: a full pipe would block the server.
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal ? -1 : null))));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get outputTail(): string {
    return this.output.trim() || "(no output)";
  }

  /** The URL from the ready line; fails with the server's output if it exits or stalls first. */
  async ready(): Promise<string> {
    const child = this.child;
    let onData: ((chunk: Buffer) => void) | undefined;
    let stdout = "";
    const announced = new Promise<string>((resolve, reject) => {
      onData = (chunk) => {
        stdout += chunk.toString("utf8");
        const match = READY_LINE.exec(stdout);
        if (match) {
          this.inspectorUrl = INSPECTOR_LINE.exec(stdout)?.[1] ?? null;
          resolve(match[1]!);
        }
      };
      child.stdout!.on("data", onData);
      void this.exited.then((code) => reject(new Error(`serve.mjs exited with ${code} before it was ready:\n${this.outputTail}`)));
    });
    try {
      return await withTimeout(announced, READY_TIMEOUT_MS, () => `serve.mjs did not print its ready line:\n${this.outputTail}`);
    } finally {
      if (onData) child.stdout!.off("data", onData);
    }
  }

  /** SIGTERM to the group (SIGKILL with `hard`), SIGKILL after the grace period, then reap. */
  async stop(hard: boolean): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      signalGroup(this.pid, hard ? "SIGKILL" : "SIGTERM");
      const exitedInTime = await Promise.race([
        this.exited.then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), STOP_GRACE_MS).unref()),
      ]);
      if (!exitedInTime) signalGroup(this.pid, "SIGKILL");
      await this.exited;
    }
    // Whatever is left in the group (a workerd that outlived Node) goes too.
    signalGroup(this.pid, "SIGKILL");
    running.delete(this);
  }
}

export interface StartOptions {
  /** State directory; a fresh temporary one by default (removed by `dispose`). */
  persistDir?: string;
  /** Extra worker variables (serve.mjs `--var NAME=value`), e.g. PUSH_ALLOW_HTTP. */
  vars?: Record<string, string>;
  /** Open workerd's V8 inspector on a free port (`inspectorUrl`), e.g. to read the isolate's heap. */
  inspector?: boolean;
}

export interface RestartOptions {
  /** SIGKILL instead of SIGTERM: a crash. */
  hard?: boolean;
  /**
   * Bind the port the server last had, so clients holding the old URL reach the new process
   * (and requests sent while it is down are refused instead of going nowhere).
   */
  samePort?: boolean;
}

/**
 * A served edgepost with persisted state. `restart` stops the process and starts a new one on
 * the same state directory; the port may change (`url` follows it) unless `samePort` is set.
 * `restart` after a `stop` starts it again.
 */
export class EdgepostServer {
  private process: ServerProcess | null = null;
  private currentUrl: string | null = null;
  /** The port of the last process, kept after it stops (for `restart({ samePort: true })`). */
  private lastPort: number | null = null;

  private constructor(
    readonly persistDir: string,
    private readonly ownsPersistDir: boolean,
    private readonly inspector: boolean,
    private readonly vars: Record<string, string> = {},
  ) {}

  static async start(options: StartOptions = {}): Promise<EdgepostServer> {
    const persistDir = options.persistDir ?? (await mkdtemp(path.join(tmpdir(), "edgepost-e2e-")));
    const server = new EdgepostServer(persistDir, options.persistDir === undefined, options.inspector ?? false, options.vars);
    await server.launch();
    return server;
  }

  get url(): string {
    if (!this.currentUrl) throw new Error("the server is not running");
    return this.currentUrl;
  }

  /** `ws://` form of `url`, for WebSocket clients. */
  get wsUrl(): string {
    return this.url.replace(/^http/, "ws");
  }

  get pid(): number | null {
    return this.process?.pid ?? null;
  }

  /** workerd's V8 inspector (`ws://...`), when started with `inspector: true`. */
  get inspectorUrl(): string | null {
    return this.process?.inspectorUrl ?? null;
  }

  /** Stop gracefully (SIGTERM), or crash it with `{ hard: true }` (SIGKILL to the group). */
  async stop(options: { hard?: boolean } = {}): Promise<void> {
    const current = this.process;
    this.process = null;
    this.currentUrl = null;
    if (current) await current.stop(options.hard ?? false);
  }

  async restart(options: RestartOptions = {}): Promise<void> {
    await this.stop(options);
    await this.launch(options.samePort ? (this.lastPort ?? 0) : 0);
  }

  /** Stop and remove the state directory if this harness created it. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.ownsPersistDir) await rm(this.persistDir, { recursive: true, force: true });
  }

  private async launch(port = 0): Promise<void> {
    if (this.process) throw new Error("already running");
    // Port 0: the server binds a free port itself and announces it, so no port can be taken
    // between choosing and binding it. A given port is one this server had before.
    // `--exit-with-stdin`: should this test process die without cleaning up, the server
    // sees its stdin pipe close and stops itself.
    const args = [serveScript, "--port", String(port), "--persist", this.persistDir, "--root-key", ROOT_KEY, "--exit-with-stdin"];
    for (const [name, value] of Object.entries(this.vars)) args.push("--var", `${name}=${value}`);
    if (this.inspector) args.push("--inspector-port", "0");
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    if (child.pid === undefined) {
      const error = await new Promise<Error>((resolve) => child.once("error", resolve));
      throw new Error(`could not start serve.mjs: ${error.message}`);
    }
    const server = new ServerProcess(child);
    running.add(server);
    try {
      this.currentUrl = await server.ready();
      this.lastPort = Number(new URL(this.currentUrl).port);
      this.process = server;
    } catch (error) {
      await server.stop(true);
      throw error;
    }
  }
}

/** Stop every server this process started; for afterAll, so failures never leave strays. */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...running].map((server) => server.stop(false)));
}

export interface UseServerOptions extends StartOptions {
  /** Runs before the server starts (e.g. a check that the bundle exists, with a clear message). */
  beforeStart?: () => void | Promise<void>;
}

/**
 * The server of a test file (or `describe` block): started in beforeAll, stopped and its state
 * removed in afterAll. Between tests it is always running: a test that stopped or killed it and
 * failed (or forgot) to bring it back leaves the next test a revived server, not ECONNREFUSED.
 *
 *   const server = useServer();
 *   it("...", async () => { await call(server, "GET", "/v1/topics", undefined, 200); });
 *
 * Crash tests: `server.kill()` (SIGKILL to the process group), then `server.revive()` (same
 * state, same port, so clients keep their URL); `server.whenUp()` resolves once it runs again.
 * `server.restart({ hard, samePort })` does both at once. chaos.ts builds the seeded crash
 * moments (`useCrashableServer`) on top of this.
 */
export function useServer(options: UseServerOptions = {}): TestServer {
  const server = new TestServer(options);
  beforeAll(async () => {
    await options.beforeStart?.();
    await server.start();
  });
  afterEach(async () => {
    if (!server.running && server.started) await server.revive();
  });
  afterAll(async () => {
    await server.dispose();
    await stopAllServers();
  });
  return server;
}

/**
 * The handle `useServer()` returns. `url` stays the last address while the server is down
 * (requests then fail with ECONNREFUSED, which crash tests count as "refused"), and `revive`
 * comes back on that same port.
 */
export class TestServer {
  private server: EdgepostServer | null = null;
  private lastUrl: string | null = null;
  private up: Promise<void> = Promise.resolve();
  private markUp: () => void = () => {};
  /** Hard kills so far (crash tests report and check it). */
  kills = 0;

  constructor(private readonly options: StartOptions = {}) {}

  /** Start the server (useServer's beforeAll does). */
  async start(): Promise<void> {
    if (this.server) throw new Error("useServer: already started");
    this.server = await EdgepostServer.start(this.options);
    this.lastUrl = this.server.url;
  }

  get started(): boolean {
    return this.server !== null;
  }

  /** Whether a server process is running now (false between a kill and a revive). */
  get running(): boolean {
    return this.server?.pid !== null && this.server?.pid !== undefined;
  }

  private get current(): EdgepostServer {
    if (!this.server) throw new Error("useServer: the server is not started yet (use it inside tests and hooks)");
    return this.server;
  }

  /** The server's address; while it is down, the address it comes back on. */
  get url(): string {
    if (this.server?.pid) this.lastUrl = this.server.url;
    if (!this.lastUrl) throw new Error("useServer: the server is not started yet (use it inside tests and hooks)");
    return this.lastUrl;
  }

  /** `ws://` form of `url`, for WebSocket clients. */
  get wsUrl(): string {
    return this.url.replace(/^http/, "ws");
  }

  get persistDir(): string {
    return this.current.persistDir;
  }

  /** The process group leader's pid (serve.mjs), or null while the server is down. */
  get pid(): number | null {
    return this.server?.pid ?? null;
  }

  /** workerd's V8 inspector (`ws://...`) with `useServer({ inspector: true })`, else null. */
  get inspectorUrl(): string | null {
    return this.server?.inspectorUrl ?? null;
  }

  /** Resolves once the server is running (at once when it is). */
  whenUp(): Promise<void> {
    return this.up;
  }

  /** Stop gracefully (SIGTERM), or crash it with `{ hard: true }`; `revive` brings it back. */
  async stop(options: { hard?: boolean } = {}): Promise<void> {
    if (this.running) this.lastUrl = this.current.url;
    this.up = new Promise((resolve) => (this.markUp = resolve));
    if (options.hard) this.kills++;
    await this.current.stop(options);
  }

  /** SIGKILL the whole process group: workerd dies with whatever it was doing. */
  kill(): Promise<void> {
    return this.stop({ hard: true });
  }

  /**
   * Start it again on the same state and the same port (clients keep their URL), or on any free
   * port with `{ samePort: false }` (as a deploy that moves it; clients must follow `url`).
   */
  async revive(options: { samePort?: boolean } = {}): Promise<void> {
    const samePort = options.samePort ?? true;
    const expected = this.url;
    await this.current.restart({ samePort });
    this.lastUrl = this.current.url;
    this.markUp();
    if (samePort && this.lastUrl !== expected) throw new Error(`useServer: revived on ${this.lastUrl}, expected ${expected}`);
  }

  /** Stop (SIGKILL with `hard`) and start again on the same state; the port may change unless `samePort`. */
  async restart(options: RestartOptions = {}): Promise<void> {
    await this.stop(options);
    await this.current.restart({ samePort: options.samePort ?? false });
    this.lastUrl = this.current.url;
    this.markUp();
  }

  /** Send a signal to the whole process group (SIGSTOP/SIGCONT to freeze a moment). */
  signal(signal: NodeJS.Signals): void {
    const pid = this.pid;
    if (pid === null) throw new Error("the server is not running");
    process.kill(-pid, signal);
  }

  async dispose(): Promise<void> {
    const server = this.server;
    if (server) await server.dispose();
  }
}
