/**
 * A topic subscription: messages in seq order, with no gap and no duplicate across
 * reconnects. Every (re)connection asks for `after=<last seq delivered>` (on a partitioned
 * topic, the cursor: one seq per partition), and any message at or below that is dropped, so
 * a replay that overlaps what was already seen is harmless (cursor.ts keeps the position).
 * WebSockets ask for batched frames (`batch=1`): a replay page or a burst of publishes comes
 * as one `{"type":"messages"}` frame, delivered here one message at a time all the same.
 */
import { DEFAULT_HEARTBEAT_MS, ResilientSocket, type ReconnectOptions } from "./socket";
import { Channel } from "./channel";
import { ResumePosition, type After } from "./cursor";
import { EdgepostError } from "./errors";
import { segment, type HttpClient } from "./http";
import { runSseLoop } from "./sse";
import type { HistoryPage, TopicMessage } from "./types";

/** Larger than any seq: history after it is empty and still says the topic's lastSeq. */
const BEYOND_ANY_SEQ = 999_999_999_999_999;

export interface SubscribeOptions {
  /**
   * Deliver messages with seq > after (0 = the whole retained log). On a partitioned topic,
   * a cursor string, one seq per partition (`"12,40,7"`, as `subscription.cursor` gives it;
   * missing entries are 0, and a plain seq is partition 0's). Without it the subscription
   * starts at the topic's current end: found with one HTTP request, or on a partitioned topic
   * from the server's first frame, so a reconnect before the first message leaves no gap.
   */
  after?: After;
  /** `websocket` (default) or `sse` (Server-Sent Events over fetch, where sockets are blocked). */
  transport?: "websocket" | "sse";
  /**
   * Called for each message, in order, one at a time (a returned promise is awaited). With a
   * callback the subscription is not also iterable. If it throws, the subscription ends with
   * that error.
   */
  onMessage?: (message: TopicMessage) => void | Promise<void>;
  /** Called once if the subscription ends with an error (bad credentials, callback error). */
  onError?: (error: unknown) => void;
  /**
   * Called on every (re)connection: `reconnects` counts those after the first; `after` is
   * what this connection asked for (a seq, a cursor string, or null for the topic's end).
   */
  onOpen?: (info: { reconnects: number; after: After | null }) => void;
  /** Close the subscription when this signal aborts. */
  signal?: AbortSignal;
  /**
   * WebSocket only: ask for batched frames (`batch=1`, default true), far fewer frames under
   * load. Messages are delivered one at a time either way.
   */
  batch?: boolean;
}

export interface SubscriptionSettings {
  reconnect: ReconnectOptions;
  heartbeatMs?: number;
  WebSocket?: unknown;
}

/**
 * A live topic subscription: iterate it with `for await`, or pass `onMessage`.
 *
 * @example
 * ```ts
 * const subscription = client.subscribe("orders", { after: 0 });
 * for await (const message of subscription) {
 *   console.log(message.seq, message.data);
 *   if (message.seq === 100) break; // closes the subscription
 * }
 * ```
 */
export class Subscription implements AsyncIterable<TopicMessage> {
  /** Messages and cursor frames, in arrival order, for the iterator. */
  private readonly channel = new Channel<Item>(() => this.close());
  private readonly abort = new AbortController();
  private socket: ResilientSocket | null = null;
  private delivering: Promise<void> = Promise.resolve();
  /** Where the next connection resumes: moves as messages arrive (buffered ones included). */
  private readonly received: ResumePosition;
  /** Where the caller stands: moves as messages are handed to onMessage or the iterator. */
  private readonly handed: ResumePosition;
  private lastHanded: number | null = null;
  /** The topic's end was looked up (or found to come from the server's cursor frame). */
  private endFound = false;
  private connectedAfter: After | null = null;
  private opens = 0;
  private settled = false;
  private resolveClosed!: () => void;
  private rejectClosed!: (error: unknown) => void;
  /** Resolves when the subscription is closed; rejects with the error that ended it. */
  readonly closed: Promise<void>;

  /** Throws TypeError when `options.after` is neither a seq nor a cursor. */
  constructor(
    private readonly http: HttpClient,
    readonly topic: string,
    private readonly options: SubscribeOptions,
    settings: SubscriptionSettings,
  ) {
    this.received = new ResumePosition(options.after);
    this.handed = new ResumePosition(options.after);
    this.closed = new Promise<void>((resolve, reject) => {
      this.resolveClosed = resolve;
      this.rejectClosed = reject;
    });
    // Observed here so an unobserved failure is not an unhandled rejection; callers still see it.
    this.closed.catch(() => {});
    if (options.signal?.aborted) {
      this.close();
      return;
    }
    options.signal?.addEventListener("abort", () => this.close(), { once: true });
    if ((options.transport ?? "websocket") === "sse") this.runSse(settings);
    else this.runWebSocket(settings);
  }

  /** The seq of the last message handed to you (on a partitioned topic, in its own partition); null before the first. */
  get lastSeq(): number | null {
    return this.lastHanded;
  }

  /**
   * Where you stand, as `after` takes it back: the last seq handed to you (`"42"`), or on a
   * partitioned topic the cursor (`"12,40,7"`). Keep it to resume later exactly after the
   * last message you got. Null while the start is not known yet.
   */
  get cursor(): string | null {
    return this.handed.cursor;
  }

  /** Whether the topic turned out to be partitioned (a cursor frame or a message's partition said so). */
  get partitioned(): boolean {
    return this.received.partitioned;
  }

  /** Connections made after the first one. */
  get reconnects(): number {
    return Math.max(0, this.opens - 1);
  }

  /** Stop: the socket or stream is closed and iteration ends. */
  close(): void {
    this.finish();
  }

  [Symbol.asyncIterator](): AsyncIterator<TopicMessage> {
    if (this.options.onMessage) throw new Error("this subscription delivers to onMessage; it cannot also be iterated");
    const items = this.channel[Symbol.asyncIterator]();
    const next = async (): Promise<IteratorResult<TopicMessage>> => {
      for (;;) {
        const result = await items.next();
        if (result.done) return result;
        const message = this.hand(result.value);
        if (message) return { value: message, done: false };
      }
    };
    return { next, return: () => items.return!() as Promise<IteratorResult<TopicMessage>> };
  }

  private get path(): string {
    return `/v1/topics/${segment(this.topic)}`;
  }

  /** Where the next connection resumes; undefined asks for the topic's end (a partitioned topic's cursor frame says where). */
  private async resumeAfter(): Promise<After | undefined> {
    if (!this.received.known && !this.endFound) {
      const lastSeq = await this.probe();
      this.endFound = true;
      if (lastSeq !== null) {
        this.received.startAt(lastSeq);
        this.handed.startAt(lastSeq);
      }
    }
    const after = this.received.after;
    this.connectedAfter = after ?? null;
    return after;
  }

  /**
   * History after the end: checks credentials and scope, and says an unpartitioned topic's
   * lastSeq (null for a partitioned one, whose history needs `?partition=`).
   */
  private async probe(): Promise<number | null> {
    const partitioned = this.received.partitioned;
    try {
      const page = await this.http.request<HistoryPage>(`${this.path}/messages`, {
        query: { after: BEYOND_ANY_SEQ, limit: 1, partition: partitioned ? 0 : undefined },
        signal: this.abort.signal,
      });
      return partitioned ? null : page.lastSeq;
    } catch (error) {
      // Credentials are checked before the query: this answer means they are good.
      if (isPartitionRequired(error)) return null;
      throw error;
    }
  }

  private runWebSocket(settings: SubscriptionSettings): void {
    this.socket = new ResilientSocket(
      {
        url: async (previousFailed) => {
          // The upgrade failed last time: find out why over HTTP (throws a clear error).
          if (previousFailed) await this.probe();
          return this.http.socketUrl(`${this.path}/subscribe`, { after: await this.resumeAfter(), batch: this.options.batch === false ? undefined : 1 });
        },
        onOpen: () => this.opened(),
        onMessage: (text) => this.receive(text),
        onEnd: (error) => this.finish(error),
      },
      { reconnect: settings.reconnect, heartbeatMs: settings.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, WebSocket: settings.WebSocket },
    );
  }

  private runSse(settings: SubscriptionSettings): void {
    runSseLoop({
      http: this.http,
      path: `${this.path}/subscribe`,
      after: () => this.resumeAfter(),
      onOpen: () => this.opened(),
      onFrame: (text) => this.receive(text),
      reconnect: settings.reconnect,
      // The server sends a keep-alive comment every 25 s (src/topic/topic-object.ts).
      idleTimeoutMs: 2 * (settings.heartbeatMs ?? DEFAULT_HEARTBEAT_MS),
      signal: this.abort.signal,
    }).then(
      () => this.finish(),
      (error: unknown) => this.finish(error),
    );
  }

  private opened(): void {
    this.opens++;
    this.options.onOpen?.({ reconnects: this.reconnects, after: this.connectedAfter });
  }

  /** One frame: a cursor frame moves the start; a message (or each of a batch's) is delivered unless already delivered. */
  private receive(text: string): void {
    if (this.settled) return;
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return; // "pong" and other non-JSON text
    }
    if (isCursorFrame(frame)) {
      this.received.onCursor(frame.cursor);
      this.enqueue({ cursor: frame.cursor });
      return;
    }
    if (isBatchFrame(frame)) {
      for (const message of frame.messages) if (isMessage(message)) this.deliver({ ...message, topic: frame.topic });
      return;
    }
    if (!isMessage(frame) || (frame as { type?: unknown }).type !== "message") return;
    const { type: _type, ...message } = frame as TopicMessage & { type: "message" };
    this.deliver(message);
  }

  private deliver(message: TopicMessage): void {
    if (this.settled || !this.received.accept(message)) return;
    this.enqueue({ message });
  }

  /** Toward the caller, in arrival order: the iterator's buffer, or the onMessage chain. */
  private enqueue(item: Item): void {
    const onMessage = this.options.onMessage;
    if (!onMessage) {
      this.channel.push(item);
      return;
    }
    this.delivering = this.delivering.then(async () => {
      if (this.settled) return;
      const message = this.hand(item);
      if (!message) return;
      try {
        await onMessage(message);
      } catch (error) {
        this.finish(error);
      }
    });
  }

  /** The caller gets this item now: its position moves; a cursor item yields no message. */
  private hand(item: Item): TopicMessage | null {
    if ("cursor" in item) {
      this.handed.onCursor(item.cursor);
      return null;
    }
    this.handed.accept(item.message);
    this.lastHanded = item.message.seq;
    return item.message;
  }

  private finish(error?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.abort.abort();
    this.socket?.close();
    this.channel.end(error);
    if (error === undefined) {
      this.resolveClosed();
    } else {
      this.options.onError?.(error);
      this.rejectClosed(error);
    }
  }
}

/** What travels toward the caller: a message, or a cursor frame's start (applied in order). */
type Item = { message: TopicMessage } | { cursor: string };

/** The answer to history without `?partition=` on a partitioned topic (DESIGN.md: 400 `partition_required`). */
function isPartitionRequired(error: unknown): boolean {
  return error instanceof EdgepostError && error.status === 400 && error.code === "partition_required";
}

function isMessage(value: unknown): value is TopicMessage {
  return typeof value === "object" && value !== null && typeof (value as { seq?: unknown }).seq === "number";
}

function isCursorFrame(frame: unknown): frame is { type: "cursor"; cursor: string } {
  return typeof frame === "object" && frame !== null && (frame as { type?: unknown }).type === "cursor" && typeof (frame as { cursor?: unknown }).cursor === "string";
}

function isBatchFrame(frame: unknown): frame is { type: "messages"; topic: string; messages: unknown[] } {
  return typeof frame === "object" && frame !== null && (frame as { type?: unknown }).type === "messages" && Array.isArray((frame as { messages?: unknown }).messages);
}
