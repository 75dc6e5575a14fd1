/**
 * The queue's messages in SQLite: enqueue (with publisher idempotency), transfers from other
 * objects, dead letters, redrive, retention and counts. The lease lifecycle is in leases.ts,
 * the last seq and counters in table.ts; `QueueStore` is all of it behind one name.
 * All synchronous, so each call commits atomically (TOOLCHAIN.md).
 */
import type { PreparedMessage } from "../protocol/frames";
import { LeaseBook } from "./leases";
import { BATCH, STATE_DELIVERABLE, STATE_REDRIVING } from "./table";
import { claimInOrder, type TransferredMessage } from "./transfer";

export type { LeaseResult } from "../protocol/schemas";
export type { Counters } from "./table";

export interface EnqueueResult {
  seq: number;
  id: string;
  duplicate?: true;
}

export interface PreparedQueueMessage extends PreparedMessage {
  delayMs: number;
}

export interface QueueCounts {
  ready: number;
  delayed: number;
  inFlight: number;
  deadLetterPending: number;
  oldestEnqueuedAt: number | null;
}

export interface DeadRow {
  seq: number;
  id: string;
  data: string;
  attributes: string | null;
}

export class QueueStore extends LeaseBook {
  constructor(storage: DurableObjectStorage) {
    super(storage);
    // A redrive cut short by a crash leaves rows marked as moving: make them deliverable again.
    storage.sql.exec("UPDATE messages SET state = ? WHERE state = ?", STATE_DELIVERABLE, STATE_REDRIVING);
  }

  /** Seen within its window? Then the seq it was first stored under. */
  private seen(key: string, now: number): number | undefined {
    return this.sql.exec<{ seq: number }>("SELECT seq FROM dedup WHERE key = ? AND expires_at > ?", key, now).toArray()[0]?.seq;
  }

  private insert(
    message: { id: string; data: string; attributes: string | null; size: number; source: string | null },
    key: string | null,
    visibleAt: number,
    now: number,
    dedupWindowMs: number,
  ): number {
    const seq = ++this.lastSeq;
    this.sql.exec(
      "INSERT INTO messages (seq, id, data, attributes, size, enqueued_at, visible_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      seq,
      message.id,
      message.data,
      message.attributes,
      message.size,
      now,
      visibleAt,
      message.source,
    );
    if (key !== null) {
      this.sql.exec(
        "INSERT INTO dedup (key, seq, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET seq = excluded.seq, expires_at = excluded.expires_at",
        key,
        seq,
        now + dedupWindowMs,
      );
    }
    return seq;
  }

  /** Enqueue in order, all or nothing; a repeated id within the window is not stored again. */
  enqueue(messages: readonly PreparedQueueMessage[], now: number, dedupWindowMs: number): EnqueueResult[] {
    const results: EnqueueResult[] = [];
    this.storage.transactionSync(() => {
      for (const message of messages) {
        const key = message.id === undefined ? null : `p:${message.id}`;
        const original = key === null ? undefined : this.seen(key, now);
        if (original !== undefined) {
          results.push({ seq: original, id: message.id!, duplicate: true });
          continue;
        }
        const id = message.id ?? crypto.randomUUID();
        const seq = this.insert({ ...message, id, source: null }, key, now + message.delayMs, now, dedupWindowMs);
        results.push({ seq, id });
      }
      this.afterInsert(results.filter((result) => !result.duplicate).length);
    });
    return results;
  }

  /** Store messages moved here from another object; returns how many were new. */
  transfer(messages: readonly TransferredMessage[], now: number, dedupWindowMs: number): number {
    let stored = 0;
    this.storage.transactionSync(() => {
      for (const message of messages) {
        const size = message.data.length + (message.attributes?.length ?? 0);
        // A dead letter sent before moves were numbered: its windowed key (dead-moves.ts).
        if (message.key.startsWith("d:") && this.seen(message.key, now) !== undefined) continue;
        // Forwards, redrives and dead letters arrive in order per origin (transfer.ts).
        if (!claimInOrder(this.sql, message.key)) continue;
        this.insert({ ...message, size }, null, now, now, dedupWindowMs);
        stored++;
      }
      this.afterInsert(stored);
    });
    return stored;
  }

  private afterInsert(count: number): void {
    if (count === 0) return;
    // Saves the new last seq too: seqs are never reused, even once every message is acked.
    this.bump("enqueued", count);
  }


  /** The dead-letter queue has stored these: they leave this queue (dead-moves.ts). */
  deadLettered(seqs: readonly number[]): void {
    this.storage.transactionSync(() => this.bump("deadLettered", this.dead.moved(seqs)));
  }

  /**
   * Mark up to `limit` unleased messages with seq > `afterSeq` as leaving by redrive; returns
   * them oldest first. The cursor lets a redrive step past messages it skipped.
   */
  takeForRedrive(limit: number, afterSeq: number): (DeadRow & { source: string | null })[] {
    const rows = this.sql
      .exec<DeadRow & { source: string | null } & Record<string, SqlStorageValue>>(
        "UPDATE messages SET state = ? WHERE seq IN (SELECT seq FROM messages WHERE seq > ? AND lease_id IS NULL AND state = ? ORDER BY seq LIMIT ?) RETURNING seq, id, data, attributes, source",
        STATE_REDRIVING,
        afterSeq,
        STATE_DELIVERABLE,
        limit,
      )
      .toArray();
    return rows.sort((a, b) => a.seq - b.seq);
  }

  finishRedrive(seqs: readonly number[], moved: boolean): void {
    this.storage.transactionSync(() => {
      for (const seq of seqs) {
        if (moved) this.sql.exec("DELETE FROM messages WHERE seq = ? AND state = ?", seq, STATE_REDRIVING);
        else this.sql.exec("UPDATE messages SET state = ? WHERE seq = ? AND state = ?", STATE_DELIVERABLE, seq, STATE_REDRIVING);
      }
    });
  }

  purge(): number {
    const { count } = this.sql.exec<{ count: number }>("SELECT COUNT(*) AS count FROM messages WHERE state <> ?", STATE_REDRIVING).one();
    this.sql.exec("DELETE FROM messages WHERE state <> ?", STATE_REDRIVING);
    return count;
  }

  /** Drop messages enqueued before `cutoff`. Bounded; returns whether more remain. */
  expireRetention(cutoff: number): boolean {
    const rows = this.sql
      .exec<{ seq: number }>("DELETE FROM messages WHERE seq IN (SELECT seq FROM messages WHERE enqueued_at < ? AND state <> ? ORDER BY seq LIMIT ?) RETURNING seq", cutoff, STATE_REDRIVING, BATCH)
      .toArray();
    this.bump("expired", rows.length);
    return rows.length === BATCH;
  }

  expireDedup(now: number): boolean {
    const rows = this.sql
      .exec<{ key: string }>("DELETE FROM dedup WHERE key IN (SELECT key FROM dedup WHERE expires_at <= ? ORDER BY expires_at LIMIT ?) RETURNING key", now, BATCH)
      .toArray();
    return rows.length === BATCH;
  }

  counts(now: number): QueueCounts {
    const row = this.sql
      .exec<{ ready: number; delayed: number; in_flight: number; dead: number; oldest: number | null }>(
        `SELECT
           COALESCE(SUM(lease_id IS NULL AND state = 0 AND visible_at <= ?1), 0) AS ready,
           COALESCE(SUM(lease_id IS NULL AND state = 0 AND visible_at > ?1), 0) AS delayed,
           COALESCE(SUM(lease_id IS NOT NULL), 0) AS in_flight,
           COALESCE(SUM(state = 1), 0) AS dead,
           MIN(CASE WHEN state = 0 THEN enqueued_at END) AS oldest
         FROM messages`,
        now,
      )
      .one();
    return { ready: row.ready, delayed: row.delayed, inFlight: row.in_flight, deadLetterPending: row.dead, oldestEnqueuedAt: row.oldest };
  }

  /** Earliest time something here is due: a lease expiring, a delayed message, retention, dedup. */
  nextDueAt(now: number, retentionMs: number): number | null {
    const candidates: number[] = [];
    const lease = this.sql.exec<{ at: number | null }>("SELECT MIN(visible_at) AS at FROM messages WHERE lease_id IS NOT NULL").one().at;
    if (lease !== null) candidates.push(lease);
    const delayed = this.sql.exec<{ at: number | null }>("SELECT MIN(visible_at) AS at FROM messages WHERE visible_at > ?", now).one().at;
    if (delayed !== null) candidates.push(delayed);
    const oldest = this.sql.exec<{ at: number | null }>("SELECT enqueued_at AS at FROM messages ORDER BY seq LIMIT 1").toArray()[0]?.at;
    if (oldest !== undefined && oldest !== null) candidates.push(oldest + retentionMs);
    const dedup = this.sql.exec<{ at: number | null }>("SELECT MIN(expires_at) AS at FROM dedup").one().at;
    if (dedup !== null) candidates.push(dedup);
    return candidates.length > 0 ? Math.min(...candidates) : null;
  }
}
