/**
 * A queue consumer over a WebSocket: the server pushes messages while this consumer holds
 * fewer than `prefetch` leases; each delivered message carries `ack`, `nack` and `extend`.
 * Settling goes over the socket when it is open and over HTTP otherwise, so a result always
 * comes back. When the socket drops, the server releases this consumer's leases (they are
 * redelivered after the retry backoff) and the consumer reconnects by itself.
 */
import { Channel } from "./channel";
import { EdgepostError } from "./errors";
import { segment, type HttpClient } from "./http";
import { DEFAULT_HEARTBEAT_MS, ResilientSocket } from "./socket";
import type { SubscriptionSettings } from "./subscription";
import type { AckResponse, ExtendResponse, LeasedMessage, LeaseResult, NackResponse, QueueStats } from "./types";

/** A message delivered to a consumer, with helpers that settle its lease. */
export interface ConsumedMessage extends LeasedMessage {
  queue: string;
  /** Delete the message. Calling again returns the first result. */
  ack(): Promise<LeaseResult>;
  /** Make it visible again after `delaySeconds` (default: the queue's backoff). */
  nack(options?: { delaySeconds?: number }): Promise<LeaseResult>;
  /** Keep the lease for `visibilityTimeoutSeconds` from now. */
  extend(visibilityTimeoutSeconds: number): Promise<LeaseResult>;
  /** True once ack or nack was called. */
  readonly settled: boolean;
}

export interface ConsumeOptions {
  /** Leases held at once (1-1000, default 10 on the server). */
  prefetch?: number;
  /** Lease length for this consumer's deliveries (default: the queue's). */
  visibilityTimeoutSeconds?: number;
  /**
   * Called for each message, concurrently up to `prefetch`. When it returns without settling
   * the message, the message is acked; when it throws, nacked (and `onError` is told).
   * Without a handler, iterate the consumer with `for await` and settle each message yourself.
   */
  handler?: (message: ConsumedMessage) => void | Promise<void>;
  /** Handler errors (the message was nacked) and the error that ends the consumer. */
  onError?: (error: unknown) => void;
  /** Called on every (re)connection. */
  onOpen?: (info: { reconnects: number }) => void;
  signal?: AbortSignal;
}

type Op = "ack" | "nack" | "extend";

interface Pending {
  resolve: (result: LeaseResult) => void;
  reject: (error: unknown) => void;
  fallback: () => Promise<LeaseResult>;
}

/**
 * A running consumer.
 *
 * @example
 * ```ts
 * const consumer = client.consume("emails", {
 *   prefetch: 20,
 *   handler: async (message) => {
 *     await send(message.data);
 *     await message.ack(); // or return normally: acked for you
 *   },
 * });
 * // later
 * consumer.close();
 * ```
 */
export class QueueConsumer implements AsyncIterable<ConsumedMessage> {
  private readonly channel = new Channel<ConsumedMessage>(() => this.close());
  private readonly socket: ResilientSocket;
  /** Settles sent over the socket and waiting for their result frame, by op and lease id. */
  private readonly pending = new Map<string, Pending>();
  private settled = false;
  private resolveClosed!: () => void;
  private rejectClosed!: (error: unknown) => void;
  readonly closed: Promise<void>;

  constructor(
    private readonly http: HttpClient,
    readonly queue: string,
    private readonly options: ConsumeOptions,
    settings: SubscriptionSettings,
  ) {
    this.closed = new Promise<void>((resolve, reject) => {
      this.resolveClosed = resolve;
      this.rejectClosed = reject;
    });
    this.closed.catch(() => {});
    const path = `/v1/queues/${segment(queue)}`;
    this.socket = new ResilientSocket(
      {
        url: async (previousFailed) => {
          // Stats need the same `consume` scope: a failed upgrade's reason comes back here.
          if (previousFailed) await this.http.request<QueueStats>(path);
          return this.http.socketUrl(`${path}/consume`, {
            prefetch: options.prefetch,
            visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
          });
        },
        onOpen: () => options.onOpen?.({ reconnects: Math.max(0, this.socket.opens - 1) }),
        onMessage: (text) => this.receive(text),
        onDrop: () => this.askPendingOverHttp(),
        onEnd: (error) => this.finish(error),
      },
      { reconnect: settings.reconnect, heartbeatMs: settings.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, WebSocket: settings.WebSocket },
    );
    if (options.signal?.aborted) this.close();
    options.signal?.addEventListener("abort", () => this.close(), { once: true });
  }

  /** Connections made after the first one. */
  get reconnects(): number {
    return Math.max(0, this.socket.opens - 1);
  }

  close(): void {
    this.finish();
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumedMessage> {
    if (this.options.handler) throw new Error("this consumer delivers to its handler; it cannot also be iterated");
    return this.channel[Symbol.asyncIterator]();
  }

  private receive(text: string): void {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return; // "pong"
    }
    if (typeof frame !== "object" || frame === null) return;
    const type = (frame as { type?: unknown }).type;
    if (type === "message") this.deliver(frame as LeasedMessage & { type: "message"; queue: string });
    else if (type === "result") this.settle(frame as LeaseResult & { op: Op });
  }

  private deliver(frame: LeasedMessage & { type: "message"; queue: string }): void {
    if (this.settled) return;
    const { type: _type, ...leased } = frame;
    const message = this.wrap(leased);
    const handler = this.options.handler;
    if (!handler) {
      this.channel.push(message);
      return;
    }
    void (async () => {
      try {
        await handler(message);
        if (!message.settled) await message.ack();
      } catch (error) {
        this.options.onError?.(error);
        if (!message.settled) await message.nack().catch(() => {});
      }
    })();
  }

  private wrap(leased: LeasedMessage & { queue: string }): ConsumedMessage {
    let outcome: Promise<LeaseResult> | null = null;
    const send = (op: Op, extra: Record<string, number | undefined>): Promise<LeaseResult> =>
      this.send(op, leased.leaseId, extra);
    return {
      ...leased,
      get settled() {
        return outcome !== null;
      },
      ack: () => (outcome ??= send("ack", {})),
      nack: (options = {}) => (outcome ??= send("nack", { delaySeconds: options.delaySeconds })),
      extend: (visibilityTimeoutSeconds) => send("extend", { visibilityTimeoutSeconds }),
    };
  }

  /** Over the socket when it is open (the result frame answers), else over HTTP. */
  private send(op: Op, leaseId: string, extra: Record<string, number | undefined>): Promise<LeaseResult> {
    const fallback = () => this.overHttp(op, leaseId, extra);
    const key = `${op}:${leaseId}`;
    if (this.pending.has(key) || !this.socket.send(JSON.stringify({ type: op, leaseId, ...extra }))) return fallback();
    return new Promise<LeaseResult>((resolve, reject) => this.pending.set(key, { resolve, reject, fallback }));
  }

  private async overHttp(op: Op, leaseId: string, extra: Record<string, number | undefined>): Promise<LeaseResult> {
    const path = `/v1/queues/${segment(this.queue)}/${op}`;
    const body = { leaseIds: [leaseId], ...extra };
    const response = await this.http.request<AckResponse | NackResponse | ExtendResponse>(path, { method: "POST", body });
    const result = response.results[0];
    if (!result) throw new EdgepostError(200, "invalid_response", `${op} answered without a result`);
    return result;
  }

  private settle(result: LeaseResult & { op: Op }): void {
    const key = `${result.op}:${result.leaseId}`;
    const pending = this.pending.get(key);
    if (!pending) return;
    this.pending.delete(key);
    const { op: _op, ...leaseResult } = result;
    pending.resolve(leaseResult as LeaseResult);
  }

  /**
   * Settles whose result frame can no longer come (the socket is gone): ask over HTTP. If the
   * server applied the settle before the drop, HTTP answers `stale`; if not, the lease was
   * released with the socket and the message will be delivered again.
   */
  private askPendingOverHttp(): void {
    for (const pending of this.pending.values()) pending.fallback().then(pending.resolve, pending.reject);
    this.pending.clear();
  }

  private finish(error?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.socket.close();
    this.askPendingOverHttp();
    this.channel.end(error);
    if (error === undefined) {
      this.resolveClosed();
    } else {
      this.options.onError?.(error);
      this.rejectClosed(error);
    }
  }
}
