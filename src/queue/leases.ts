/**
 * Leases: every change a delivery goes through. A message is leased (pull or push), then
 * acked, nacked, extended, expired or given back when its consumer leaves. All synchronous,
 * so each call commits atomically (TOOLCHAIN.md) and a lease can never be granted twice.
 *
 * Lease ids are random and unique per delivery; a stale one (expired, nacked, acked, or of an
 * earlier delivery) matches no row, so it can change nothing.
 */
import type { LeasedRow } from "../protocol/frames";
import type { LeaseResult, QueueConfig } from "../protocol/schemas";
import { retryDelayMs } from "./backoff";
import { DeadLetterMoves } from "./dead-moves";
import { BATCH, QueueTable } from "./table";

interface LeaseRowRaw {
  seq: number;
  attempt: number;
  [key: string]: SqlStorageValue;
}

export class LeaseBook extends QueueTable {
  /** Dead letters waiting to move, numbered when they die (dead-moves.ts). */
  readonly dead = new DeadLetterMoves(this.storage.sql);

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

  /** Whether a lease id is live now (the socket rate limit refunds frames that settle one). */
  isLive(leaseId: string, now: number): boolean {
    return this.liveLease(leaseId, now) !== undefined;
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
      this.dead.markDead(lease.seq);
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
}
