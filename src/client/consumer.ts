/**
 * A queue consumer over a WebSocket: the server pushes messages while this consumer holds
 * fewer than `prefetch` leases; each delivered message carries `ack`, `nack` and `extend`.
 * Settling goes over the socket when it is open and over HTTP otherwise, so a result always
 * comes back. When the socket drops, the server releases this consumer's leases (they are
 * redelivered after the retry backoff) and the consumer reconnects by itself.
 *
 * Batching: the socket asks for `batch=1` (pushed messages come as `{"type":"messages"}`
 * frames), and the acks and nacks called within one turn of the event loop leave as one
 * `{"type":"ack","leaseIds":[...]}` frame (up to 100 ids each), answered by one
 * `{"type":"results"}` frame: far fewer frames, and one commit on the server for all of them.
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
  /** Ask for pushed batches (`batch=1`, default true). Acks are batched either way. */
  batch?: boolean;
}

type Op = "ack" | "nack" | "extend";

/** Lease ids per batched ack or nack frame (the server's limit, src/protocol/limits.ts). */
const MAX_LEASE_IDS_PER_FRAME = 100;

interface OutgoingSettle {
  op: "ack" | "nack";
  leaseId: string;
  delaySeconds?: number;
}

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
  /** Acks and nacks waiting for the end of this turn, to leave as batched frames. */
  private outgoing: OutgoingSettle[] = [];
  private flushScheduled = false;
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
            batch: options.batch === false ? undefined : 1,
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
    else if (type === "messages") {
      const batch = frame as { queue: string; messages: LeasedMessage[] };
      if (!Array.isArray(batch.messages)) return;
      for (const leased of batch.messages) this.deliver({ ...leased, type: "message", queue: batch.queue });
    } else if (type === "result") this.settle(frame as LeaseResult & { op: Op });
    else if (type === "results") {
      const { op, results } = frame as { op: Op; results: LeaseResult[] };
      if (!Array.isArray(results)) return;
      for (const result of results) this.settle({ ...result, op });
    }
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

  /**
   * Over the socket when it is open (the result frame answers), else over HTTP. Acks and
   * nacks wait for the end of the turn and leave together (`flushSettles`).
   */
  private send(op: Op, leaseId: string, extra: Record<string, number | undefined>): Promise<LeaseResult> {
    const fallback = () => this.overHttp(op, leaseId, extra);
    const key = `${op}:${leaseId}`;
    if (this.pending.has(key) || !this.socket.isOpen) return fallback();
    if (op === "extend") {
      if (!this.socket.send(JSON.stringify({ type: op, leaseId, ...extra }))) return fallback();
      return new Promise<LeaseResult>((resolve, reject) => this.pending.set(key, { resolve, reject, fallback }));
    }
    return new Promise<LeaseResult>((resolve, reject) => {
      this.pending.set(key, { resolve, reject, fallback });
      this.outgoing.push({ op, leaseId, delaySeconds: extra.delaySeconds });
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      setTimeout(() => this.flushSettles(), 0);
    });
  }

  /** Send the turn's acks and nacks: one frame per op (and nack delay), 100 lease ids at most. */
  private flushSettles(): void {
    this.flushScheduled = false;
    const outgoing = this.outgoing;
    this.outgoing = [];
    const frames = new Map<string, { op: "ack" | "nack"; delaySeconds?: number; leaseIds: string[] }>();
    for (const settle of outgoing) {
      // Already answered over HTTP (the socket dropped or the consumer closed meanwhile).
      if (!this.pending.has(`${settle.op}:${settle.leaseId}`)) continue;
      const group = `${settle.op}:${settle.delaySeconds ?? ""}`;
      let frame = frames.get(group);
      if (!frame) frames.set(group, (frame = { op: settle.op, ...(settle.delaySeconds === undefined ? {} : { delaySeconds: settle.delaySeconds }), leaseIds: [] }));
      frame.leaseIds.push(settle.leaseId);
    }
    for (const { op, delaySeconds, leaseIds } of frames.values()) {
      for (let start = 0; start < leaseIds.length; start += MAX_LEASE_IDS_PER_FRAME) {
        const chunk = leaseIds.slice(start, start + MAX_LEASE_IDS_PER_FRAME);
        const text = JSON.stringify({ type: op, leaseIds: chunk, ...(delaySeconds === undefined ? {} : { delaySeconds }) });
        if (this.socket.send(text)) continue;
        for (const leaseId of chunk) {
          const pending = this.pending.get(`${op}:${leaseId}`);
          if (!pending) continue;
          this.pending.delete(`${op}:${leaseId}`);
          pending.fallback().then(pending.resolve, pending.reject);
        }
      }
    }
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
