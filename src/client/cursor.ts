/**
 * Where a topic subscription stands, so that every (re)connection resumes exactly there.
 *
 * An unpartitioned topic has one seq: the last one delivered. A partitioned topic (DESIGN.md,
 * "Partitioned topics") has one seq per partition, written as a cursor `12,40,7` (partition
 * order; entries missing at the end mean 0, which is how a subscriber learns of partitions
 * added since). The server starts a partitioned subscription with a `{"type":"cursor"}` frame,
 * then each message carries its `partition`; this class follows both, and drops any message
 * at or below what was already delivered in its partition (a replay that overlaps is harmless).
 *
 * Pure: no I/O, so it is tested on its own (test/e2e/sdk-cursor.test.ts).
 */

/** The most partitions a topic may have (DESIGN.md: `"partitions": 1..64`). */
export const MAX_PARTITIONS = 64;

/** A seq as the server's query parsing takes it (`^\d{1,15}$`). */
const SEQ = /^\d{1,15}$/;

/** `after` as a subscriber gives it: a seq, or a cursor string (`"12,40,7"`; `"12"` is a seq too). */
export type After = number | string;

/**
 * The seqs of a cursor string (`"12,40,7"` -> `[12, 40, 7]`), or null when it is not one:
 * 1 to 64 entries, each a non-negative integer of at most 15 digits.
 */
export function parseCursor(text: string): number[] | null {
  const parts = text.split(",");
  if (parts.length > MAX_PARTITIONS || !parts.every((part) => SEQ.test(part))) return null;
  return parts.map(Number);
}

export function formatCursor(seqs: readonly number[]): string {
  return seqs.join(",");
}

/** Why `after` is not one the server accepts, or null when it is. */
export function afterProblem(after: After): string | null {
  if (typeof after === "number") {
    return Number.isSafeInteger(after) && after >= 0 ? null : `after must be a seq (a non-negative integer) or a cursor string, not ${after}`;
  }
  return parseCursor(after) ? null : `after must be a seq or a cursor of 1-${MAX_PARTITIONS} comma-separated seqs ("12,40,7"), not ${JSON.stringify(after)}`;
}

/** What the position needs of a delivered message. */
export interface Positioned {
  seq: number;
  /** Present on messages of a partitioned topic. */
  partition?: number | undefined;
}

export class ResumePosition {
  /** Unpartitioned: the last seq delivered (or the start). Null when not known yet. */
  private seq: number | null = null;
  /** Partitioned: per partition, the last seq delivered (or the start). Null until partitioned. */
  private seqs: number[] | null = null;

  /** `after` as given, or undefined to start at the topic's end (`start` or a cursor frame says where). */
  constructor(after?: After) {
    if (after === undefined) return;
    const problem = afterProblem(after);
    if (problem) throw new TypeError(problem);
    if (typeof after === "number") {
      this.seq = after;
      return;
    }
    const seqs = parseCursor(after)!;
    // "12" is a seq: the topic may be unpartitioned. A cursor frame or a message's `partition` turns it into [12].
    if (seqs.length === 1) this.seq = seqs[0]!;
    else this.seqs = seqs;
  }

  /** Whether the next connection knows where to resume. */
  get known(): boolean {
    return this.seq !== null || this.seqs !== null;
  }

  /** Whether this is a partitioned topic's position (a cursor frame or a message's partition said so). */
  get partitioned(): boolean {
    return this.seqs !== null;
  }

  /** The `after` of the next connection: a seq, a cursor string, or undefined (start at the end). */
  get after(): After | undefined {
    if (this.seqs !== null) return formatCursor(this.seqs);
    return this.seq ?? undefined;
  }

  /** The position as a string `after` takes back (`"42"` or `"12,40,7"`); null before it is known. */
  get cursor(): string | null {
    const after = this.after;
    return after === undefined ? null : String(after);
  }

  /** The topic's end as history said it (an unpartitioned topic, no `after` given). */
  startAt(lastSeq: number): void {
    if (!this.known) this.seq = lastSeq;
  }

  /**
   * A cursor frame: where the server starts this connection. Per partition, the later of the
   * server's and ours: ours is ahead only by what was delivered and will be dropped as replay;
   * the server's is ahead when it could not go back that far (nothing between can come).
   */
  onCursor(text: string): void {
    const theirs = parseCursor(text);
    if (!theirs) return;
    const ours = this.seqs ?? (this.seq === null ? [] : [this.seq]);
    const length = Math.max(theirs.length, ours.length);
    this.seqs = Array.from({ length }, (_, i) => Math.max(theirs[i] ?? 0, ours[i] ?? 0));
    this.seq = null;
  }

  /** A message arrived: true if it is new (the position moves past it), false if already delivered. */
  accept(message: Positioned): boolean {
    const partition = message.partition;
    if (partition === undefined) {
      if (this.seqs !== null) return this.acceptIn(0, message.seq);
      if (this.seq !== null && message.seq <= this.seq) return false;
      this.seq = message.seq;
      return true;
    }
    if (!Number.isInteger(partition) || partition < 0 || partition >= MAX_PARTITIONS) return false;
    if (this.seqs === null) {
      // The first sign that the topic is partitioned: a seq so far was partition 0's.
      this.seqs = this.seq === null ? [] : [this.seq];
      this.seq = null;
    }
    return this.acceptIn(partition, message.seq);
  }

  private acceptIn(partition: number, seq: number): boolean {
    const seqs = this.seqs!;
    while (seqs.length <= partition) seqs.push(0);
    if (seq <= seqs[partition]!) return false;
    seqs[partition] = seq;
    return true;
  }
}
