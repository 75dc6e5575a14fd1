/**
 * One partition's stream as a relay holds it: the last seq it has delivered (persisted, so a
 * relay woken from hibernation knows where its live subscribers stand) and a ring of the most
 * recent rows, from which connecting subscribers replay without asking the topic. Rows older
 * than the ring come from the partition's own history (relay-fanout.ts).
 */
import type { MessageRow } from "../protocol/frames";

/** Enough for a reconnect storm to resume from memory: subscribers come back a few seconds behind. */
const RING_ROWS = 2000;
const RING_BYTES = 8 * 1024 * 1024;

export class PartitionStream {
  private ring: MessageRow[] = [];
  private ringBytes = 0;
  /** The chain every change of this stream runs in, one at a time (feeds, attach, gap fills). */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly partition: number,
    /** Highest seq delivered to this relay's live subscribers. */
    public lastSeq: number,
    /** The topic's registration of this relay for this partition; null when not attached. */
    public generation: number | null,
  ) {}

  /** First seq the ring holds (lastSeq + 1 when empty). */
  get ringStart(): number {
    return this.ring[0]?.seq ?? this.lastSeq + 1;
  }

  /** Whether rows after `after` can be read from memory (or there is nothing after it yet). */
  covers(after: number): boolean {
    return after >= this.ringStart - 1;
  }

  /** Rows with seq > after, at most `limit`; call only when `covers(after)`. */
  readAfter(after: number, limit: number): MessageRow[] {
    if (after >= this.lastSeq) return [];
    const from = Math.max(0, after + 1 - this.ringStart);
    return this.ring.slice(from, from + limit);
  }

  /** Append rows that directly follow lastSeq (the caller drops older ones and fills gaps). */
  append(rows: readonly MessageRow[]): void {
    for (const row of rows) {
      this.ring.push(row);
      this.ringBytes += row.data.length + (row.attributes?.length ?? 0);
    }
    if (rows.length > 0) this.lastSeq = rows[rows.length - 1]!.seq;
    let drop = 0;
    while (this.ring.length - drop > RING_ROWS || (this.ringBytes > RING_BYTES && this.ring.length - drop > 1)) {
      const row = this.ring[drop++]!;
      this.ringBytes -= row.data.length + (row.attributes?.length ?? 0);
    }
    if (drop > 0) this.ring = this.ring.slice(drop);
  }

  /** Start over at `lastSeq` with an empty ring (a fresh attach: what came before is not ours). */
  reset(lastSeq: number): void {
    this.ring = [];
    this.ringBytes = 0;
    this.lastSeq = lastSeq;
  }

  /** Run `work` after everything queued on this stream, so feeds apply in order. */
  serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.chain.then(work);
    this.chain = result.catch(() => undefined);
    return result;
  }
}
