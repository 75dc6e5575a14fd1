/**
 * Push delivery for a queue with `push` set: the object leases ready messages to the pusher
 * (as to any consumer, under the consumer id "push") and POSTs each one, at most
 * `maxConcurrency` at a time. The lease is what makes it durable: it is written before the
 * request goes out, so a delivery cut short by a crash or restart is not lost: the object's
 * next start releases the pusher's leases (`releaseOrphans`), and they are retried after the
 * backoff like any failed attempt (at least once). Results go back through `settle`: 2xx acks,
 * anything else nacks with the endpoint's `Retry-After` or the queue's backoff, and the queue
 * dead-letters after `maxAttempts`, all on the paths a consumer's ack or nack takes.
 */
import type { LeasedRow } from "../protocol/frames";
import type { PushSettings, PushStats } from "../protocol/schemas";
import { attempt, type AttemptResult } from "./delivery";
import { Signer } from "./signing";

/** The consumer id of the pusher's leases. */
export const PUSH_CONSUMER = "push";
/** A push lease outlives its request's timeout by this much: the request ends first. */
const LEASE_MARGIN_MS = 5000;

export interface PushHooks {
  /** Lease up to `max` ready messages to the pusher for `visibilityMs`. */
  lease(max: number, visibilityMs: number): LeasedRow[];
  /** Record an attempt's result (ack on success, nack otherwise), after the request. */
  settle(leaseId: string, result: AttemptResult): void;
  /** Keep the object alive until the request ends. */
  waitUntil(promise: Promise<unknown>): void;
}

export class Pusher {
  private settings: PushSettings | null = null;
  private signer: Signer | null = null;
  private inFlight = 0;
  private lastStatus: number | null = null;
  private lastError: string | null = null;
  private lastAttemptAt: number | null = null;

  constructor(
    private readonly queue: () => string,
    private readonly hooks: PushHooks,
  ) {}

  /** Use these settings and this secret from now on (null stops pushing). */
  configure(settings: PushSettings | null, secret: string | null): void {
    this.settings = settings;
    this.signer = settings && secret ? new Signer(secret) : null;
  }

  get active(): boolean {
    return this.settings !== null && this.signer !== null;
  }

  /** Start requests for ready messages while fewer than `maxConcurrency` are in flight. */
  dispatch(): number {
    const settings = this.settings;
    const signer = this.signer;
    if (!settings || !signer) return 0;
    const free = settings.maxConcurrency - this.inFlight;
    if (free <= 0) return 0;
    const leased = this.hooks.lease(free, settings.timeoutSeconds * 1000 + LEASE_MARGIN_MS);
    for (const row of leased) {
      this.inFlight++;
      const request = this.send(settings, signer, row);
      this.hooks.waitUntil(request);
    }
    return leased.length;
  }

  private async send(settings: PushSettings, signer: Signer, row: LeasedRow): Promise<void> {
    let result: AttemptResult;
    try {
      result = await attempt(settings, signer, this.queue(), row);
    } catch (error) {
      result = { ok: false, status: null, error: `push failed: ${String(error)}`, retryAfterMs: null };
    }
    this.inFlight--;
    this.lastAttemptAt = Date.now();
    this.lastStatus = result.status;
    if (!result.ok) this.lastError = `${new Date(this.lastAttemptAt).toISOString()} seq ${row.seq} attempt ${row.attempt}: ${result.error}`;
    this.hooks.settle(row.leaseId, result);
  }

  stats(): PushStats | null {
    if (!this.settings) return null;
    return {
      url: this.settings.url,
      maxConcurrency: this.settings.maxConcurrency,
      timeoutSeconds: this.settings.timeoutSeconds,
      inFlight: this.inFlight,
      lastStatus: this.lastStatus,
      lastError: this.lastError,
      lastAttemptAt: this.lastAttemptAt,
    };
  }
}
