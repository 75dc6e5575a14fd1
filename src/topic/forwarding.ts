/**
 * Topic-to-queue subscriptions: every message published after a queue is bound is forwarded
 * to it through an outbox. Outbox rows are written with the message (same synchronous run, so
 * atomically), sent oldest first one batch at a time per queue, deleted once the queue has
 * stored them, and retried by the topic's alarm with backoff when the queue cannot be reached.
 * The queue deduplicates on (topic, seq), so a retry after a lost reply enqueues nothing twice.
 */
import type { Env } from "../env";
import type { MessageRow } from "../protocol/frames";
import type { TransferredMessage } from "../queue/transfer";
import type { TopicLog } from "./log";

const FORWARD_BATCH = 100;
const FIRST_RETRY_AFTER_MS = 5000;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 60_000;

export interface Subscription {
  queue: string;
  filter: Record<string, string> | null;
}

function matches(filter: Record<string, string> | null, attributes: string | null): boolean {
  if (!filter) return true;
  const actual = attributes ? (JSON.parse(attributes) as Record<string, string>) : {};
  return Object.entries(filter).every(([key, value]) => actual[key] === value);
}

export class Forwarder {
  private subscriptions: Subscription[];
  /** Queues with a flush in progress: one batch in flight per queue keeps them in order. */
  private readonly flushing = new Map<string, Promise<boolean>>();

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly env: Env,
    private readonly log: TopicLog,
    private readonly topic: () => string,
    private readonly rearm: () => Promise<void>,
  ) {
    this.subscriptions = this.load();
  }

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  private load(): Subscription[] {
    return this.sql
      .exec<{ queue: string; filter: string | null }>("SELECT queue, filter FROM subscriptions ORDER BY queue")
      .toArray()
      .map((row) => ({ queue: row.queue, filter: row.filter ? (JSON.parse(row.filter) as Record<string, string>) : null }));
  }

  list(): Subscription[] {
    return this.subscriptions;
  }

  /** Bind (or re-filter) a queue; returns the first seq it will receive. */
  bind(queue: string, filter: Record<string, string> | null, now: number): number {
    this.sql.exec(
      "INSERT INTO subscriptions (queue, filter, created_at) VALUES (?, ?, ?) ON CONFLICT (queue) DO UPDATE SET filter = excluded.filter",
      queue,
      filter ? JSON.stringify(filter) : null,
      now,
    );
    this.subscriptions = this.load();
    return this.log.lastSeq + 1;
  }

  /** Unbind a queue; messages not yet forwarded to it are dropped from the outbox. */
  unbind(queue: string): boolean {
    const removed = this.sql.exec("DELETE FROM subscriptions WHERE queue = ?", queue).rowsWritten > 0;
    this.sql.exec("DELETE FROM outbox WHERE queue = ?", queue);
    this.subscriptions = this.load();
    return removed;
  }

  /** Record, for each bound queue whose filter matches, that these messages are owed to it. */
  /** Returns when the alarm must retry what was recorded, or null when nothing was. */
  enqueue(rows: readonly MessageRow[], now: number): number | null {
    // `kick` sends at once; the due time only says when the alarm should retry if that fails.
    const retryAt = now + FIRST_RETRY_AFTER_MS;
    let owed = false;
    for (const subscription of this.subscriptions) {
      for (const row of rows) {
        if (!matches(subscription.filter, row.attributes)) continue;
        this.sql.exec("INSERT OR IGNORE INTO outbox (queue, seq, due_at) VALUES (?, ?, ?)", subscription.queue, row.seq, retryAt);
        owed = true;
      }
    }
    return owed ? retryAt : null;
  }

  /** Start forwarding at once after a publish, without holding up the publisher's reply. */
  kick(): void {
    if (this.subscriptions.length === 0) return;
    // Queues that failed recently wait for their backoff (the alarm), not for the next publish.
    const backingOff = new Set(
      this.sql
        .exec<{ queue: string }>("SELECT DISTINCT queue FROM outbox WHERE attempts > 0 AND due_at > ?", Date.now())
        .toArray()
        .map((row) => row.queue),
    );
    for (const subscription of this.subscriptions) {
      if (!backingOff.has(subscription.queue)) void this.flushQueue(subscription.queue);
    }
  }

  /** Forward everything due now (the alarm). Returns whether more remains. */
  async flushDue(now: number): Promise<boolean> {
    const queues = this.sql
      .exec<{ queue: string }>("SELECT DISTINCT queue FROM outbox WHERE due_at <= ?", now)
      .toArray()
      .map((row) => row.queue);
    const more = await Promise.all(queues.map((queue) => this.flushQueue(queue)));
    return more.some(Boolean);
  }

  nextDueAt(): number | null {
    return this.sql.exec<{ at: number | null }>("SELECT MIN(due_at) AS at FROM outbox").one().at;
  }

  oldestPendingSeq(): number | null {
    return this.sql.exec<{ seq: number | null }>("SELECT MIN(seq) AS seq FROM outbox").one().seq;
  }

  private flushQueue(queue: string): Promise<boolean> {
    const running = this.flushing.get(queue);
    if (running) return running;
    const flush = this.sendBatches(queue).finally(() => this.flushing.delete(queue));
    this.flushing.set(queue, flush);
    return flush;
  }

  /** Send the queue's outbox oldest first until empty; on failure back off. Returns "more". */
  private async sendBatches(queue: string): Promise<boolean> {
    for (let round = 0; round < 10; round++) {
      const owed = this.sql
        .exec<{ seq: number; attempts: number }>("SELECT seq, attempts FROM outbox WHERE queue = ? ORDER BY seq LIMIT ?", queue, FORWARD_BATCH)
        .toArray();
      if (owed.length === 0) return false;
      const messages: TransferredMessage[] = [];
      for (const { seq } of owed) {
        const row = this.log.read(seq);
        if (row) messages.push({ key: `t:${this.topic()}:${row.seq}`, id: row.id, data: row.data, attributes: row.attributes, source: null });
      }
      try {
        if (messages.length > 0) {
          const sent = await this.env.QUEUE.getByName(queue).transfer(messages);
          // The queue's own failure comes back as a value: the same retry as an unreachable queue.
          if (!sent.ok) throw new Error(`queue ${queue} did not store them: ${sent.message}`);
        }
      } catch (error) {
        const attempts = (owed[0]?.attempts ?? 0) + 1;
        const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (attempts - 1));
        this.sql.exec("UPDATE outbox SET attempts = ?, due_at = ? WHERE queue = ?", attempts, Date.now() + delay, queue);
        console.warn(`forwarding ${this.topic()} -> ${queue} failed (attempt ${attempts}); retrying in ${delay} ms`, error);
        await this.rearm();
        return false;
      }
      const last = owed[owed.length - 1]!.seq;
      this.sql.exec("DELETE FROM outbox WHERE queue = ? AND seq <= ?", queue, last);
    }
    return true;
  }
}
