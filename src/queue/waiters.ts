/**
 * Long polling (`pull` with `waitSeconds`): a pull that finds nothing ready waits here and is
 * answered the moment the object has something ready for it.
 *
 * No loop polls the table. The object calls `serve` on every path that can ready a message:
 * after enqueue, transfer (topic forwards, dead letters, redrives), nack, a consumer leaving,
 * and from its alarm, which the object keeps armed at the earliest due time (a delayed message
 * falling due, a lease expiring), so time passing with no request arriving still wakes them.
 * Each waiter holds one timer, its deadline; an object with a request open is awake anyway.
 */
import type { LeasedRow } from "../protocol/frames";

export interface PullRequest {
  max: number;
  visibilityMs: number;
}

/** Lease up to `request.max` ready messages now (the store's pull), possibly none. */
export type Take = (request: PullRequest) => LeasedRow[];

interface Waiter extends PullRequest {
  resolve(rows: LeasedRow[]): void;
  timer: ReturnType<typeof setTimeout>;
}

export class PullWaiters {
  /** Oldest first: the longest-waiting pull is answered first. */
  private waiting: Waiter[] = [];

  get size(): number {
    return this.waiting.length;
  }

  /** Wait up to `waitMs` for `serve` to hand this pull messages; answers `[]` at the deadline. */
  wait(request: PullRequest, waitMs: number): Promise<LeasedRow[]> {
    return new Promise((resolve) => {
      const waiter: Waiter = { ...request, resolve, timer: setTimeout(() => this.settle(waiter, []), waitMs) };
      this.waiting.push(waiter);
    });
  }

  /** Answer waiters, oldest first, while `take` finds ready messages. Returns how many were answered. */
  serve(take: Take): number {
    let served = 0;
    while (this.waiting.length > 0) {
      const waiter = this.waiting[0]!;
      const rows = take(waiter);
      if (rows.length === 0) break;
      this.settle(waiter, rows);
      served++;
    }
    return served;
  }

  /** Answer every waiter with nothing (the queue is deleted, or became a push queue). */
  releaseAll(): void {
    for (const waiter of [...this.waiting]) this.settle(waiter, []);
  }

  private settle(waiter: Waiter, rows: LeasedRow[]): void {
    clearTimeout(waiter.timer);
    this.waiting = this.waiting.filter((other) => other !== waiter);
    waiter.resolve(rows);
  }
}
