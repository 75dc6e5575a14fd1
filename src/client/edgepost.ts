/**
 * The edgepost client: one object per server and credential, with the whole HTTP API as
 * methods, plus live topic subscriptions and queue consumers over WebSocket (or SSE).
 */
import { QueueConsumer, type ConsumeOptions } from "./consumer";
import { DEFAULT_RETRY, HttpClient, segment, type FetchLike, type RetryOptions } from "./http";
import { DEFAULT_RECONNECT, type ReconnectOptions } from "./socket";
import { Subscription, type SubscribeOptions, type SubscriptionSettings } from "./subscription";
import type {
  AckResponse,
  ExtendResponse,
  HistoryPage,
  JsonValue,
  LeasedMessage,
  MintedToken,
  MintTokenInput,
  NackResponse,
  PublishResult,
  PullOptions,
  QueueConfigAnswer,
  PushSettingsInput,
  QueueConfigInput,
  QueueMessageInput,
  QueueStats,
  TopicConfig,
  TopicConfigInput,
  TopicMessageInput,
  TopicStats,
} from "./types";

export interface EdgepostOptions {
  /** The worker's origin, e.g. `https://edgepost.example.workers.dev` or `http://localhost:8787`. */
  url: string;
  /** The root key (servers only) or a scoped token. */
  token: string;
  /**
   * Retries of requests that are safe to repeat, on no answer, 429, 502-504 (default: 3
   * tries, 200 ms doubling to 5 s, with jitter). `{ attempts: 1 }` turns them off.
   */
  retry?: Partial<RetryOptions>;
  /**
   * Give each publish without an `id` a random one, so that a retried publish is stored once
   * (the server deduplicates ids within its window). Default true. The price is one dedup
   * entry per message on the server (measured locally on a busy 2-core machine: a single
   * publish took ~20 ms instead of ~14 ms). With `false`, publishes without an `id` are
   * never retried, since a lost answer could hide a stored message.
   */
  idempotentPublish?: boolean;
  /** Reconnect backoff for subscriptions and consumers (default 500 ms growing 1.5x to 10 s, plus jitter). */
  reconnect?: Partial<ReconnectOptions>;
  /** Heartbeat period on sockets, in ms (default 30000; 0 turns it off). */
  heartbeatMs?: number;
  /** A fetch to use instead of the global one (e.g. a Workers service binding's `fetch`). */
  fetch?: FetchLike;
  /** A WebSocket constructor where there is no global one (e.g. the `ws` package on old Node). */
  WebSocket?: unknown;
}

export interface MessageOptions {
  /** Idempotency key: a repeat within the dedup window returns the original seq. */
  id?: string;
  attributes?: Record<string, string>;
}

export interface PublishOptions extends MessageOptions {
  /**
   * Partition key (1-256 chars), on a partitioned topic: messages with the same key go to the
   * same partition and keep their publish order. Without it the `id` picks the partition.
   */
  key?: string;
}

export interface HistoryOptions {
  /** Messages with seq > after (default 0). */
  after?: number;
  /** 1-1000, default 100. */
  limit?: number;
  /** Which partition, on a partitioned topic (required there: 400 without it). */
  partition?: number;
}

export interface EnqueueOptions extends MessageOptions {
  /** Deliver no earlier than this many seconds from now. */
  delaySeconds?: number;
}

/**
 * A client for one edgepost server. Works in browsers, Node 22+ and Workers: it needs only
 * fetch, WebSocket and streams.
 *
 * @example
 * ```ts
 * import { Edgepost } from "edgepost/client";
 *
 * const client = new Edgepost({ url: "http://localhost:8787", token: "dev-root-key" });
 * const { seq } = await client.publish("orders", { order: 42 }, { id: "order-42" });
 * for await (const message of client.subscribe("orders", { after: seq - 1 })) {
 *   console.log(message.seq, message.data);
 * }
 * ```
 */
export class Edgepost {
  private readonly http: HttpClient;
  private readonly settings: SubscriptionSettings;
  private readonly idempotentPublish: boolean;

  constructor(options: EdgepostOptions) {
    if (!options.url) throw new TypeError("Edgepost: `url` is required");
    if (!options.token) throw new TypeError("Edgepost: `token` is required");
    const fetchFn: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
    this.http = new HttpClient(options.url, options.token, fetchFn, { ...DEFAULT_RETRY, ...options.retry });
    this.idempotentPublish = options.idempotentPublish ?? true;
    this.settings = {
      reconnect: { ...DEFAULT_RECONNECT, ...options.reconnect },
      heartbeatMs: options.heartbeatMs,
      WebSocket: options.WebSocket,
    };
  }

  // ---- Topics ---------------------------------------------------------------------------------

  /**
   * Publish one message to a topic. On a partitioned topic the answer says its `partition`.
   *
   * @example
   * ```ts
   * const { seq, duplicate } = await client.publish("orders", { total: 9.5 }, { id: "order-42", attributes: { kind: "created" } });
   * const { partition } = await client.publish("events", { clicked: true }, { key: "user-17" }); // same key, same partition, in order
   * ```
   */
  publish(topic: string, data: JsonValue, options: PublishOptions = {}): Promise<PublishResult> {
    return this.http.request<PublishResult>(`/v1/topics/${segment(topic)}/messages`, {
      method: "POST",
      body: this.withId({ data, ...options }),
      idempotent: this.canRetry(options.id),
    });
  }

  /**
   * Publish up to 100 messages in order, all or nothing (on a partitioned topic: per
   * partition; every message has an `id`, so retrying a failed batch is safe).
   *
   * @example
   * ```ts
   * const results = await client.publishBatch("orders", [{ data: 1 }, { data: 2, id: "two", key: "user-17" }]);
   * ```
   */
  async publishBatch(topic: string, messages: TopicMessageInput[]): Promise<PublishResult[]> {
    const body = { messages: messages.map((message) => this.withId(message)) };
    const response = await this.http.request<{ messages: PublishResult[] }>(`/v1/topics/${segment(topic)}/messages`, {
      method: "POST",
      body,
      idempotent: body.messages.every((message) => message.id !== undefined),
    });
    return response.messages;
  }

  /**
   * Read retained messages with seq > `after` (default 0), oldest first, up to `limit` (1-1000,
   * default 100). A partitioned topic is read one `partition` at a time.
   *
   * @example
   * ```ts
   * const { messages, lastSeq } = await client.history("orders", { after: 0, limit: 10 });
   * const page = await client.history("events", { partition: 2, after: 40 });
   * ```
   */
  history(topic: string, options: HistoryOptions = {}): Promise<HistoryPage> {
    return this.http.request<HistoryPage>(`/v1/topics/${segment(topic)}/messages`, {
      query: { after: options.after, limit: options.limit, partition: options.partition },
      idempotent: true,
    });
  }

  /**
   * Subscribe to a topic: messages in seq order, resumed without gap or duplicate after
   * every reconnect. Iterate it, or pass `onMessage`. On a partitioned topic one subscription
   * gets every partition (in order within each), each message says its `partition`, and
   * `subscription.cursor` (`"12,40,7"`) is where it stands: pass it as `after` to resume.
   * Throws TypeError when `after` is neither a seq nor a cursor.
   *
   * @example
   * ```ts
   * const subscription = client.subscribe("orders", {
   *   after: 0,
   *   onMessage: (message) => console.log(message.seq, message.data),
   * });
   * subscription.close();
   * ```
   */
  subscribe(topic: string, options: SubscribeOptions = {}): Subscription {
    return new Subscription(this.http, topic, options, this.settings);
  }

  /** @example `const { lastSeq, subscribers } = await client.topicStats("orders");` */
  topicStats(topic: string): Promise<TopicStats> {
    return this.http.request<TopicStats>(`/v1/topics/${segment(topic)}`, { idempotent: true });
  }

  /**
   * @example `await client.configureTopic("orders", { retentionSeconds: 86_400 });`
   * @example `await client.configureTopic("events", { partitions: 8, relays: 4 }); // partitions grow only (409 partitions_shrink)`
   */
  configureTopic(topic: string, config: TopicConfigInput): Promise<TopicConfig> {
    return this.http.request<TopicConfig>(`/v1/topics/${segment(topic)}`, { method: "PUT", body: config, idempotent: true });
  }

  /** Every message published to `topic` from now on is enqueued to `queue` (optionally filtered by attributes). */
  bindQueue(topic: string, queue: string, filter?: Record<string, string>): Promise<unknown> {
    return this.http.request(`/v1/topics/${segment(topic)}/subscriptions/${segment(queue)}`, {
      method: "PUT",
      body: filter ? { filter } : {},
      idempotent: true,
    });
  }

  unbindQueue(topic: string, queue: string): Promise<unknown> {
    return this.http.request(`/v1/topics/${segment(topic)}/subscriptions/${segment(queue)}`, { method: "DELETE" });
  }

  /**
   * Delete the topic: its log, settings, subscribers (closed 1001) and bindings; the name
   * starts afresh. Throws EdgepostError `not_found` (404) when there was nothing.
   */
  deleteTopic(topic: string): Promise<{ name: string; deleted: true }> {
    return this.http.request(`/v1/topics/${segment(topic)}`, { method: "DELETE" });
  }

  // ---- Queues ---------------------------------------------------------------------------------

  /** @example `await client.enqueue("emails", { to: "a@example.com" }, { delaySeconds: 60 });` */
  enqueue(queue: string, data: JsonValue, options: EnqueueOptions = {}): Promise<PublishResult> {
    return this.http.request<PublishResult>(`/v1/queues/${segment(queue)}/messages`, {
      method: "POST",
      body: this.withId({ data, ...options }),
      idempotent: this.canRetry(options.id),
    });
  }

  /** Up to 100 messages, all or nothing. */
  async enqueueBatch(queue: string, messages: QueueMessageInput[]): Promise<PublishResult[]> {
    const body = { messages: messages.map((message) => this.withId(message)) };
    const response = await this.http.request<{ messages: PublishResult[] }>(`/v1/queues/${segment(queue)}/messages`, {
      method: "POST",
      body,
      idempotent: body.messages.every((message) => message.id !== undefined),
    });
    return response.messages;
  }

  /**
   * Lease up to `max` (1-100, default 1) ready messages. With `waitSeconds` (0-20) and none
   * ready, the server holds the request until one is (long polling). Not retried: a lost
   * answer would leave its leases to expire.
   *
   * @example
   * ```ts
   * const [message] = await client.pull("emails", { max: 1, waitSeconds: 20 });
   * if (message) await client.ack("emails", message.leaseId);
   * ```
   */
  async pull(queue: string, options: PullOptions = {}): Promise<LeasedMessage[]> {
    const response = await this.http.request<{ messages: LeasedMessage[] }>(`/v1/queues/${segment(queue)}/pull`, {
      method: "POST",
      body: options,
    });
    return response.messages;
  }

  /** Delete leased messages. A stale lease acks nothing and says so. */
  ack(queue: string, leaseIds: string | string[]): Promise<AckResponse> {
    return this.http.request<AckResponse>(`/v1/queues/${segment(queue)}/ack`, { method: "POST", body: { leaseIds: toArray(leaseIds) } });
  }

  /** Make leased messages visible again after `delaySeconds` (default: the queue's backoff). */
  nack(queue: string, leaseIds: string | string[], options: { delaySeconds?: number } = {}): Promise<NackResponse> {
    return this.http.request<NackResponse>(`/v1/queues/${segment(queue)}/nack`, {
      method: "POST",
      body: { leaseIds: toArray(leaseIds), delaySeconds: options.delaySeconds },
    });
  }

  /** Keep leases for `visibilityTimeoutSeconds` from now. */
  extend(queue: string, leaseIds: string | string[], visibilityTimeoutSeconds: number): Promise<ExtendResponse> {
    return this.http.request<ExtendResponse>(`/v1/queues/${segment(queue)}/extend`, {
      method: "POST",
      body: { leaseIds: toArray(leaseIds), visibilityTimeoutSeconds },
    });
  }

  /**
   * Consume a queue over a WebSocket with up to `prefetch` messages leased at once.
   *
   * @example
   * ```ts
   * const consumer = client.consume("emails", { prefetch: 10, handler: async (message) => {
   *   await deliver(message.data);
   *   await message.ack();
   * } });
   * ```
   */
  consume(queue: string, options: ConsumeOptions = {}): QueueConsumer {
    return new QueueConsumer(this.http, queue, options, this.settings);
  }

  /** @example `const { ready, inFlight, deadLettered } = await client.queueStats("emails");` */
  queueStats(queue: string): Promise<QueueStats> {
    return this.http.request<QueueStats>(`/v1/queues/${segment(queue)}`, { idempotent: true });
  }

  /**
   * @example `await client.configureQueue("emails", { maxAttempts: 3, deadLetterQueue: "emails-dlq" });`
   * @example `const { push } = await client.configureQueue("hooks", { push: { url: "https://example.com/hook" } }); // push.secret: keep it`
   */
  configureQueue(queue: string, config: QueueConfigInput): Promise<QueueConfigAnswer> {
    return this.http.request<QueueConfigAnswer>(`/v1/queues/${segment(queue)}`, { method: "PUT", body: config, idempotent: true });
  }

  /**
   * Make `queue` a push queue: each message is POSTed to `push.url`, signed (Standard Webhooks),
   * or stop with `null`. Answers the push settings, with `secret` when it was generated.
   */
  async setPush(queue: string, push: PushSettingsInput | null): Promise<QueueConfigAnswer["push"]> {
    return (await this.configureQueue(queue, { push })).push;
  }

  /** Delete the queue: messages, settings, consumers (closed 1001), bindings. 404 `not_found` when there was nothing. */
  deleteQueue(queue: string): Promise<{ name: string; deleted: true }> {
    return this.http.request(`/v1/queues/${segment(queue)}`, { method: "DELETE" });
  }

  /** Delete every message of the queue. */
  purgeQueue(queue: string): Promise<{ purged: number }> {
    return this.http.request(`/v1/queues/${segment(queue)}/messages`, { method: "DELETE" });
  }

  /** Move a (dead-letter) queue's messages back where they came from, or to `to`. */
  redrive(queue: string, options: { to?: string; max?: number } = {}): Promise<{ moved: number; skipped: number }> {
    return this.http.request(`/v1/queues/${segment(queue)}/redrive`, { method: "POST", body: options });
  }

  // ---- Credentials ------------------------------------------------------------------------------

  /**
   * Mint a scoped, expiring token (root key only), e.g. for a browser.
   *
   * @example
   * ```ts
   * const { token } = await admin.mintToken({ scopes: { subscribe: ["orders.*"] }, ttlSeconds: 3600, subject: "user-17" });
   * const browserClient = new Edgepost({ url, token });
   * ```
   */
  mintToken(input: MintTokenInput): Promise<MintedToken> {
    return this.http.request<MintedToken>("/v1/tokens", { method: "POST", body: input, idempotent: true });
  }

  private canRetry(id: string | undefined): boolean {
    return id !== undefined || this.idempotentPublish;
  }

  private withId<T extends { id?: string | undefined }>(message: T): T {
    if (message.id !== undefined || !this.idempotentPublish) return message;
    return { ...message, id: randomId() };
  }
}

function toArray(value: string | string[]): string[] {
  return Array.isArray(value) ? value : [value];
}

/** crypto.randomUUID is missing in insecure (plain http, non-localhost) browser pages. */
function randomId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
