/**
 * The topic side of relays: which relays a partition object feeds, and the feeding.
 *
 * Relays attach themselves (durably registered here, with a generation) and are fed every
 * committed row in seq order. One feed is in flight per relay; rows committed meanwhile ride
 * in the next, so a busy topic sends K feeds per commit group, not one per message, and
 * never one per subscriber. A relay that falls behind the in-memory tail (or after this object
 * restarted, when what each relay has is unknown) gets an empty feed naming the last seq and
 * reads the rest from this partition's history. Failed feeds are retried with backoff by a
 * timer and, should this object restart, by the alarm.
 */
import type { Env } from "../env";
import type { MessageRow } from "../protocol/frames";
import { relayObjectName, type RelayAttachment, type RelayFeedInput, type SubscriberCounts } from "./feed-protocol";

/** Rows kept for feeding; a relay further behind reads history instead. */
const TAIL_ROWS = 1000;
/** Rows per feed, so one feed stays well under RPC size limits. */
const FEED_ROWS = 500;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

interface FedRelay {
  relay: number;
  generation: number;
  /** Last subscriber counts it reported (partition 0 sums these for stats). */
  subscribers: SubscriberCounts;
  /** Highest seq it confirmed; null when unknown (this object restarted). */
  acked: number | null;
  /** Partition count last sent (partition 0 only). */
  partitionsSent: number | null;
  inFlight: boolean;
  failures: number;
  retryAt: number | null;
}

export interface RelayFeedHost {
  env: Env;
  sql: SqlStorage;
  /** The topic's name and this object's partition. */
  topic: () => string;
  partition: () => number;
  lastSeq: () => number;
  /** The topic's partition count as this object knows it. */
  partitions: () => number;
  /** A retry fell due at `at`: make sure the alarm fires by then. */
  retryBy: (at: number) => void;
}

export class RelayFeed {
  private readonly relays = new Map<number, FedRelay>();
  private tail: MessageRow[] = [];
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly host: RelayFeedHost) {
    for (const row of host.sql.exec<{ relay: number; generation: number; web_socket_subscribers: number; sse_subscribers: number }>("SELECT * FROM relays")) {
      const subscribers = { webSocket: row.web_socket_subscribers, sse: row.sse_subscribers };
      this.relays.set(row.relay, { relay: row.relay, generation: row.generation, subscribers, acked: null, partitionsSent: null, inFlight: false, failures: 0, retryAt: null });
    }
  }

  /** Register (or re-register) a relay; it is fed everything after the returned lastSeq. */
  attach(relay: number, subscribers: SubscriberCounts): RelayAttachment {
    const previous = this.relays.get(relay);
    const generation = (previous?.generation ?? 0) + 1;
    this.host.sql.exec(
      `INSERT INTO relays (relay, generation, web_socket_subscribers, sse_subscribers) VALUES (?, ?, ?, ?)
       ON CONFLICT (relay) DO UPDATE SET generation = excluded.generation, web_socket_subscribers = excluded.web_socket_subscribers, sse_subscribers = excluded.sse_subscribers`,
      relay,
      generation,
      subscribers.webSocket,
      subscribers.sse,
    );
    const lastSeq = this.host.lastSeq();
    const partitions = this.host.partitions();
    this.relays.set(relay, { relay, generation, subscribers, acked: lastSeq, partitionsSent: partitions, inFlight: previous?.inFlight ?? false, failures: 0, retryAt: null });
    return { lastSeq, generation, partitions };
  }

  /** A relay's subscriber counts changed (partition 0's stats). Not persisted: they are refreshed often. */
  report(relay: number, subscribers: SubscriberCounts): void {
    const fed = this.relays.get(relay);
    if (fed) fed.subscribers = subscribers;
  }

  /** Subscribers held by the relays, as last reported. */
  subscribers(): SubscriberCounts {
    const total = { webSocket: 0, sse: 0 };
    for (const { subscribers } of this.relays.values()) {
      total.webSocket += subscribers.webSocket;
      total.sse += subscribers.sse;
    }
    return total;
  }

  registered(): number[] {
    return [...this.relays.keys()];
  }

  /** Rows just committed, in seq order: keep them for the feeds and send. */
  delivered(rows: readonly MessageRow[]): void {
    if (this.relays.size === 0) return;
    for (const row of rows) this.tail.push(row);
    if (this.tail.length > TAIL_ROWS) this.tail = this.tail.slice(this.tail.length - TAIL_ROWS);
    this.kick();
  }

  /** Feed every relay that is behind or has not heard the partition count (after a grow). */
  kick(now = Date.now()): void {
    for (const fed of this.relays.values()) {
      if (fed.retryAt === null || fed.retryAt <= now) void this.feed(fed);
    }
  }

  /** When the alarm must run for relays: one behind with no feed under way. */
  nextDueAt(): number | null {
    let due: number | null = null;
    const now = Date.now();
    for (const fed of this.relays.values()) {
      if (fed.inFlight || !this.behind(fed)) continue;
      const at = fed.retryAt ?? now;
      due = due === null ? at : Math.min(due, at);
    }
    return due;
  }

  /** The alarm: feed whatever is due; true while a relay is still behind. */
  async flushDue(now: number): Promise<void> {
    await Promise.all([...this.relays.values()].filter((fed) => !fed.inFlight && this.behind(fed) && (fed.retryAt ?? 0) <= now).map((fed) => this.feed(fed)));
  }

  /** Stop feeding (the topic is being deleted). */
  clear(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.relays.clear();
    this.tail = [];
  }

  private behind(fed: FedRelay): boolean {
    return fed.acked === null || fed.acked < this.host.lastSeq() || (this.host.partition() === 0 && fed.partitionsSent !== this.host.partitions());
  }

  private rowsAfter(acked: number | null): MessageRow[] {
    const first = this.tail[0];
    if (!first) return [];
    // Unknown (this object restarted): the tail, which the relay trims to what it lacks; it
    // reads from history only if it is behind the tail's first row.
    if (acked === null) return this.tail.slice(0, FEED_ROWS);
    // Further behind than the tail reaches: the relay reads history.
    if (acked < first.seq - 1) return [];
    return this.tail.slice(acked + 1 - first.seq, acked + 1 - first.seq + FEED_ROWS);
  }

  private async feed(fed: FedRelay): Promise<void> {
    if (fed.inFlight || !this.behind(fed)) return;
    fed.inFlight = true;
    const partition = this.host.partition();
    const partitions = this.host.partitions();
    const input: RelayFeedInput = { partition, generation: fed.generation, lastSeq: this.host.lastSeq(), rows: this.rowsAfter(fed.acked) };
    if (partition === 0) input.partitions = partitions;
    const before = fed.acked;
    let progressed = false;
    try {
      const reply = await this.host.env.RELAY.getByName(relayObjectName(this.host.topic(), fed.relay)).feed(input);
      fed.failures = 0;
      fed.retryAt = null;
      fed.acked = reply.lastSeq;
      if (partition === 0) fed.partitionsSent = partitions;
      if (partition === 0) fed.subscribers = reply.subscribers;
      progressed = before === null || reply.lastSeq > before;
      if (reply.release) this.release(fed.relay, input.generation);
    } catch (error) {
      fed.failures++;
      const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (fed.failures - 1));
      fed.retryAt = Date.now() + delay;
      console.warn(`feeding relay ${fed.relay} of ${this.host.topic()} (partition ${partition}) failed (attempt ${fed.failures}); retrying in ${delay} ms`, error);
      this.scheduleRetry(delay);
      this.host.retryBy(fed.retryAt);
    } finally {
      fed.inFlight = false;
    }
    // Rows committed while that feed was out go in the next one.
    if (progressed && this.relays.get(fed.relay) === fed && this.behind(fed)) void this.feed(fed);
  }

  /** The relay said it holds nobody: forget it, unless it attached again meanwhile. */
  private release(relay: number, generation: number): void {
    const fed = this.relays.get(relay);
    if (!fed || fed.generation !== generation) return;
    this.relays.delete(relay);
    this.host.sql.exec("DELETE FROM relays WHERE relay = ? AND generation = ?", relay, generation);
  }

  private scheduleRetry(delay: number): void {
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, delay);
  }
}
