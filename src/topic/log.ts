/**
 * The topic's retained log in SQLite: append with publisher idempotency, read by seq, trim by
 * age and count. Every method is synchronous: SQLite in a Durable Object commits writes that
 * have no `await` between them atomically (TOOLCHAIN.md), which is what makes a batch all or
 * nothing and lets a subscriber switch from replay to live without a gap.
 */
import type { MessageRow, PreparedMessage } from "../protocol/frames";
import { readMeta, writeMeta } from "../storage/migrations";

/** A page of the log as `history` answers it. */
export interface HistoryPage {
  messages: MessageRow[];
  lastSeq: number;
}

export interface AppendResult {
  seq: number;
  id: string;
  duplicate?: true;
}

/** Trim work per alarm run is bounded so one run never holds the object for long. */
const TRIM_BATCH = 5000;

interface RawRow {
  seq: number;
  id: string;
  data: string;
  attributes: string | null;
  published_at: number;
  [key: string]: SqlStorageValue;
}

function toRow(raw: RawRow): MessageRow {
  return { seq: raw.seq, id: raw.id, data: raw.data, attributes: raw.attributes, publishedAt: raw.published_at };
}

export class TopicLog {
  /** Highest seq ever assigned; persisted in meta so it survives a log trimmed to empty. */
  lastSeq: number;

  constructor(private readonly storage: DurableObjectStorage) {
    // The newest message holds the last seq; meta holds it only for a log trimmed to empty, so
    // a publish needs no extra write (bench, 2026-11-27).
    const newest = storage.sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM messages").one().seq ?? 0;
    this.lastSeq = Math.max(readMeta<number>(storage.sql, "last_seq") ?? 0, newest);
  }

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  /** Group commit (commit/): the in-memory part of an append, to put back if it is undone. */
  checkpoint(): () => void {
    const lastSeq = this.lastSeq;
    return () => {
      this.lastSeq = lastSeq;
    };
  }

  /**
   * Append messages in order, in one transaction. A message whose `id` was seen within the
   * dedup window is not stored again: its result carries the original seq and `duplicate`.
   */
  append(messages: readonly PreparedMessage[], now: number, dedupWindowMs: number): { results: AppendResult[]; stored: MessageRow[] } {
    const results: AppendResult[] = [];
    const stored: MessageRow[] = [];
    this.storage.transactionSync(() => {
      for (const message of messages) {
        if (message.id !== undefined) {
          const key = `p:${message.id}`;
          const seen = this.sql
            .exec<{ seq: number }>("SELECT seq FROM dedup WHERE key = ? AND expires_at > ?", key, now)
            .toArray()[0];
          if (seen) {
            results.push({ seq: seen.seq, id: message.id, duplicate: true });
            continue;
          }
          this.sql.exec(
            "INSERT INTO dedup (key, seq, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET seq = excluded.seq, expires_at = excluded.expires_at",
            key,
            this.lastSeq + 1,
            now + dedupWindowMs,
          );
        }
        const row: MessageRow = {
          seq: this.lastSeq + 1,
          id: message.id ?? crypto.randomUUID(),
          data: message.data,
          attributes: message.attributes,
          publishedAt: now,
        };
        this.sql.exec(
          "INSERT INTO messages (seq, id, data, attributes, published_at, size) VALUES (?, ?, ?, ?, ?, ?)",
          row.seq,
          row.id,
          row.data,
          row.attributes,
          row.publishedAt,
          message.size,
        );
        this.lastSeq = row.seq;
        stored.push(row);
        results.push({ seq: row.seq, id: row.id });
      }
    });
    return { results, stored };
  }

  /** Up to `limit` retained messages with seq > after, oldest first. */
  readAfter(after: number, limit: number): MessageRow[] {
    return this.sql
      .exec<RawRow>("SELECT seq, id, data, attributes, published_at FROM messages WHERE seq > ? ORDER BY seq LIMIT ?", after, limit)
      .toArray()
      .map(toRow);
  }

  read(seq: number): MessageRow | undefined {
    const raw = this.sql.exec<RawRow>("SELECT seq, id, data, attributes, published_at FROM messages WHERE seq = ?", seq).toArray()[0];
    return raw ? toRow(raw) : undefined;
  }

  /** Oldest retained message's seq and time, or nulls for an empty log. */
  oldest(): { seq: number; publishedAt: number } | null {
    const raw = this.sql
      .exec<{ seq: number; published_at: number }>("SELECT seq, published_at FROM messages ORDER BY seq LIMIT 1")
      .toArray()[0];
    return raw ? { seq: raw.seq, publishedAt: raw.published_at } : null;
  }

  retained(): { count: number; bytes: number } {
    const raw = this.sql.exec<{ count: number; bytes: number | null }>("SELECT COUNT(*) AS count, SUM(size) AS bytes FROM messages").one();
    return { count: raw.count, bytes: raw.bytes ?? 0 };
  }

  /**
   * Delete messages published at or before `cutoff` or beyond the newest `maxCount`, never at or past
   * `keepFromSeq` (messages still waiting in the forwarding outbox). Bounded per call; returns
   * whether more remains to trim.
   */
  trim(cutoff: number, maxCount: number, keepFromSeq: number): boolean {
    const oldest = this.oldest();
    if (!oldest) return false;
    // Seqs are contiguous from the oldest retained one, so count-based trimming is arithmetic;
    // publish times grow with seq, so the expired messages are a prefix: scan one batch of it
    // by primary key (no index on the time, which would cost a write per publish).
    const window = oldest.seq - 1 + TRIM_BATCH;
    const byCount = this.lastSeq - maxCount;
    const byAge =
      this.sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM messages WHERE seq <= ? AND published_at <= ?", window, cutoff).one().seq ?? 0;
    const upTo = Math.min(Math.max(byCount, byAge), keepFromSeq - 1, window);
    if (upTo < oldest.seq) return false;
    // Deleting the newest message must not lose the last seq.
    if (upTo >= this.lastSeq) writeMeta(this.sql, "last_seq", this.lastSeq);
    this.sql.exec("DELETE FROM messages WHERE seq <= ?", upTo);
    return upTo === window;
  }

  /** Forget idempotency keys whose window has passed. Bounded; returns whether more remain. */
  expireDedup(now: number): boolean {
    const removed = this.sql.exec(
      "DELETE FROM dedup WHERE key IN (SELECT key FROM dedup WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)",
      now,
      TRIM_BATCH,
    ).rowsWritten;
    return removed >= TRIM_BATCH;
  }

  nextDedupExpiry(): number | null {
    return this.sql.exec<{ at: number | null }>("SELECT MIN(expires_at) AS at FROM dedup").one().at;
  }
}
