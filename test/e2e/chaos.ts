/**
 * Crashing the server for real: SIGKILL to its process group at moments chosen by a seeded
 * random source, and restart on the same state and the same port, so that clients holding the
 * URL see refused connections while it is down and reach the new process once it is back.
 * Clients wait on `whenUp()` instead of spinning against a dead port.
 */
import { EdgepostServer, type StartOptions } from "./server";
import type { Target } from "./clients";

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

/** A server that can be crashed and brought back, with a stable URL for clients. */
export class CrashableServer implements Target {
  readonly url: string;
  readonly random: () => number;
  kills = 0;
  private up: Promise<void> = Promise.resolve();
  private markUp: () => void = () => {};

  private constructor(
    readonly server: EdgepostServer,
    seed: number,
  ) {
    this.url = server.url;
    this.random = seededRandom(seed);
  }

  static async start(label: string, options: StartOptions = {}): Promise<CrashableServer> {
    return new CrashableServer(await EdgepostServer.start(options), chaosSeed(label));
  }

  get persistDir(): string {
    return this.server.persistDir;
  }

  /** Resolves once the server is running (at once when it is). */
  whenUp(): Promise<void> {
    return this.up;
  }

  /** SIGKILL the whole process group: workerd dies with whatever it was doing. */
  async kill(): Promise<void> {
    this.up = new Promise((resolve) => (this.markUp = resolve));
    this.kills++;
    await this.server.stop({ hard: true });
  }

  /**
   * Kill at a moment when `condition()` holds, for states that last only milliseconds. The
   * process group is frozen (SIGSTOP) when the condition is seen, checked again while nothing
   * can move, then killed; if it no longer holds, it is thawed and watched again.
   */
  async killWhen(condition: () => boolean, timeoutMs: number, describe: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (condition()) {
        this.signal("SIGSTOP");
        if (condition()) return this.kill();
        this.signal("SIGCONT");
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting to kill when ${describe}`);
      await sleep(2);
    }
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.server.pid;
    if (pid === null) throw new Error("the server is not running");
    process.kill(-pid, signal);
  }

  /** Start it again on the same state and port. */
  async revive(): Promise<void> {
    await this.server.restart({ samePort: true });
    if (this.server.url !== this.url) throw new Error(`restarted on ${this.server.url}, expected ${this.url}`);
    this.markUp();
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
