/**
 * Fan-out of a topic's log to its subscribers, WebSocket and SSE alike.
 *
 * A new subscriber starts behind (not live) at `after`; a pump replays the log to it page by
 * page. The pump's last step, reading the final page and marking the subscriber live, is one
 * synchronous run, so no publish can fall between replay and live: no gap, no duplicate.
 * Live subscribers get each message as it commits, serialised once for all of them.
 *
 * Batched frames (`batch=1`, WebSockets only): a replay page, and everything one commit
 * delivers (a group of publishes, commit/), go out as one `{"type":"messages"}` frame. So an
 * idle topic sends a message at once, alone, and a busy one sends what piled up during a
 * commit together: frames, not messages, are the fan-out cost (TOOLCHAIN.md, 2026-12-01).
 */
import { chunkBySize, CloseCode, encodeTopicBatch, encodeTopicFrame, type MessageRow } from "../protocol/frames";
import { MAX_BATCH_FRAME_BYTES } from "../protocol/limits";
import { grantExpired } from "../auth/socket-grant";
import { isOverBufferLimit, SseSubscriber, WebSocketSubscriber, type Subscriber, type SubscriberState } from "./subscribers";
import type { TopicLog } from "./log";
import { SubscriberSockets } from "./subscriber-sockets";

const REPLAY_PAGE = 200;
/** How long a replay waits for a subscriber's buffer to drain before cutting it off. */
const REPLAY_STALL_LIMIT_MS = 30_000;
const REPLAY_STALL_POLL_MS = 25;
export const SUBSCRIBER_TAG = "subscriber";

function closeExpired(subscriber: Subscriber): void {
  subscriber.close(CloseCode.unauthorized, "credentials expired: send a token frame before expiry, or reconnect with a fresh token");
}

/** Batched frames for rows in seq order: one, unless the payloads pass the frame size limit. */
function batchFrames(topic: string, rows: readonly MessageRow[]): { lastSeq: number; frame: string }[] {
  return chunkBySize(rows, MAX_BATCH_FRAME_BYTES).map((chunk) => ({ lastSeq: chunk[chunk.length - 1]!.seq, frame: encodeTopicBatch(topic, chunk) }));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Fanout {
  /** WebSocket subscribers seen since the object woke; rebuilt lazily from attachments. */
  private readonly sockets: SubscriberSockets<SubscriberState>;
  readonly sse = new Set<SseSubscriber>();
  private readonly pumping = new Set<Subscriber>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly log: TopicLog,
    private readonly topic: () => string,
  ) {
    this.sockets = new SubscriberSockets<SubscriberState>(ctx, SUBSCRIBER_TAG, "subscriber");
  }

  /**
   * Accept a hibernatable WebSocket subscriber that wants messages after `after`. The caller
   * reads `after` (or the log's head) and calls this in one synchronous run.
   */
  acceptWebSocket(socket: WebSocket, after: number, expiresAt: number | null, batch = false): void {
    const subscriber = this.sockets.accept(socket, this.initialState(after, expiresAt, batch));
    if (!subscriber.state.live) void this.pump(subscriber);
  }

  /** Open an SSE stream for a subscriber that wants messages after `after`. */
  openSse(after: number, expiresAt: number | null): Response {
    const subscriber = new SseSubscriber<SubscriberState>(this.initialState(after, expiresAt, false), (closed) => this.sse.delete(closed));
    this.sse.add(subscriber);
    if (!subscriber.state.live) void this.pump(subscriber);
    return subscriber.response;
  }

  /**
   * A new subscriber with nothing to replay (after at or past the log's head: a fresh one, or
   * a reconnect that missed nothing, as in a reconnect storm) is live at once: no pump, no
   * read, one attachment write. Nothing can fall between: a group of publishes is stored and
   * delivered in one synchronous run (commit/group-commit.ts), so `lastSeq` here never counts
   * a row that `deliver` has not yet seen, and `deliver` sends this subscriber every row above
   * `after`. Cut a reconnect storm's CPU per connect (issue 11).
   */
  private initialState(after: number, expiresAt: number | null, batch: boolean): SubscriberState {
    const live = after >= this.log.lastSeq;
    return { role: "subscriber", after, cursor: after, live, expiresAt, ...(batch ? { batch } : {}) };
  }

  subscriberOf(socket: WebSocket): WebSocketSubscriber | null {
    return this.sockets.of(socket);
  }

  forget(socket: WebSocket): void {
    this.sockets.forget(socket);
  }

  /** Whether another subscriber fits under `limit`: no scan of every socket below it. */
  hasRoomFor(limit: number): boolean {
    return this.sockets.hasRoomFor(limit, this.sse.size);
  }

  webSocketSubscribers(): WebSocketSubscriber[] {
    return this.sockets.all();
  }

  /**
   * After a wake-up, restart the replay of any WebSocket subscriber that hibernated before it
   * caught up; without this it would wait for the next publish.
   */
  resumeReplays(): void {
    for (const subscriber of this.webSocketSubscribers()) {
      if (!subscriber.state.live && subscriber.isOpen()) void this.pump(subscriber);
    }
  }

  /** Exact counts (stats): asks the runtime for every socket. */
  count(): { webSocket: number; sse: number } {
    return { webSocket: this.sockets.count(), sse: this.sse.size };
  }

  /** Deliver freshly committed messages: live subscribers get them now, others keep replaying. */
  deliver(rows: readonly MessageRow[]): void {
    if (rows.length === 0) return;
    const everyone: Subscriber[] = [...this.webSocketSubscribers(), ...this.sse];
    if (everyone.length === 0) return;
    const topic = this.topic();
    // Serialised once for everyone, and only in the form someone wants.
    let frames: string[] | undefined;
    let batches: { lastSeq: number; frame: string }[] | undefined;
    const now = Date.now();
    for (const subscriber of everyone) {
      if (!subscriber.isOpen()) continue;
      if (grantExpired(subscriber.state, now)) {
        closeExpired(subscriber);
        continue;
      }
      if (!subscriber.state.live) {
        // Advance the replay here too, not only in the pump: the pump's timer can wait behind
        // a steady stream of publishes (seen in workerd: a 0 ms timer fired only after 200
        // back-to-back publishes), so each publish moves a replaying subscriber on by a page.
        // The step reads through the rows just stored, so they are not sent again below.
        if (!isOverBufferLimit(subscriber)) this.replayStep(subscriber, topic);
        if (!subscriber.state.live) void this.pump(subscriber);
        continue;
      }
      if (isOverBufferLimit(subscriber)) {
        this.cutOff(subscriber);
        continue;
      }
      if (subscriber.state.batch) {
        // A live subscriber's `after` is behind every new row, except on a fresh subscriber
        // whose replay went live inside this very delivery: then it gets only the rest.
        if (rows[0]!.seq > subscriber.state.after) {
          batches ??= batchFrames(topic, rows);
          for (const batch of batches) subscriber.send(batch.lastSeq, batch.frame);
        } else {
          for (const batch of batchFrames(topic, rows.filter((row) => row.seq > subscriber.state.after))) subscriber.send(batch.lastSeq, batch.frame);
        }
        continue;
      }
      frames ??= rows.map((row) => encodeTopicFrame(topic, row));
      for (let index = 0; index < rows.length; index++) {
        const row = rows[index]!;
        if (row.seq > subscriber.state.after) subscriber.send(row.seq, frames[index]!);
      }
    }
  }

  /** Keep SSE streams open through idle proxies. */
  keepAliveSse(): void {
    for (const subscriber of this.sse) subscriber.keepAlive();
  }

  /**
   * Replay the log to a subscriber that is behind until it is live. One pump per subscriber;
   * a subscriber left behind by an eviction is picked up again by the next `deliver`.
   */
  private async pump(subscriber: Subscriber): Promise<void> {
    if (this.pumping.has(subscriber)) return;
    this.pumping.add(subscriber);
    const topic = this.topic();
    let stalledSince: number | null = null;
    try {
      // Let the upgrade response go out before the first frame.
      await sleep(0);
      while (subscriber.isOpen() && !subscriber.state.live) {
        if (grantExpired(subscriber.state)) return closeExpired(subscriber);
        if (isOverBufferLimit(subscriber)) {
          stalledSince ??= Date.now();
          if (Date.now() - stalledSince > REPLAY_STALL_LIMIT_MS) return this.cutOff(subscriber);
          await sleep(REPLAY_STALL_POLL_MS);
          continue;
        }
        stalledSince = null;
        if (!this.replayStep(subscriber, topic)) await sleep(0);
      }
    } finally {
      this.pumping.delete(subscriber);
    }
  }

  /**
   * Send the next page of the replay and mark the subscriber live once it has everything.
   * Synchronous, so read, send and mark are atomic: no publish falls between replay and live.
   * Returns whether the subscriber is now live.
   */
  private replayStep(subscriber: Subscriber, topic: string): boolean {
    const state = subscriber.state;
    const rows = this.log.readAfter(state.cursor, REPLAY_PAGE);
    if (state.batch) for (const batch of batchFrames(topic, rows)) subscriber.send(batch.lastSeq, batch.frame);
    else for (const row of rows) subscriber.send(row.seq, encodeTopicFrame(topic, row));
    state.cursor = rows.length > 0 ? rows[rows.length - 1]!.seq : Math.max(state.cursor, this.log.lastSeq);
    state.live = state.cursor >= this.log.lastSeq;
    subscriber.persist();
    return state.live;
  }

  private cutOff(subscriber: Subscriber): void {
    subscriber.close(CloseCode.slowSubscriber, "subscriber too slow: reconnect with after=<last seq received>");
  }
}
