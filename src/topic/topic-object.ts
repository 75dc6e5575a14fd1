/**
 * The Topic Durable Object: one per topic name, the single sequencer of its log.
 *
 * Its state: the retained log (log.ts), its settings (config.ts), the WebSocket and SSE
 * subscribers it fans out to (fanout.ts), and the queues bound to it with the outbox that
 * forwards to them (forwarding.ts). One alarm (timers/) trims retention, expires idempotency
 * keys and retries forwarding.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import type { MessageRow, PreparedMessage } from "../protocol/frames";
import type { TopicConfig, TopicConfigInput, TopicStats } from "../protocol/schemas";
import { MAX_SOCKETS_PER_OBJECT } from "../protocol/limits";
import { answered, type Outcome } from "../protocol/errors";
import { parsePartitionObjectName, type PartitionName } from "../partition/names";
import type { TopicRoute } from "../partition/route";
import { PartitionPeers, type PartitionState, type QueueBinding } from "../partition/peers";
import { checkPartitionRead, closeAll, partitionStatsOf, routedHere, syncBindings, type PartitionPage, type RoutedPublish } from "../partition/object-side";
import { onSubscriberFrame } from "../sockets/subscriber-socket";
import { reciprocateClose } from "../sockets/close";
import { migrate } from "../storage/migrations";
import { Registration } from "../directory/registration";
import { hasRows, wipe } from "../lifecycle/wipe";
import { AlarmScheduler } from "../timers/alarm-scheduler";
import { GroupCommit, type Applied } from "../commit/group-commit";
import { loadTopicConfig, saveTopicConfig } from "./config";
import { Fanout } from "./fanout";
import { Forwarder } from "./forwarding";
import { TopicLog, type AppendResult, type HistoryPage } from "./log";
import { dueAfterPublish, nextDueAt } from "./due";
import { TOPIC_MIGRATIONS } from "./schema";
import { SseKeepAlive } from "../sockets/sse-keep-alive";
import { RelayFeed } from "../relay/feed";
import type { RelayAttachment, SubscriberCounts } from "../relay/feed-protocol";
import { destroyRelays } from "../relay/destroy";
import { rerouteToRelays } from "../relay/subscribe";

/** What the worker forwards to `fetch` for a subscribe; validated there. */
export interface SubscribeRequest {
  transport: "websocket" | "sse";
  /** Replay messages with seq > after; null starts with the next message published. */
  after: number | null;
  /** When the subscriber's credential expires (ms); null for the root key. */
  expiresAt: number | null;
  /** WebSocket only: `batch=1`, send `{"type":"messages"}` frames. */
  batch?: boolean;
}

/** One publish request as the group commit applied it. */
interface Appended {
  results: AppendResult[];
  stored: MessageRow[];
  /** When the forwarding outbox wants a retry for these messages, or null. */
  owedAt: number | null;
}

export class TopicObject extends DurableObject<Env> {
  /** Which topic and partition this object is (`<topic>` is partition 0, `<topic>#<i>` partition i). */
  private readonly place: PartitionName;
  /** Partition 0's pushes to partitions 1..P-1 (settings, bindings, delete). */
  private readonly peers: PartitionPeers;
  // Set by open(), which runs again after a delete (lifecycle/wipe.ts).
  private log!: TopicLog;
  private config!: TopicConfig;
  private fanout!: Fanout;
  private forwarder!: Forwarder;
  private alarms!: AlarmScheduler;
  private registration!: Registration;
  /** Publishes that arrive together share one transaction (commit/group-commit.ts). */
  private publishes!: GroupCommit<PreparedMessage[], Appended>;
  private keepAlive!: SseKeepAlive;
  /** Relays holding this topic's subscribers, fed from here (relay/feed.ts). */
  private relayFeed!: RelayFeed;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.place = parsePartitionObjectName(this.objectName);
    this.peers = new PartitionPeers(env, () => this.name);
    this.open();
    // Answer keep-alive pings without waking a hibernated object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    this.fanout.resumeReplays();
    // After a restart, what each relay holds is unknown: the alarm re-syncs them at once.
    if (this.relayFeed.registered().length > 0) void this.alarms.rearm();
  }

  /** Load the topic's state from storage (empty after a delete: a fresh topic). */
  private open(): void {
    const { ctx, env } = this;
    migrate(ctx.storage, TOPIC_MIGRATIONS);
    this.log = new TopicLog(ctx.storage);
    this.config = loadTopicConfig(ctx.storage.sql);
    this.fanout = new Fanout(ctx, this.log, () => this.name);
    this.keepAlive = new SseKeepAlive(() => this.fanout.sse.size, () => this.fanout.keepAliveSse());
    // Forwards are keyed by the object's name: each partition is its own origin of seqs at the queue.
    this.forwarder = new Forwarder(ctx.storage, env, this.log, () => this.objectName, () => this.alarms.rearm());
    this.alarms = new AlarmScheduler(ctx.storage, () => this.nextDueAt());
    this.relayFeed = new RelayFeed({
      env,
      sql: ctx.storage.sql,
      topic: () => this.name,
      partition: () => this.place.partition,
      lastSeq: () => this.log.lastSeq,
      partitions: () => this.config.partitions,
      retryBy: (at) => void this.alarms.ensureBy(at),
    });
    this.registration = new Registration(ctx, env, "topic", () => this.name);
    this.publishes = new GroupCommit(ctx.storage, {
      apply: (messages, now) => this.append(messages, now),
      checkpoint: () => this.log.checkpoint(),
      afterCommit: (applied, now) => this.afterPublish(applied, now),
      weigh: (messages) => messages.length,
    });
  }

  /** The object's name: `ctx.id.name` is set for objects reached by name (changelog 2026-03-15). */
  get objectName(): string {
    return this.ctx.id.name ?? this.ctx.id.toString();
  }

  /** The topic's name as clients know it, shown in frames and answers (the same for every partition). */
  get name(): string {
    return this.place.topic;
  }

  /** Only partition 0 stands for the topic in the directory's listings. */
  private register(): void {
    if (this.place.partition === 0) this.registration.ensure();
  }

  // ---- RPC, called by the worker -------------------------------------------------------

  /**
   * Append messages (all or nothing, in order) and deliver them. Publishes arriving together
   * are written in one transaction; the answer leaves once it is durable.
   */
  async publish(messages: PreparedMessage[]): Promise<AppendResult[]> {
    return (await this.publishes.submit(messages)).results;
  }

  /**
   * A publish routed for a topic of `partitions` partitions (partition/publish.ts); refused, storing
   * nothing, when this partition holds another count (a stale route: the worker reads it again).
   * A failure is answered as a value, never thrown over RPC (protocol/errors.ts `answered`).
   */
  async publishRouted(messages: PreparedMessage[], partitions: number): Promise<Outcome<RoutedPublish>> {
    return answered<RoutedPublish>(`topic ${this.objectName}: publish`, async () => {
      if (!routedHere(this.place.partition, this.config.partitions, partitions)) return { ok: false, partitions: this.config.partitions };
      return { ok: true, results: await this.publish(messages) };
    });
  }

  /** One publish's writes: the log and the forwarding outbox. */
  private append(messages: readonly PreparedMessage[], now: number): Appended {
    const { results, stored } = this.log.append(messages, now, this.config.dedupWindowSeconds * 1000);
    const owedAt = stored.length > 0 ? this.forwarder.enqueue(stored, now) : null;
    return { results, stored, owedAt };
  }

  /** After a group of publishes committed: deliver in seq order, then make sure of the alarm. */
  private async afterPublish(applied: readonly Applied<PreparedMessage[], Appended>[], now: number): Promise<void> {
    const stored = applied.flatMap(({ result }) => result.stored);
    if (stored.length === 0) return;
    this.register();
    // Before any await: the next group's messages must not overtake these.
    this.fanout.deliver(stored);
    this.relayFeed.delivered(stored);
    const owedAt = applied.reduce<number | null>((min, { result }) => (result.owedAt === null ? min : Math.min(min ?? result.owedAt, result.owedAt)), null);
    await this.alarms.ensureBy(dueAfterPublish(this.log, this.config, now, applied.flatMap(({ input }) => input), owedAt));
    this.forwarder.kick();
  }

  history(after: number, limit: number): HistoryPage {
    return { messages: this.log.readAfter(after, limit), lastSeq: this.log.lastSeq };
  }

  /** History by partition (partition/history.ts); null: none named. */
  readPartition(after: number, limit: number, partition: number | null): Outcome<PartitionPage> {
    const refused = checkPartitionRead(this.name, this.place.partition, this.config.partitions, partition);
    if (refused) return refused;
    return { ok: true, value: { ...this.history(after, limit), partitions: this.config.partitions } };
  }

  stats(): TopicStats {
    const retained = this.log.retained();
    const oldest = this.log.oldest();
    const connected = this.fanout.count();
    const relayed = this.relayFeed.subscribers();
    const own = { lastSeq: this.log.lastSeq, retainedMessages: retained.count, retainedBytes: retained.bytes, firstRetainedSeq: oldest?.seq ?? null, oldestRetainedAt: oldest?.publishedAt ?? null };
    return {
      name: this.name,
      lastSeq: this.log.lastSeq,
      // Relays report their counts about once a second (DESIGN.md: "may lag a few seconds").
      subscribers: connected.webSocket + connected.sse + relayed.webSocket + relayed.sse,
      webSocketSubscribers: connected.webSocket + relayed.webSocket,
      sseSubscribers: connected.sse + relayed.sse,
      retainedMessages: retained.count,
      retainedBytes: retained.bytes,
      firstRetainedSeq: oldest?.seq ?? null,
      oldestRetainedAt: oldest?.publishedAt ?? null,
      config: this.config,
      relays: this.config.relays,
      partitions: this.config.partitions,
      // Partition 0 only knows its own; partition/stats.ts adds the others'.
      partitionStats: [partitionStatsOf(this.place.partition, own)],
      subscriptions: this.forwarder.list(),
    };
  }

  /**
   * Change the topic's settings (partition 0; the worker never calls this on another partition).
   * Partitions 1..P-1 get them first: a route read from partition 0 then never sends a publish
   * to a partition that does not know its count yet.
   */
  async configure(update: TopicConfigInput): Promise<Outcome<TopicConfig>> {
    return this.peers.serial(async () => {
      const next = await this.peers.reconfigure(this.config, update, this.forwarder.list());
      if (!next.ok) return next;
      const before = this.config.partitions;
      this.config = saveTopicConfig(this.ctx.storage.sql, this.config, next.value);
      // Subscribers held here see only partition 0 once there are more: they reconnect (their
      // `after`, a seq of partition 0, is the partitioned topic's cursor).
      if (before === 1 && this.config.partitions > 1) closeAll([...this.fanout.webSocketSubscribers(), ...this.fanout.sse], `topic ${this.name} is now partitioned: reconnect`);
      this.register();
      // Relays learn a new partition count from the next feed; send it now.
      if (before !== this.config.partitions) this.relayFeed.kick();
      await this.alarms.rearm();
      return { ok: true, value: this.config };
    });
  }

  /** Partition i > 0: take the settings and bindings partition 0 holds (idempotent). */
  async configurePartition(state: PartitionState): Promise<void> {
    const grew = state.config.partitions !== this.config.partitions;
    this.config = saveTopicConfig(this.ctx.storage.sql, this.config, state.config);
    syncBindings(this.forwarder, state.subscriptions, Date.now());
    if (grew) this.relayFeed.kick();
    await this.alarms.rearm();
  }

  /** A relay (relay/relay-object.ts) attaches: it is fed every row after the answer's lastSeq. */
  attachRelay(relay: number, subscribers: SubscriberCounts): RelayAttachment {
    return this.relayFeed.attach(relay, subscribers);
  }

  /** A relay's subscriber count, for stats (partition 0). */
  reportRelay(relay: number, subscribers: SubscriberCounts): void {
    this.relayFeed.report(relay, subscribers);
  }

  /** Where the worker sends publishes and subscribers (partition/route.ts caches it); after a grow in progress. */
  route(): Promise<TopicRoute> {
    return this.peers.serial(async () => ({ partitions: this.config.partitions, relays: this.config.relays }));
  }

  /** Bind a queue; partition 0 binds every partition (partition/bindings.ts links them at the queue). */
  async bindQueue(queue: string, filter: Record<string, string> | null): Promise<QueueBinding> {
    const bindHere = () => this.forwarder.bind(queue, filter, Date.now());
    if (this.place.partition > 0) return { queue, filter, fromSeq: bindHere() };
    return this.peers.bindAll(() => this.config.partitions, queue, filter, bindHere);
  }

  /** Unbind a queue; partition 0 unbinds every partition. Whether this partition had it bound. */
  async unbindQueue(queue: string): Promise<boolean> {
    const removed = this.forwarder.unbind(queue);
    await this.alarms.rearm();
    if (this.place.partition === 0 && this.config.partitions > 1) await this.peers.serial(() => this.peers.unbind(this.config.partitions, queue));
    return removed;
  }

  /**
   * Delete the topic: bound queues forget it, the name leaves the listings, subscribers are
   * closed (1001), storage and alarm go. Returns false when there was nothing to delete.
   */
  async destroy(): Promise<boolean> {
    if (!hasRows(this.ctx.storage.sql, ["meta", "messages", "subscriptions"])) return false;
    const name = this.name;
    const origin = this.objectName;
    // Partitions 1..P-1 before partition 0, which holds their count: a failed delete can be retried.
    if (this.place.partition === 0) await this.peers.destroy(this.config.partitions);
    // Outside the block below: a queue being deleted at the same time calls back here.
    await Promise.all(this.forwarder.list().map((subscription) => this.env.QUEUE.getByName(subscription.queue).forgetOrigin(origin)));
    if (this.place.partition === 0) await destroyRelays(this.env, name, this.relayFeed.registered(), this.config.relays);
    await this.ctx.blockConcurrencyWhile(async () => {
      this.registration.cancel();
      this.relayFeed.clear();
      for (const subscriber of this.fanout.sse) subscriber.close(1001, `topic ${name} was deleted`);
      this.keepAlive.stop();
      await wipe(this.ctx, this.env, "topic", name, { listed: this.place.partition === 0 });
      this.open();
    });
    return true;
  }

  // ---- Subscribing: the worker forwards the upgrade or SSE request here -----------------

  override async fetch(request: Request): Promise<Response> {
    const subscribe = JSON.parse(request.headers.get("x-edgepost-subscribe") ?? "null") as SubscribeRequest | null;
    if (!subscribe) return new Response("not found", { status: 404 });
    // A partitioned topic's subscribers are held by relays, which merge every partition; a
    // worker that routed here from a stale route looks again (http/topics.ts).
    if (this.config.partitions > 1) return rerouteToRelays(this.name);
    const after = subscribe.after ?? this.log.lastSeq;
    if (!this.fanout.hasRoomFor(MAX_SOCKETS_PER_OBJECT)) {
      return Response.json(
        { error: { code: "at_capacity", message: `topic has ${MAX_SOCKETS_PER_OBJECT} subscribers, its limit; retry later` } },
        { status: 503, headers: { "retry-after": "5" } },
      );
    }
    if (subscribe.transport === "websocket") {
      const pair = new WebSocketPair();
      this.fanout.acceptWebSocket(pair[1], after, subscribe.expiresAt, subscribe.batch === true);
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    const response = this.fanout.openSse(after, subscribe.expiresAt);
    this.keepAlive.start();
    return response;
  }

  override async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const subscriber = this.fanout.subscriberOf(socket);
    if (!subscriber) return;
    await onSubscriberFrame(this.env, this.name, socket, message, subscriber);
  }

  override async webSocketClose(socket: WebSocket, code: number, reason: string): Promise<void> {
    this.fanout.forget(socket);
    reciprocateClose(socket, code, reason);
  }

  override async webSocketError(socket: WebSocket): Promise<void> {
    this.fanout.forget(socket);
  }

  // ---- The alarm -------------------------------------------------------------------------

  override async alarm(): Promise<void> {
    await this.alarms.runAlarm(async () => {
      const now = Date.now();
      const keepFrom = this.forwarder.oldestPendingSeq() ?? Number.MAX_SAFE_INTEGER;
      const moreTrim = this.log.trim(now - this.config.retentionSeconds * 1000, this.config.retentionMessages, keepFrom);
      const moreDedup = this.log.expireDedup(now);
      const moreForwarding = await this.forwarder.flushDue(now);
      await this.relayFeed.flushDue(now);
      return moreTrim || moreDedup || moreForwarding;
    });
  }

  private nextDueAt(): number | null {
    return nextDueAt(this.log, this.config, [this.forwarder.nextDueAt(), this.relayFeed.nextDueAt()]);
  }

}
