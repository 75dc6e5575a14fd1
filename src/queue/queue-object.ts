/**
 * The Queue Durable Object: one per queue name. Its state is the messages table (store.ts):
 * each message is ready, delayed, leased to one consumer, or dead and on its way to the
 * dead-letter queue. Producers enqueue by RPC; consumers pull by RPC or hold a WebSocket
 * (consumers.ts) and are pushed to within their prefetch. One alarm (timers/) expires leases,
 * wakes delayed messages, moves dead letters and enforces retention.
 */
import { DurableObject } from "cloudflare:workers";
import { reciprocateClose } from "../sockets/close";
import type { Env } from "../env";
import { answered, fail, type Outcome } from "../protocol/errors";
import { CloseCode, type LeasedRow } from "../protocol/frames";
import { ConsumerFrame, type QueueConfig, type QueueConfigAnswer, type QueueConfigInput, type QueueStats } from "../protocol/schemas";
import { MAX_SOCKETS_PER_OBJECT } from "../protocol/limits";
import { readClientFrame, renewGrant, sendError } from "../sockets/client-frames";
import { migrate } from "../storage/migrations";
import { Registration } from "../directory/registration";
import { forgetOrigin, linkedQueues, linkedTopics, linkTopic, unlinkTopic } from "../lifecycle/links";
import { hasRows, wipe } from "../lifecycle/wipe";
import { AlarmScheduler } from "../timers/alarm-scheduler";
import { loadQueueConfig, saveQueueConfig } from "./config";
import { Consumers } from "./consumers";
import { DeadLetterMover } from "./dead-letter-mover";
import { redrive, type RedriveResult } from "./redrive";
import { QUEUE_MIGRATIONS } from "./schema";
import { QueueStore, type EnqueueResult, type LeaseResult, type PreparedQueueMessage } from "./store";
import type { ConsumeRequest, EnqueueMessage } from "./requests";
import type { TransferredMessage } from "./transfer";
import { PullWaiters } from "./waiters";
import { QueueWrites, type CommittedWrites } from "./writes";
import { extendOverSocket, settleOverSocket } from "./consumer-frames";
import { PUSH_CONSUMER, Pusher } from "../push/pusher";
import { loadPushSecret, updatePush } from "../push/settings";

const DEAD_LETTER_RETRY_MS = 5000;
const PUSH_QUEUE_MESSAGE = "this queue delivers by push (its push setting); set \"push\": null to pull or consume";
/** Consumer sockets of a queue that became a push queue (4409: the 409 push_queue of HTTP). */
const PUSH_QUEUE_CLOSE_CODE = 4409;

export class QueueObject extends DurableObject<Env> {
  // Set by open(), which runs again after a delete (lifecycle/wipe.ts).
  private store!: QueueStore;
  private config!: QueueConfig;
  private consumers!: Consumers;
  private alarms!: AlarmScheduler;
  private registration!: Registration;
  private waiters!: PullWaiters;
  /** Enqueues, acks and nacks arriving together share one transaction (writes.ts). */
  private writes!: QueueWrites;
  private pusher!: Pusher;
  /** Moves dead messages to the dead-letter queue (dead-letter-mover.ts). */
  private deadLetters!: DeadLetterMover;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.open();
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    // Push requests in flight when the last instance died ended with it: retry them (after the backoff).
    if (this.config.push !== null && this.store.releaseConsumer(PUSH_CONSUMER, Date.now(), this.config) > 0) {
      // A failure resets the object (the input gate breaks); logged, not an unhandled rejection.
      ctx.blockConcurrencyWhile(() => this.alarms.rearm()).catch((error: unknown) => console.error(`queue ${this.name}: re-arming the alarm for released push requests failed`, error));
    }
  }

  /** Load the queue's state from storage (empty after a delete: a fresh queue). */
  private open(): void {
    migrate(this.ctx.storage, QUEUE_MIGRATIONS);
    this.store = new QueueStore(this.ctx.storage);
    this.config = loadQueueConfig(this.ctx.storage.sql, this.name);
    this.consumers = new Consumers(this.ctx);
    this.alarms = new AlarmScheduler(this.ctx.storage, () => this.nextDueAt());
    this.registration = new Registration(this.ctx, this.env, "queue", () => this.name);
    this.waiters = new PullWaiters();
    this.writes = new QueueWrites(this.ctx.storage, () => this.store, () => this.config, (committed) => this.afterWrites(committed));
    this.pusher = new Pusher(() => this.name, {
      lease: (max, visibilityMs) => {
        const now = Date.now();
        return this.store.readySeqs(now, max).map((seq) => this.store.lease(seq, PUSH_CONSUMER, now, visibilityMs));
      },
      // Through the group commit, like a consumer's ack or nack (its afterWrites dispatches more).
      settle: (leaseId, result) => {
        const settled = result.ok ? this.writes.ack([leaseId]) : this.writes.nack([leaseId], result.retryAfterMs);
        this.ctx.waitUntil(settled.catch((error: unknown) => console.error(`push ${result.ok ? "ack" : "nack"} of ${leaseId} failed; the lease expires instead`, error)));
      },
      waitUntil: (promise) => this.ctx.waitUntil(promise),
    });
    this.pusher.configure(this.config.push, loadPushSecret(this.ctx.storage.sql));
    this.deadLetters = new DeadLetterMover(this.env, this.name, () => this.store, () => this.config);
  }

  /** The queue's name: `ctx.id.name` is set for objects reached by name (changelog 2026-03-15). */
  get name(): string {
    return this.ctx.id.name ?? this.ctx.id.toString();
  }

  private get visibilityMs(): number {
    return this.config.visibilityTimeoutSeconds * 1000;
  }

  // ---- Settings -------------------------------------------------------------------------

  getConfig(): QueueConfig {
    return this.config;
  }

  /** Apply settings; the answer shows a push secret only when this call generated it. */
  async configure(update: QueueConfigInput): Promise<Outcome<QueueConfigAnswer>> {
    if (update.deadLetterQueue === this.name) return fail(400, "invalid_request", "a queue cannot be its own dead-letter queue");
    const { push, ...rest } = update;
    const pushed = push === undefined ? undefined : updatePush(this.ctx.storage.sql, push, this.config.push);
    this.config = saveQueueConfig(this.ctx.storage.sql, this.config, rest, pushed?.settings);
    this.registration.ensure();
    if (pushed) {
      this.pusher.configure(pushed.settings, pushed.secret);
      if (pushed.settings) this.stopPulling();
      this.afterChange(Date.now());
    }
    await this.alarms.rearm();
    const answer = this.config;
    return { ok: true, value: pushed?.generatedSecret && answer.push ? { ...answer, push: { ...answer.push, secret: pushed.generatedSecret } } : answer };
  }

  /** A queue that became a push queue: waiting pulls get nothing, consumer sockets close (4409). */
  private stopPulling(): void {
    this.waiters.releaseAll();
    for (const { socket } of this.consumers.list()) {
      socket.close(PUSH_QUEUE_CLOSE_CODE, "the queue delivers by push now; pull and consume are refused");
      this.releaseConsumer(socket);
    }
  }

  // ---- Producing --------------------------------------------------------------------------

  async enqueue(messages: EnqueueMessage[]): Promise<EnqueueResult[]> {
    const delayMs = this.config.delaySeconds * 1000;
    const prepared = messages.map((message) => (message.delayMs === null ? { ...message, delayMs } : message) as PreparedQueueMessage);
    return this.writes.enqueue(prepared);
  }

  /** After a group of enqueues, acks and nacks committed: push and wake waiting pulls, then make sure of the alarm. */
  private async afterWrites({ enqueued, now }: CommittedWrites): Promise<void> {
    if (enqueued) this.registration.ensure();
    this.afterChange(now);
    await this.alarms.rearm();
  }

  /**
   * Messages moved here by a topic, a source queue (dead letters) or a redrive; how many were
   * stored (resends are not). A failure is answered as a value, never thrown over RPC
   * (protocol/errors.ts `answered`); its message carries the cause for the sender's log.
   */
  async transfer(messages: TransferredMessage[]): Promise<Outcome<number>> {
    return answered(
      `queue ${this.name}: transfer`,
      async () => {
        const now = Date.now();
        const stored = this.store.transfer(messages, now, this.config.dedupWindowSeconds * 1000);
        this.registration.ensure();
        this.afterChange(now);
        await this.alarms.rearm();
        return stored;
      },
      String,
    );
  }

  // ---- Consuming over HTTP ----------------------------------------------------------------

  /**
   * Lease up to `max` ready messages. With `waitSeconds` > 0 and none ready, wait (long
   * polling, waiters.ts) until some are or the time is up. `waitSeconds` null: the queue's
   * `receiveWaitSeconds` (SQS ReceiveMessage without WaitTimeSeconds).
   */
  async pull(max: number, visibilityTimeoutSeconds: number | null, waitSeconds: number | null = 0): Promise<Outcome<LeasedRow[]>> {
    if (this.config.push !== null) return fail(409, "push_queue", PUSH_QUEUE_MESSAGE);
    const now = Date.now();
    this.expireLeases(now);
    const visibilityMs = visibilityTimeoutSeconds === null ? this.visibilityMs : visibilityTimeoutSeconds * 1000;
    const leased = this.store.pull(now, max, visibilityMs);
    // Armed at the earliest due time, so a message falling due wakes the waiters below.
    await this.alarms.rearm();
    const wait = waitSeconds ?? this.config.receiveWaitSeconds;
    if (leased.length > 0 || wait <= 0) return { ok: true, value: leased };
    return { ok: true, value: await this.waiters.wait({ max, visibilityMs }, wait * 1000) };
  }

  async ack(leaseIds: string[]): Promise<LeaseResult[]> {
    return this.writes.ack(leaseIds);
  }

  async nack(leaseIds: string[], delaySeconds: number | null): Promise<LeaseResult[]> {
    return this.writes.nack(leaseIds, delaySeconds === null ? null : delaySeconds * 1000);
  }

  async extend(leaseIds: string[], visibilityTimeoutSeconds: number): Promise<LeaseResult[]> {
    const now = Date.now();
    const results = leaseIds.map((leaseId) => this.store.extend(leaseId, now, visibilityTimeoutSeconds * 1000));
    await this.alarms.rearm();
    return results;
  }

  // ---- Operating ------------------------------------------------------------------------

  stats(): QueueStats {
    const now = Date.now();
    const counts = this.store.counts(now);
    const counters = this.store.getCounters();
    return {
      name: this.name,
      ready: counts.ready,
      inFlight: counts.inFlight,
      delayed: counts.delayed,
      oldestAgeSeconds: counts.oldestEnqueuedAt === null ? 0 : Math.max(0, Math.floor((now - counts.oldestEnqueuedAt) / 1000)),
      consumers: this.consumers.count(),
      pullsWaiting: this.waiters.size,
      deadLettered: counters.deadLettered,
      deadLetterPending: counts.deadLetterPending,
      redeliveries: counters.redeliveries,
      acked: counters.acked,
      enqueued: counters.enqueued,
      expired: counters.expired,
      lastSeq: this.store.lastSeq,
      config: this.config,
      push: this.pusher.stats(),
    };
  }

  async purge(): Promise<{ purged: number }> {
    const purged = this.store.purge();
    await this.alarms.rearm();
    return { purged };
  }

  /** Move unleased messages to `to`, or each back to the queue it was dead-lettered from (redrive.ts). */
  async redrive(to: string | null, max: number): Promise<Outcome<RedriveResult>> {
    return redrive(this.env, this.store, this.name, to, max);
  }

  // ---- Deleting and links (lifecycle/) ---------------------------------------------------

  /**
   * Delete the queue: topics bound to it unbind, queues holding its keys forget them, the name
   * leaves the listings, sockets close (1001), waiting pulls get nothing, storage and alarm go.
   * Returns false when there was nothing to delete.
   */
  async destroy(): Promise<boolean> {
    if (!hasRows(this.ctx.storage.sql, ["meta", "messages", "dedup", "transfer_marks", "bound_topics"])) return false;
    const name = this.name;
    const topics = linkedTopics(this.ctx.storage.sql);
    const queues = linkedQueues(this.ctx.storage.sql, this.config.deadLetterQueue).filter((queue) => queue !== name);
    // Peers first, outside the block below: a peer being deleted at the same time calls back
    // here, and two objects blocking while they wait for each other would deadlock.
    await Promise.all([
      ...topics.map((topic) => this.env.TOPIC.getByName(topic).unbindQueue(name)),
      ...queues.map((queue) => this.env.QUEUE.getByName(queue).forgetOrigin(name)),
    ]);
    // Nothing else runs between the wipe and the fresh state.
    await this.ctx.blockConcurrencyWhile(async () => {
      this.waiters.releaseAll();
      this.pusher.configure(null, null);
      this.registration.cancel();
      await wipe(this.ctx, this.env, "queue", name);
      this.open();
    });
    return true;
  }

  /** A topic bound this queue (the worker calls this after the topic's bindQueue). */
  linkTopic(topic: string, fromSeq: number): void {
    linkTopic(this.ctx.storage.sql, topic, fromSeq);
    this.registration.ensure();
  }

  unlinkTopic(topic: string): void {
    unlinkTopic(this.ctx.storage.sql, topic);
  }

  /** The topic or queue `origin` was deleted: its marks and keys here must not block its successor. */
  forgetOrigin(origin: string): void {
    forgetOrigin(this.ctx.storage.sql, origin);
  }

  // ---- Consuming over WebSocket -------------------------------------------------------------

  override async fetch(request: Request): Promise<Response> {
    const consume = JSON.parse(request.headers.get("x-edgepost-consume") ?? "null") as ConsumeRequest | null;
    if (!consume) return new Response("not found", { status: 404 });
    if (this.config.push !== null) return Response.json({ error: { code: "push_queue", message: PUSH_QUEUE_MESSAGE } }, { status: 409 });
    if (this.consumers.count() >= MAX_SOCKETS_PER_OBJECT) {
      return Response.json(
        { error: { code: "at_capacity", message: `queue has ${MAX_SOCKETS_PER_OBJECT} consumers, its limit; retry later` } },
        { status: 503, headers: { "retry-after": "5" } },
      );
    }
    const pair = new WebSocketPair();
    const visibilityMs = consume.visibilityTimeoutSeconds === null ? null : consume.visibilityTimeoutSeconds * 1000;
    this.consumers.accept(pair[1], consume.prefetch, visibilityMs, consume.expiresAt, consume.batch === true);
    // Push after the upgrade response has gone out.
    setTimeout(() => {
      this.afterChange(Date.now());
      this.rearmInBackground();
    }, 0);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const state = this.consumers.stateOf(socket);
    if (!state) return;
    const parsed = readClientFrame(socket, message, state);
    if (!parsed) return;
    if (parsed.type === "token") {
      const grant = await renewGrant(this.env, socket, parsed, "consume", this.name);
      if (grant) this.consumers.renew(socket, grant.expiresAt);
      else this.releaseConsumer(socket);
      return;
    }
    const frame = ConsumerFrame.safeParse(parsed);
    if (!frame.success) {
      sendError(socket, "invalid_frame", "expected {type: ack|nack|extend|token, leaseId, ...} or {type: ack|nack, leaseIds: [1-100 ids]}");
      return;
    }
    const op = frame.data;
    if (op.type !== "extend") return settleOverSocket(socket, op, this.writes, this.store);
    this.afterChange(extendOverSocket(socket, op, this.store));
    await this.alarms.rearm();
  }

  override async webSocketClose(socket: WebSocket, code: number, reason: string): Promise<void> {
    this.releaseConsumer(socket);
    reciprocateClose(socket, code, reason);
  }

  override async webSocketError(socket: WebSocket): Promise<void> {
    this.releaseConsumer(socket);
  }

  /** A consumer that leaves gives its leases back at once (they retry after the backoff). */
  private releaseConsumer(socket: WebSocket): void {
    const state = this.consumers.stateOf(socket);
    this.consumers.forget(socket);
    if (!state) return;
    const now = Date.now();
    this.store.releaseConsumer(state.consumerId, now, this.config);
    this.afterChange(now);
    this.rearmInBackground();
  }

  // ---- The alarm ------------------------------------------------------------------------------

  override async alarm(): Promise<void> {
    await this.alarms.runAlarm(async () => {
      const now = Date.now();
      const expiry = this.expireLeases(now);
      const moreRetention = this.store.expireRetention(now - this.config.retentionSeconds * 1000);
      const moreDedup = this.store.expireDedup(now);
      this.deliverReady(now);
      const moreDead = await this.deadLetters.move();
      return expiry || moreRetention || moreDedup || moreDead;
    });
  }

  private nextDueAt(): number | null {
    const now = Date.now();
    const due = this.store.nextDueAt(now, this.config.retentionSeconds * 1000);
    if (!this.store.dead.hasPending()) return due;
    const retry = now + DEAD_LETTER_RETRY_MS;
    return due === null ? retry : Math.min(due, retry);
  }

  /** Retire expired leases; returns whether more remain. */
  private expireLeases(now: number): boolean {
    return this.store.expireLeases(now, this.config).more;
  }

  /** After anything that may free credit or ready a message: push, and start dead-letter moves. */
  private afterChange(now: number): void {
    for (const socket of this.consumers.expired(now)) {
      socket.close(CloseCode.unauthorized, "credentials expired: send a token frame before expiry, or reconnect with a fresh token");
      this.releaseConsumer(socket);
    }
    this.deliverReady(now);
    // Pending dead letters keep the alarm due (nextDueAt): a failed move is retried there.
    if (this.store.dead.hasPending()) this.deadLetters.move().catch((error: unknown) => console.warn(`queue ${this.name}: dead-letter move failed; the alarm retries it`, error));
  }

  /** Re-arm without waiting (nothing awaits the caller): a failure is logged, never an unhandled rejection. */
  private rearmInBackground(): void {
    this.alarms.rearm().catch((error: unknown) => console.error(`queue ${this.name}: re-arming the alarm failed`, error));
  }

  /** Hand ready messages out: waiting long polls first (oldest first), then consumer sockets. */
  private deliverReady(now: number): void {
    const served = this.waiters.serve((request) => this.store.pull(now, request.max, request.visibilityMs));
    this.consumers.dispatch(this.store, this.name, now, this.visibilityMs);
    const pushed = this.pusher.dispatch();
    // New leases expire: make sure the alarm is armed for them.
    if (served + pushed > 0) this.rearmInBackground();
  }
}
