/**
 * The base of the queue's message table: the last seq and the counters, which share one
 * meta row, and the message states every part of the store uses.
 */
import { readMeta, writeMeta } from "../storage/migrations";

export interface Counters {
  enqueued: number;
  acked: number;
  redeliveries: number;
  deadLettered: number;
  expired: number;
}

export const STATE_DELIVERABLE = 0;
export const STATE_DEAD = 1;
export const STATE_REDRIVING = 2;
/** Bound on the rows one maintenance step touches. */
export const BATCH = 1000;

export class QueueTable {
  lastSeq: number;
  protected counters: Counters;
  /** Inside `foldCounterWrites`: counters change in memory and are written once at its end. */
  private folding = false;
  private countersDirty = false;

  constructor(protected readonly storage: DurableObjectStorage) {
    // The last seq and the counters share one meta row: an enqueue writes it once.
    const saved = readMeta<Partial<Counters> & { lastSeq?: number }>(storage.sql, "counters") ?? {};
    const { lastSeq = 0, ...counters } = saved;
    this.lastSeq = lastSeq;
    this.counters = { enqueued: 0, acked: 0, redeliveries: 0, deadLettered: 0, expired: 0, ...counters };
  }

  protected get sql(): SqlStorage {
    return this.storage.sql;
  }

  getCounters(): Counters {
    return { ...this.counters };
  }

  /** Group commit (commit/): the in-memory state of a request, to put back if it is undone. */
  checkpoint(): () => void {
    const lastSeq = this.lastSeq;
    const counters = { ...this.counters };
    return () => {
      this.lastSeq = lastSeq;
      this.counters = counters;
    };
  }

  /**
   * Run `work` (synchronous, inside a transaction) with its counter updates written once at
   * the end instead of once per change: a batch of 100 acks writes the meta row once, not 100
   * times. If `work` throws, nothing is written (its transaction is undone anyway).
   */
  foldCounterWrites<T>(work: () => T): T {
    this.folding = true;
    this.countersDirty = false;
    let result: T;
    try {
      result = work();
    } finally {
      this.folding = false;
    }
    if (this.countersDirty) this.saveCounters();
    this.countersDirty = false;
    return result;
  }

  protected bump(counter: keyof Counters, by: number): void {
    if (by === 0) return;
    this.counters[counter] += by;
    if (this.folding) this.countersDirty = true;
    else this.saveCounters();
  }

  private saveCounters(): void {
    writeMeta(this.sql, "counters", { ...this.counters, lastSeq: this.lastSeq });
  }
}
