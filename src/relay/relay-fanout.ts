/**
 * A relay's subscribers and their delivery, for a topic of one or more partitions.
 *
 * Each subscriber has a cursor: per partition, the highest seq it has been sent. Per partition
 * it is either replaying (behind the relay's stream) or live. Replay reads the stream's ring
 * when the ring reaches back to the cursor, and otherwise pages of that partition's history
 * from its topic object. As in the topic's own fan-out (topic/fanout.ts), the last replay step
 * (read the ring, send, mark live) is synchronous, so no feed falls between replay and live.
 *
 * Live WebSocket subscribers' cursors advance in memory only; their attachment keeps the
 * cursor of their last replay step. That is enough: a relay hibernates only with every feed
 * applied, and what it applies after waking is newer than anything any of them was sent.
 */
import { CloseCode, encodeCursorFrame, encodeTopicBatch, encodeTopicFrame, chunkBySize, type MessageRow } from "../protocol/frames";
import { MAX_BATCH_FRAME_BYTES } from "../protocol/limits";
import { grantExpired } from "../auth/socket-grant";
import { isOverBufferLimit, SseSubscriber, WebSocketSubscriber, type Subscriber, type SubscriberStateBase } from "../topic/subscribers";
import { formatCursor } from "./cursor";
import type { PartitionStream } from "./stream";
import { SubscriberSockets } from "../topic/subscriber-sockets";

const REPLAY_PAGE = 200;
const REPLAY_STALL_LIMIT_MS = 30_000;
const REPLAY_STALL_POLL_MS = 25;
const HISTORY_RETRY_MS = 500;
const HISTORY_ATTEMPTS = 5;
export const RELAY_SUBSCRIBER_TAG = "relay-subscriber";

/** A relay subscriber's place: small, it is the WebSocket's attachment. */
export interface RelaySubscriberState extends SubscriberStateBase {
  role: "relay-subscriber";
  /** Per partition: the highest seq sent, or where the subscription started. */
  cursor: number[];
  /** Per partition: caught up with the relay's stream, so feeds go straight out. */
  live: boolean[];
  /** The `{"type":"cursor"}` frame of a partitioned topic has gone out. */
  announced: boolean;
}

type RelaySubscriber = Subscriber<RelaySubscriberState>;

/** What the fan-out needs from its relay. */
export interface RelaySource {
  readonly topic: string;
  /** The relay's streams, index = partition. */
  streams(): readonly PartitionStream[];
  /** A page of partition `partition`'s history after `after`, from its topic object. */
  history(partition: number, after: number, limit: number): Promise<MessageRow[]>;
  /** An SSE subscriber went away (WebSocket closes reach the object's own handler). */
  left(): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class RelayFanout {
  private readonly sockets: SubscriberSockets<RelaySubscriberState>;
  readonly sse = new Set<SseSubscriber<RelaySubscriberState>>();
  private readonly pumping = new Set<RelaySubscriber>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly source: RelaySource,
  ) {
    this.sockets = new SubscriberSockets<RelaySubscriberState>(ctx, RELAY_SUBSCRIBER_TAG, "relay-subscriber");
  }

  private get partitioned(): boolean {
    return this.source.streams().length > 1;
  }

  acceptWebSocket(socket: WebSocket, cursor: number[], expiresAt: number | null, batch: boolean): void {
    const subscriber = this.sockets.accept(socket, this.freshState(cursor, expiresAt, batch));
    void this.pump(subscriber);
  }

  openSse(cursor: number[], expiresAt: number | null): Response {
    const subscriber = new SseSubscriber<RelaySubscriberState>(this.freshState(cursor, expiresAt, false), (closed) => {
      this.sse.delete(closed);
      this.source.left();
    });
    this.sse.add(subscriber);
    void this.pump(subscriber);
    return subscriber.response;
  }

  private freshState(cursor: number[], expiresAt: number | null, batch: boolean): RelaySubscriberState {
    return { role: "relay-subscriber", cursor, live: cursor.map(() => false), announced: false, expiresAt, ...(batch ? { batch } : {}) };
  }

  subscriberOf(socket: WebSocket): WebSocketSubscriber<RelaySubscriberState> | null {
    return this.sockets.of(socket);
  }

  forget(socket: WebSocket): void {
    this.sockets.forget(socket);
  }

  /** Whether another subscriber fits under `limit`. */
  hasRoomFor(limit: number): boolean {
    return this.sockets.hasRoomFor(limit, this.sse.size);
  }

  count(): { webSocket: number; sse: number } {
    return { webSocket: this.sockets.count(), sse: this.sse.size };
  }

  everyone(): RelaySubscriber[] {
    return [...this.sockets.all(), ...this.sse];
  }

  /** After a wake-up: restart the replay of subscribers that hibernated before catching up. */
  resumeReplays(): void {
    for (const subscriber of this.everyone()) {
      if (subscriber.isOpen() && subscriber.state.live.some((live) => !live)) void this.pump(subscriber);
    }
  }

  /** The topic gained partitions: every subscriber starts them at 0 (they hold only newer messages). */
  grow(partitions: number): void {
    for (const subscriber of this.everyone()) {
      const { cursor, live } = subscriber.state;
      if (cursor.length >= partitions) continue;
      while (cursor.length < partitions) {
        cursor.push(0);
        live.push(false);
      }
      subscriber.state.announced = false;
      subscriber.persist();
      if (subscriber.isOpen()) void this.pump(subscriber);
    }
  }

  /** Rows the relay's stream for `partition` just took, in seq order. */
  deliver(partition: number, rows: readonly MessageRow[]): void {
    if (rows.length === 0) return;
    const topic = this.source.topic;
    const stream = this.source.streams()[partition]!;
    const tag = this.partitioned ? partition : undefined;
    let frames: string[] | undefined;
    let batches: { lastSeq: number; frame: string }[] | undefined;
    const now = Date.now();
    for (const subscriber of this.everyone()) {
      if (!subscriber.isOpen()) continue;
      const state = subscriber.state;
      if (grantExpired(state, now)) {
        closeExpired(subscriber);
        continue;
      }
      if (state.live[partition] !== true) {
        // As in topic/fanout.ts: a feed moves a replaying subscriber on too, so a steady
        // stream of feeds cannot starve its pump.
        if (!isOverBufferLimit(subscriber) && state.announced && stream.covers(state.cursor[partition]!)) this.replayStep(subscriber, partition);
        if (!isLive(state, partition)) void this.pump(subscriber);
        continue;
      }
      if (isOverBufferLimit(subscriber)) {
        cutOff(subscriber);
        continue;
      }
      const after = state.cursor[partition]!;
      if (subscriber.kind === "websocket" && state.batch) {
        if (rows[0]!.seq > after) {
          batches ??= batchFrames(topic, rows, tag);
          for (const batch of batches) subscriber.send(batch.lastSeq, batch.frame);
        } else {
          for (const batch of batchFrames(topic, rows.filter((row) => row.seq > after), tag)) subscriber.send(batch.lastSeq, batch.frame);
        }
        state.cursor[partition] = Math.max(after, rows[rows.length - 1]!.seq);
        continue;
      }
      frames ??= rows.map((row) => encodeTopicFrame(topic, row, tag));
      for (let index = 0; index < rows.length; index++) {
        const row = rows[index]!;
        if (row.seq <= state.cursor[partition]!) continue;
        state.cursor[partition] = row.seq;
        subscriber.send(this.eventId(state, row.seq), frames[index]!);
      }
    }
  }

  /** The SSE event id after a message: its seq, or on a partitioned topic the whole cursor. */
  private eventId(state: RelaySubscriberState, seq: number): number | string {
    return this.partitioned ? formatCursor(state.cursor) : seq;
  }

  keepAliveSse(): void {
    for (const subscriber of this.sse) subscriber.keepAlive();
  }

  /** Close everyone (the topic was deleted). */
  closeAll(code: number, reason: string): void {
    for (const subscriber of this.everyone()) subscriber.close(code, reason);
  }

  /** Replay to a subscriber until it is live on every partition. One pump per subscriber. */
  private async pump(subscriber: RelaySubscriber): Promise<void> {
    if (this.pumping.has(subscriber)) return;
    this.pumping.add(subscriber);
    const state = subscriber.state;
    let stalledSince: number | null = null;
    try {
      // Let the upgrade response go out before the first frame.
      await sleep(0);
      if (!state.announced) this.announce(subscriber);
      while (subscriber.isOpen() && state.live.some((live) => !live)) {
        if (grantExpired(state)) return closeExpired(subscriber);
        if (isOverBufferLimit(subscriber)) {
          stalledSince ??= Date.now();
          if (Date.now() - stalledSince > REPLAY_STALL_LIMIT_MS) return cutOff(subscriber);
          await sleep(REPLAY_STALL_POLL_MS);
          continue;
        }
        stalledSince = null;
        let fromMemory = false;
        let waiting = false;
        for (let partition = 0; partition < state.live.length; partition++) {
          if (state.live[partition]) continue;
          const stream = this.source.streams()[partition];
          // A partition the relay has not attached yet (a grow in progress): wait for it.
          if (!stream || stream.generation === null) {
            waiting = true;
            continue;
          }
          if (stream.covers(state.cursor[partition]!)) {
            this.replayStep(subscriber, partition);
            fromMemory = true;
          } else if (!(await this.replayFromHistory(subscriber, partition))) {
            return subscriber.close(1011, "the topic's history could not be read: reconnect with your cursor");
          }
        }
        if (!fromMemory) await sleep(waiting ? REPLAY_STALL_POLL_MS : 0);
      }
    } finally {
      this.pumping.delete(subscriber);
    }
  }

  /** A partitioned topic's subscription opens with its cursor (SSE: an event whose id it is). */
  private announce(subscriber: RelaySubscriber): void {
    const state = subscriber.state;
    state.announced = true;
    if (this.partitioned) {
      const cursor = formatCursor(state.cursor);
      const frame = encodeCursorFrame(this.source.topic, cursor);
      if (subscriber instanceof SseSubscriber) subscriber.sendEvent("cursor", cursor, frame);
      else subscriber.send(cursor, frame);
    }
    subscriber.persist();
  }

  /** One synchronous replay step from the ring: read, send, mark live when caught up. */
  private replayStep(subscriber: RelaySubscriber, partition: number): void {
    const state = subscriber.state;
    const stream = this.source.streams()[partition]!;
    const rows = stream.readAfter(state.cursor[partition]!, REPLAY_PAGE);
    this.sendRows(subscriber, partition, rows);
    state.cursor[partition] = Math.max(state.cursor[partition]!, rows.length > 0 ? rows[rows.length - 1]!.seq : stream.lastSeq);
    state.live[partition] = state.cursor[partition]! >= stream.lastSeq;
    subscriber.persist();
  }

  /** One page from the partition's history; false when it could not be read. */
  private async replayFromHistory(subscriber: RelaySubscriber, partition: number): Promise<boolean> {
    const state = subscriber.state;
    for (let attempt = 1; ; attempt++) {
      try {
        const from = state.cursor[partition]!;
        const rows = await this.source.history(partition, from, REPLAY_PAGE);
        const stream = this.source.streams()[partition]!;
        // Sent meanwhile by a replay step from the ring: only what is still new.
        const fresh = rows.filter((row) => row.seq > state.cursor[partition]!);
        this.sendRows(subscriber, partition, fresh);
        // Nothing retained after the cursor (trimmed): skip to where the ring begins.
        const reached = fresh.length > 0 ? fresh[fresh.length - 1]!.seq : Math.max(state.cursor[partition]!, stream.ringStart - 1);
        state.cursor[partition] = Math.max(state.cursor[partition]!, reached);
        subscriber.persist();
        return true;
      } catch (error) {
        if (attempt >= HISTORY_ATTEMPTS || !subscriber.isOpen()) {
          console.error(`relay of ${this.source.topic}: history of partition ${partition} failed`, error);
          return false;
        }
        await sleep(HISTORY_RETRY_MS * attempt);
      }
    }
  }

  private sendRows(subscriber: RelaySubscriber, partition: number, rows: readonly MessageRow[]): void {
    if (rows.length === 0) return;
    const topic = this.source.topic;
    const tag = this.partitioned ? partition : undefined;
    const state = subscriber.state;
    if (subscriber.kind === "websocket" && state.batch) {
      for (const batch of batchFrames(topic, rows, tag)) subscriber.send(batch.lastSeq, batch.frame);
      return;
    }
    // Per row, so an SSE event's id is the cursor just after it.
    const start = state.cursor[partition]!;
    for (const row of rows) {
      state.cursor[partition] = row.seq;
      subscriber.send(this.eventId(state, row.seq), encodeTopicFrame(topic, row, tag));
    }
    state.cursor[partition] = Math.max(start, state.cursor[partition]!);
  }
}

/** A function, not an inline test: TypeScript would keep the narrowing across the replay step. */
function isLive(state: RelaySubscriberState, partition: number): boolean {
  return state.live[partition] === true;
}

function batchFrames(topic: string, rows: readonly MessageRow[], partition: number | undefined): { lastSeq: number; frame: string }[] {
  return chunkBySize(rows, MAX_BATCH_FRAME_BYTES).map((chunk) => ({ lastSeq: chunk[chunk.length - 1]!.seq, frame: encodeTopicBatch(topic, chunk, partition) }));
}

function closeExpired(subscriber: RelaySubscriber): void {
  subscriber.close(CloseCode.unauthorized, "credentials expired: send a token frame before expiry, or reconnect with a fresh token");
}

function cutOff(subscriber: RelaySubscriber): void {
  subscriber.close(CloseCode.slowSubscriber, "subscriber too slow: reconnect with after=<your cursor or last seq>");
}
