/**
 * The JS heap of edgepost's isolate, read over workerd's V8 inspector (scripts/serve.mjs
 * `--inspector-port`; the CDP client is the same kind bench/profile.mjs uses). Locally every
 * Durable Object of the worker (each topic, each queue, the directory) runs in the worker's one
 * isolate, target `core:user:` (seen 2026-12-02), so its heap bounds any one object's: in
 * production an object's isolate may hold at most 128 MB.
 *
 * Each sample asks V8 for a full garbage collection first, then for the heap's size: what is
 * left is what the objects really hold. workerd runs the collection when the isolate next has
 * work (seen 2026-12-02: it waited for a request on an idle server), so a cheap request goes with it.
 */
import WebSocket from "ws";
import { withTimeout } from "./wait";

export interface HeapSample {
  at: number;
  /** V8's used heap after a full collection, in bytes. */
  usedAfterGc: number;
  /** The heap V8 had reserved at that moment (used and free), in bytes. */
  total: number;
}

const TARGET = "core:user:";
const CALL_TIMEOUT_MS = 15_000;

interface CdpReply {
  id?: number;
  result?: Record<string, unknown>;
  error?: { message: string };
}

/** A minimal Chrome DevTools Protocol client on one target. */
class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, (reply: CdpReply) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data) => {
      const reply = JSON.parse(data.toString()) as CdpReply;
      if (reply.id === undefined) return;
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
  }

  static async connect(inspectorUrl: string): Promise<Inspector> {
    const base = inspectorUrl.replace(/^ws/, "http").replace(/\/$/, "");
    const targets = (await (await fetch(`${base}/json`)).json()) as { id: string; webSocketDebuggerUrl: string }[];
    const target = targets.find((candidate) => candidate.id === TARGET);
    if (!target) throw new Error(`no inspector target ${TARGET}; targets: ${targets.map((candidate) => candidate.id).join(", ")}`);
    const socket = new WebSocket(target.webSocketDebuggerUrl);
    await withTimeout(
      new Promise<void>((resolve, reject) => socket.once("open", () => resolve()).once("error", reject)),
      CALL_TIMEOUT_MS,
      () => `the inspector socket of ${TARGET} did not open`,
    );
    return new Inspector(socket);
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const answered = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.pending.set(id, (reply) => (reply.error ? reject(new Error(`${method}: ${reply.error.message}`)) : resolve(reply.result ?? {})));
    });
    this.socket.send(JSON.stringify({ id, method, params }));
    return withTimeout(answered, CALL_TIMEOUT_MS, () => `${method} got no answer from the inspector`);
  }

  close(): void {
    this.socket.close();
  }
}

/** Samples the isolate's heap every `intervalMs` until stopped; `nudge` gives the isolate work. */
export class HeapSampler {
  readonly samples: HeapSample[] = [];
  /** Samples that failed (an answer that did not come in time): reported, not fatal. */
  readonly failures: string[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;

  private constructor(
    private readonly inspector: Inspector,
    private readonly nudge: () => Promise<unknown>,
    private readonly intervalMs: number,
  ) {}

  static async start(inspectorUrl: string, nudge: () => Promise<unknown>, intervalMs = 5_000): Promise<HeapSampler> {
    const inspector = await Inspector.connect(inspectorUrl);
    await inspector.call("HeapProfiler.enable");
    const sampler = new HeapSampler(inspector, nudge, intervalMs);
    try {
      await sampler.sample();
    } catch (error) {
      sampler.failures.push(String(error));
    }
    sampler.loop = sampler.run();
    return sampler;
  }

  async sample(): Promise<HeapSample> {
    const collected = this.inspector.call("HeapProfiler.collectGarbage");
    // Nudge until the collection has run: one request may come and go before it is queued.
    let done = false;
    void collected.then(() => (done = true), () => (done = true));
    while (!done) {
      await Promise.race([collected.catch(() => undefined), this.nudge().catch(() => undefined).then(() => new Promise((resolve) => setTimeout(resolve, 250)))]);
    }
    await collected;
    const usage = await this.inspector.call("Runtime.getHeapUsage");
    const sample = { at: Date.now(), usedAfterGc: Number(usage.usedSize), total: Number(usage.totalSize) };
    this.samples.push(sample);
    return sample;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
      if (this.stopped) break;
      try {
        await this.sample();
      } catch (error) {
        this.failures.push(String(error));
      }
    }
  }

  /** Stop sampling (after the sample in progress) and close the inspector session. */
  async stop(): Promise<void> {
    this.stopped = true;
    try {
      await this.loop;
    } finally {
      this.inspector.close();
    }
  }

  /** The highest post-collection heap in each third of the run, and overall. */
  peaks(): { first: number; middle: number; last: number; overall: number } {
    if (this.samples.length < 3) throw new Error(`only ${this.samples.length} heap samples`);
    const third = Math.floor(this.samples.length / 3);
    const peak = (samples: HeapSample[]) => Math.max(...samples.map((sample) => sample.usedAfterGc));
    return {
      first: peak(this.samples.slice(0, third)),
      middle: peak(this.samples.slice(third, this.samples.length - third)),
      last: peak(this.samples.slice(this.samples.length - third)),
      overall: peak(this.samples),
    };
  }
}
