/**
 * The queue's messages in SQLite and every state change a message goes through: enqueue,
 * lease, ack, nack, extend, lease expiry, dead-lettering, retention. All synchronous, so each
 * call commits atomically (TOOLCHAIN.md) and a lease can never be granted twice.
 *
 * Lease ids are random and unique per delivery; a stale one (expired, nacked, acked, or of an
 * earlier delivery) matches no row, so it can change nothing.
 */
import type { LeasedRow, PreparedMessage } from "../protocol/frames";
import type { LeaseResult, QueueConfig } from "../protocol/schemas";
import { readMeta, writeMeta } from "../storage/migrations";
import { retryDelayMs } from "./backoff";
import { claimInOrder, type TransferredMessage } from "./transfer";

export type { LeaseResult } from "../protocol/schemas";

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

export interface Counters {
  enqueued: number;
  acked: number;
  redeliveries: number;
  deadLettered: number;
  expired: number;
}

export interface DeadRow {
  seq: number;
  id: string;
  data: string;
  attributes: string | null;
}

const STATE_DELIVERABLE = 0;
const STATE_DEAD = 1;
const STATE_REDRIVING = 2;
const BATCH = 1000;

interface LeaseRowRaw {
  seq: number;
  attempt: number;
  [key: string]: SqlStorageValue;
}

export class QueueStore {
  lastSeq: number;
  private counters: Counters;

  constructor(private readonly storage: DurableObjectStorage) {
    // The last seq and the counters share one meta row: an enqueue writes it once.
    const saved = readMeta<Partial<Counters> & { lastSeq?: number }>(storage.sql, "counters") ?? {};
    const { lastSeq = 0, ...counters } = saved;
    this.lastSeq = lastSeq;
    this.counters = { enqueued: 0, acked: 0, redeliveries: 0, deadLettered: 0, expired: 0, ...counters };
    // A redrive cut short by a crash leaves rows marked as moving: make them deliverable again.
    storage.sql.exec("UPDATE messages SET state = ? WHERE state = ?", STATE_DELIVERABLE, STATE_REDRIVING);
  }

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  getCounters(): Counters {
    return { ...this.counters };
  }

  private bump(counter: keyof Counters, by: number): void {
    if (by === 0) return;
    this.counters[counter] += by;
    writeMeta(this.sql, "counters", { ...this.counters, lastSeq: this.lastSeq });
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
        if (message.key.startsWith("d:")) {
          // Dead letters leave their queue in the order they die, not in seq order: windowed key.
          if (this.seen(message.key, now) !== undefined) continue;
          this.insert({ ...message, size }, message.key, now, now, dedupWindowMs);
          stored++;
          continue;
        }
        // Forwards and redrives arrive in seq order per origin (transfer.ts).
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

  /** Seqs of up to `max` ready messages, oldest first. */
  readySeqs(now: number, max: number): number[] {
    return this.sql
      .exec<{ seq: number }>(
        "SELECT seq FROM messages WHERE lease_id IS NULL AND state = 0 AND visible_at <= ? ORDER BY seq LIMIT ?",
        now,
        max,
      )
      .toArray()
      .map((row) => row.seq);
  }

  /** Lease one message (a new delivery): returns it as handed out. */
  lease(seq: number, consumer: string | null, now: number, visibilityMs: number): LeasedRow {
    const leaseId = crypto.randomUUID();
    const expiresAt = now + visibilityMs;
    const row = this.sql
      .exec<{ seq: number; id: string; data: string; attributes: string | null; enqueued_at: number; attempt: number; first_leased_at: number }>(
        "UPDATE messages SET lease_id = ?, consumer = ?, visible_at = ?, attempt = attempt + 1, first_leased_at = COALESCE(first_leased_at, ?) WHERE seq = ? RETURNING seq, id, data, attributes, enqueued_at, attempt, first_leased_at",
        leaseId,
        consumer,
        expiresAt,
        now,
        seq,
      )
      .one();
    if (row.attempt > 1) this.bump("redeliveries", 1);
    return {
      seq: row.seq,
      id: row.id,
      data: row.data,
      attributes: row.attributes,
      publishedAt: row.enqueued_at,
      attempt: row.attempt,
      leaseId,
      leaseExpiresAt: expiresAt,
      firstLeasedAt: row.first_leased_at,
    };
  }

  /** Lease up to `max` ready messages, oldest first (HTTP pull). */
  pull(now: number, max: number, visibilityMs: number): LeasedRow[] {
    const leased: LeasedRow[] = [];
    this.storage.transactionSync(() => {
      for (const seq of this.readySeqs(now, max)) leased.push(this.lease(seq, null, now, visibilityMs));
    });
    return leased;
  }

  /** The live lease with this id, or undefined when it is stale. */
  private liveLease(leaseId: string, now: number): LeaseRowRaw | undefined {
    return this.sql
      .exec<LeaseRowRaw>("SELECT seq, attempt FROM messages WHERE lease_id = ? AND visible_at > ?", leaseId, now)
      .toArray()[0];
  }

  ack(leaseId: string, now: number): LeaseResult {
    const lease = this.liveLease(leaseId, now);
    if (!lease) return { leaseId, ok: false, status: "stale" };
    this.sql.exec("DELETE FROM messages WHERE seq = ?", lease.seq);
    this.bump("acked", 1);
    return { leaseId, ok: true, status: "acked" };
  }

  nack(leaseId: string, now: number, delayMs: number | null, config: QueueConfig): LeaseResult {
    const lease = this.liveLease(leaseId, now);
    if (!lease) return { leaseId, ok: false, status: "stale" };
    const dead = this.retire(lease, now, delayMs, config);
    return dead ? { leaseId, ok: true, status: "nacked", deadLettered: true } : { leaseId, ok: true, status: "nacked" };
  }

  extend(leaseId: string, now: number, visibilityMs: number): LeaseResult {
    const lease = this.liveLease(leaseId, now);
    if (!lease) return { leaseId, ok: false, status: "stale" };
    this.sql.exec("UPDATE messages SET visible_at = ? WHERE seq = ?", now + visibilityMs, lease.seq);
    return { leaseId, ok: true, status: "extended" };
  }

  /**
   * End a delivery that failed (nack, lease expiry, consumer gone). With attempts left, the
   * message comes back after `delayMs` or the backoff; without, it is marked dead for the
   * dead-letter queue, or, with none configured, retried at the longest backoff. Returns
   * whether it was marked dead.
   */
  private retire(lease: LeaseRowRaw, now: number, delayMs: number | null, config: QueueConfig): boolean {
    const exhausted = lease.attempt >= config.maxAttempts;
    if (exhausted && config.deadLetterQueue !== null) {
      this.sql.exec("UPDATE messages SET lease_id = NULL, consumer = NULL, state = ? WHERE seq = ?", STATE_DEAD, lease.seq);
      return true;
    }
    const { minSeconds, maxSeconds } = config.backoff;
    const delay = exhausted ? maxSeconds * 1000 : (delayMs ?? retryDelayMs(lease.attempt, minSeconds, maxSeconds));
    this.sql.exec("UPDATE messages SET lease_id = NULL, consumer = NULL, visible_at = ? WHERE seq = ?", now + delay, lease.seq);
    return false;
  }

  /** Retire leases that expired by `now`. Bounded; returns how many and whether more remain. */
  expireLeases(now: number, config: QueueConfig): { expired: number; dead: number; more: boolean } {
    const due = this.sql
      .exec<LeaseRowRaw>("SELECT seq, attempt FROM messages WHERE lease_id IS NOT NULL AND visible_at <= ? ORDER BY visible_at LIMIT ?", now, BATCH)
      .toArray();
    let dead = 0;
    this.storage.transactionSync(() => {
      for (const lease of due) if (this.retire(lease, now, null, config)) dead++;
    });
    return { expired: due.length, dead, more: due.length === BATCH };
  }

  /** A consumer went away: its leases end now, as if they had expired. */
  releaseConsumer(consumer: string, now: number, config: QueueConfig): number {
    const held = this.sql
      .exec<LeaseRowRaw>("SELECT seq, attempt FROM messages WHERE consumer = ? AND lease_id IS NOT NULL", consumer)
      .toArray();
    this.storage.transactionSync(() => {
      for (const lease of held) this.retire(lease, now, null, config);
    });
    return held.length;
  }

  /** Leases held per consumer socket. */
  heldByConsumer(): Map<string, number> {
    const rows = this.sql
      .exec<{ consumer: string; held: number }>("SELECT consumer, COUNT(*) AS held FROM messages WHERE consumer IS NOT NULL AND lease_id IS NOT NULL GROUP BY consumer")
      .toArray();
    return new Map(rows.map((row) => [row.consumer, row.held]));
  }

  deadRows(limit: number): DeadRow[] {
    return this.sql
      .exec<DeadRow & Record<string, SqlStorageValue>>("SELECT seq, id, data, attributes FROM messages WHERE state = ? ORDER BY seq LIMIT ?", STATE_DEAD, limit)
      .toArray();
  }

  /** Dead letters whose queue was unset meanwhile go back to retrying. */
  reviveDead(now: number): void {
    this.sql.exec("UPDATE messages SET state = ?, visible_at = ? WHERE state = ?", STATE_DELIVERABLE, now, STATE_DEAD);
  }

  /** The dead-letter queue has stored these: they leave this queue. */
  deadLettered(seqs: readonly number[]): void {
    this.storage.transactionSync(() => {
      for (const seq of seqs) this.sql.exec("DELETE FROM messages WHERE seq = ? AND state = ?", seq, STATE_DEAD);
    });
    this.bump("deadLettered", seqs.length);
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

  hasDeadPending(): boolean {
    return this.sql.exec("SELECT 1 FROM messages WHERE state = ? LIMIT 1", STATE_DEAD).toArray().length > 0;
  }
}
