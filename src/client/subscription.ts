/**
 * A topic subscription: messages in seq order, with no gap and no duplicate across
 * reconnects. Every (re)connection asks for `after=<last seq delivered>`, and any frame at or
 * below that seq is dropped, so a replay that overlaps what was already seen is harmless.
 * WebSockets ask for batched frames (`batch=1`): a replay page or a burst of publishes comes
 * as one `{"type":"messages"}` frame, delivered here one message at a time all the same.
 */
import { DEFAULT_HEARTBEAT_MS, ResilientSocket, type ReconnectOptions } from "./socket";
import { Channel } from "./channel";
import { segment, type HttpClient } from "./http";
import { runSseLoop } from "./sse";
import type { HistoryPage, TopicMessage } from "./types";

/** Larger than any seq: history after it is empty and still says the topic's lastSeq. */
const BEYOND_ANY_SEQ = 999_999_999_999_999;

export interface SubscribeOptions {
  /**
   * Deliver messages with seq > after (0 = the whole retained log). Without it the
   * subscription starts at the topic's current end (found with one HTTP request, so even a
   * reconnect before the first message leaves no gap).
   */
  after?: number;
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
  /** Called on every (re)connection: `reconnects` counts those after the first. */
  onOpen?: (info: { reconnects: number; after: number | null }) => void;
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
  private readonly channel = new Channel<TopicMessage>(() => this.close());
  private readonly abort = new AbortController();
  private socket: ResilientSocket | null = null;
  private delivering: Promise<void> = Promise.resolve();
  private lastDelivered: number | null = null;
  private start: number | null;
  private opens = 0;
  private settled = false;
  private resolveClosed!: () => void;
  private rejectClosed!: (error: unknown) => void;
  /** Resolves when the subscription is closed; rejects with the error that ended it. */
  readonly closed: Promise<void>;

  constructor(
    private readonly http: HttpClient,
    readonly topic: string,
    private readonly options: SubscribeOptions,
    settings: SubscriptionSettings,
  ) {
    this.start = options.after ?? null;
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

  /** The seq of the last message delivered; null before the first. */
  get lastSeq(): number | null {
    return this.lastDelivered;
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
    return this.channel[Symbol.asyncIterator]();
  }

  private get path(): string {
    return `/v1/topics/${segment(this.topic)}`;
  }

  /** Where the next connection resumes: the last seq delivered, else the start. */
  private async resumeAfter(): Promise<number> {
    if (this.lastDelivered !== null) return this.lastDelivered;
    if (this.start === null) this.start = (await this.probe()).lastSeq;
    return this.start;
  }

  /** History after the end: checks credentials and scope, and says the topic's lastSeq. */
  private probe(): Promise<HistoryPage> {
    return this.http.request<HistoryPage>(`${this.path}/messages`, {
      query: { after: BEYOND_ANY_SEQ, limit: 1 },
      signal: this.abort.signal,
    });
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
    this.options.onOpen?.({ reconnects: this.reconnects, after: this.lastDelivered ?? this.start });
  }

  /** One frame: deliver its message, or each of a batch's, unless its seq was already delivered. */
  private receive(text: string): void {
    if (this.settled) return;
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return; // "pong" and other non-JSON text
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
    if (this.settled) return;
    if (this.lastDelivered !== null && message.seq <= this.lastDelivered) return;
    this.lastDelivered = message.seq;
    const onMessage = this.options.onMessage;
    if (!onMessage) {
      this.channel.push(message);
      return;
    }
    this.delivering = this.delivering.then(async () => {
      if (this.settled) return;
      try {
        await onMessage(message);
      } catch (error) {
        this.finish(error);
      }
    });
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

function isMessage(value: unknown): value is TopicMessage {
  return typeof value === "object" && value !== null && typeof (value as { seq?: unknown }).seq === "number";
}

function isBatchFrame(frame: unknown): frame is { type: "messages"; topic: string; messages: unknown[] } {
  return typeof frame === "object" && frame !== null && (frame as { type?: unknown }).type === "messages" && Array.isArray((frame as { messages?: unknown }).messages);
}

