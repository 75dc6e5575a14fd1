/**
 * Crashing the server for real: SIGKILL to its process group at moments chosen by a seeded
 * random source, and restart on the same state and the same port, so that clients holding the
 * URL see refused connections while it is down and reach the new process once it is back.
 * Clients wait on `whenUp()` instead of spinning against a dead port.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Revivable } from "./resilient";
import { useServer, type TestServer, type UseServerOptions } from "./server";

/** A small deterministic generator (mulberry32): a failing run can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed for this run: EDGEPOST_CHAOS_SEED to replay one, else a fresh one (printed). */
export function chaosSeed(label: string): number {
  const fixed = process.env.EDGEPOST_CHAOS_SEED;
  const seed = fixed ? Number(fixed) : Math.floor(Math.random() * 2 ** 31);
  console.log(`${label}: chaos seed ${seed} (replay with EDGEPOST_CHAOS_SEED=${seed})`);
  return seed;
}

/**
 * What a failed request tells us. `refused`: the connection was refused, so the server never
 * saw the request. `unknown`: it may or may not have been processed (connection cut, no reply).
 */
export type FailureKind = "refused" | "unknown";

export function failureKind(error: unknown): FailureKind {
  let cause: unknown = error;
  // fetch wraps the socket error: TypeError("fetch failed", { cause: { code } }).
  for (let depth = 0; depth < 4 && cause; depth++) {
    if ((cause as { code?: unknown }).code === "ECONNREFUSED") return "refused";
    cause = (cause as { cause?: unknown }).cause;
  }
  return "unknown";
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The file's server, crashable: `useServer()` (started in beforeAll, revived after any test that
 * left it down, stopped in afterAll) with a seeded random source for the crash moments.
 */
export function useCrashableServer(label: string, options: UseServerOptions = {}): CrashableServer {
  return new CrashableServer(useServer(options), chaosSeed(label));
}

/**
 * Crash at a moment, retrying the moment rather than the assertion: `setUp` builds the
 * situation and stops or kills the server in it, returning what it saw; `caught` checks the
 * state the stop left. When it missed its moment (`caught` is false) the server is revived (if
 * it is down) and the situation built again, up to `attempts` times; each miss is logged.
 */
export async function crashAt<T>(server: TestServer, setUp: (attempt: number) => Promise<T>, caught: (result: T) => boolean, options: { attempts: number; describe: string }): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const result = await setUp(attempt);
    if (caught(result)) return result;
    if (attempt >= options.attempts) throw new Error(`missed the moment (${options.describe}) in ${attempt} attempts`);
    console.log(`crash moment missed (${options.describe}), attempt ${attempt} of ${options.attempts}: setting it up again`);
    if (!server.running) await server.revive();
  }
}

/** Every process in the group led by `leader`, from /proc (Linux). */
function groupPids(leader: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = procStat(Number(entry));
    if (fields && fields.pgrp === leader) pids.push(Number(entry));
  }
  return pids;
}

/** State letters of every thread of `pid` (/proc/<pid>/task/<tid>/stat); empty if it is gone. */
function threadStates(pid: number): string[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const states: string[] = [];
  for (const task of tasks) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8");
      states.push(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]!);
    } catch {
      // The thread ended.
    }
  }
  return states;
}

/** State letter and process group of `pid` (/proc/<pid>/stat), or null if it is gone. */
function procStat(pid: number): { state: string; pgrp: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses; split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: rest[0]!, pgrp: Number(rest[2]) };
  } catch {
    return null;
  }
}

/** A server that can be crashed and brought back, with a stable URL for clients. */
export class CrashableServer implements Revivable {
  readonly random: () => number;

  constructor(
    readonly server: TestServer,
    seed: number,
  ) {
    this.random = seededRandom(seed);
  }

  get url(): string {
    return this.server.url;
  }

  get persistDir(): string {
    return this.server.persistDir;
  }

  get kills(): number {
    return this.server.kills;
  }

  /** Resolves once the server is running (at once when it is). */
  whenUp(): Promise<void> {
    return this.server.whenUp();
  }

  /** SIGKILL the whole process group: workerd dies with whatever it was doing. */
  kill(): Promise<void> {
    return this.server.kill();
  }

  /** Start it again on the same state and port. */
  revive(): Promise<void> {
    return this.server.revive();
  }

  /**
   * Kill at a moment when `condition()` holds, for states that last only milliseconds. The
   * process group is frozen (SIGSTOP, and waited for until every process in it is stopped) when
   * the condition is seen, checked again while nothing can move, then killed; if it no longer
   * holds, it is thawed and watched again. `condition` should return false rather than throw
   * when it cannot tell (a file not there yet). `frozenCondition` (default `condition`) is the
   * check made while frozen, e.g. on copies of the files that show what the kill will leave.
   *
   * Callers must still check the state the kill left (what a live reader sees of SQLite's WAL
   * may lag what is durable) and, if the moment was missed, set it up again: `crashAt`.
   */
  async killWhen(condition: () => boolean, timeoutMs: number, describe: string, frozenCondition: () => boolean = condition): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (condition()) {
        await this.freeze();
        if (frozenCondition()) return this.kill();
        this.server.signal("SIGCONT");
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting to kill when ${describe}`);
      await sleep(2);
    }
  }

  /** SIGSTOP the group and wait until the kernel shows every thread of every process in it stopped. */
  private async freeze(): Promise<void> {
    const leader = this.server.pid;
    if (leader === null) throw new Error("the server is not running");
    this.server.signal("SIGSTOP");
    const deadline = Date.now() + 5_000;
    for (;;) {
      const states = groupPids(leader).flatMap((pid) => threadStates(pid));
      if (states.every((state) => state === "T" || state === "t" || state === "Z" || state === "X")) return;
      if (Date.now() > deadline) throw new Error(`the server's processes did not stop within 5 s of SIGSTOP: states ${states.join(",")}`);
      await sleep(1);
    }
  }

  /** Crash at a moment, retrying the moment rather than the assertion (the function `crashAt`). */
  crashAt<T>(setUp: (attempt: number) => Promise<T>, caught: (result: T) => boolean, options: { attempts: number; describe: string }): Promise<T> {
    return crashAt(this.server, setUp, caught, options);
  }

  /** A whole number in [min, max], from the seeded source. */
  between(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  /**
   * Kill and revive `kills` times while the workload runs. Before each kill it waits until
   * `progress()` has grown by a random amount (so every kill lands under load, never in a
   * lull), then a random few milliseconds more, so kills fall at different points of requests.
   */
  async crashRepeatedly(options: { kills: number; progress: () => number; minStep: number; maxStep: number; timeoutMs: number }): Promise<void> {
    for (let round = 0; round < options.kills; round++) {
      const target = options.progress() + this.between(options.minStep, options.maxStep);
      const deadline = Date.now() + options.timeoutMs;
      while (options.progress() < target) {
        if (Date.now() > deadline) throw new Error(`kill ${round + 1}: progress stuck at ${options.progress()} (wanted ${target})`);
        await sleep(5);
      }
      await sleep(this.between(0, 40));
      await this.kill();
      await this.revive();
    }
  }
}
