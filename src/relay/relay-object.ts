/**
 * The Relay Durable Object: holds subscribers of one topic on behalf of its partition objects,
 * so a publish costs each partition one feed per relay instead of one send per subscriber.
 *
 * A relay attaches to every partition of its topic (relay/feed.ts registers it there), takes
 * their feeds in seq order per partition (filling any gap from the partition's history, and
 * dropping repeats), keeps a ring of recent rows for subscribers that connect or resume, and
 * fans out to its subscribers with the frames a topic sends (relay-fanout.ts). It stores only
 * where each partition's stream stands; messages stay in the partitions' logs, so a relay that
 * restarts loses nothing: its subscribers reconnect with their cursor and it catches up.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { MAX_SOCKETS_PER_OBJECT } from "../protocol/limits";
import { onSubscriberFrame } from "../sockets/subscriber-socket";
import { reciprocateClose } from "../sockets/close";
import { SseKeepAlive } from "../sockets/sse-keep-alive";
import { migrate, readMeta, writeMeta } from "../storage/migrations";
import { DELETED_CLOSE_CODE } from "../lifecycle/wipe";
import { partitionObjectName } from "../partition/names";
import { parseRelayObjectName, type RelayAttachment, type RelayFeedInput, type RelayFeedReply } from "./feed-protocol";
import { RelayFanout } from "./relay-fanout";
import { PartitionStream } from "./stream";
import type { MessageRow } from "../protocol/frames";

const RELAY_MIGRATIONS = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   -- Per partition: the last seq this relay delivered, and its registration there (null: none).
   CREATE TABLE streams (partition INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, generation INTEGER);`,
] as const;

/** Subscriber counts reach partition 0's stats at most this often ("may lag a few seconds"). */
const REPORT_DELAY_MS = 1000;
const GAP_PAGE = 1000;

/** What the worker forwards to `fetch` for a subscribe through a relay; validated there. */
export interface RelaySubscribeRequest {
  transport: "websocket" | "sse";
  /** Per-partition cursor to resume after; null starts with the next message. */
  after: number[] | null;
  expiresAt: number | null;
  batch: boolean;
}

export class RelayObject extends DurableObject<Env> {
  private readonly topic: string;
  private readonly index: number;
  private streams: PartitionStream[] = [];
  private readonly fanout: RelayFanout;
  private readonly keepAlive: SseKeepAlive;
  /** Subscribes between their request and their socket: the relay is not idle meanwhile. */
  private connecting = 0;
  private reportTimer: ReturnType<typeof setTimeout> | undefined;
  /** The attach under way, shared by concurrent subscribes. */
  private attaching: Promise<void> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const { topic, relay } = parseRelayObjectName(ctx.id.name ?? "");
    this.topic = topic;
    this.index = relay;
    migrate(ctx.storage, RELAY_MIGRATIONS);
    this.loadStreams();
    this.fanout = new RelayFanout(ctx, {
      topic,
      streams: () => this.streams,
      history: (partition, after, limit) => this.history(partition, after, limit),
      left: () => this.scheduleReport(),
    });
    this.keepAlive = new SseKeepAlive(() => this.fanout.sse.size, () => this.fanout.keepAliveSse());
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    this.fanout.resumeReplays();
  }

  private loadStreams(): void {
    const partitions = readMeta<number>(this.ctx.storage.sql, "partitions") ?? 1;
    const stored = new Map<number, { last_seq: number; generation: number | null }>();
    for (const row of this.ctx.storage.sql.exec<{ partition: number; last_seq: number; generation: number | null }>("SELECT * FROM streams")) stored.set(row.partition, row);
    this.streams = [];
    for (let partition = 0; partition < partitions; partition++) {
      const row = stored.get(partition);
      this.streams.push(new PartitionStream(partition, row?.last_seq ?? 0, row?.generation ?? null));
    }
  }

  private saveStream(stream: PartitionStream): void {
    this.ctx.storage.sql.exec(
      "INSERT INTO streams (partition, last_seq, generation) VALUES (?, ?, ?) ON CONFLICT (partition) DO UPDATE SET last_seq = excluded.last_seq, generation = excluded.generation",
      stream.partition,
      stream.lastSeq,
      stream.generation,
    );
  }

  private partitionStub(partition: number) {
    return this.env.TOPIC.getByName(partitionObjectName(this.topic, partition));
  }

  private async history(partition: number, after: number, limit: number): Promise<MessageRow[]> {
    return (await this.partitionStub(partition).history(after, limit)).messages;
  }

  private subscriberCount(): number {
    const { webSocket, sse } = this.fanout.count();
    return webSocket + sse;
  }

  private idle(): boolean {
    return this.connecting === 0 && this.subscriberCount() === 0;
  }

  // ---- Subscribing: the worker forwards the upgrade or SSE request here -----------------

  override async fetch(request: Request): Promise<Response> {
    const subscribe = JSON.parse(request.headers.get("x-edgepost-subscribe") ?? "null") as RelaySubscribeRequest | null;
    if (!subscribe) return new Response("not found", { status: 404 });
    if (!this.fanout.hasRoomFor(MAX_SOCKETS_PER_OBJECT)) {
      return Response.json(
        { error: { code: "at_capacity", message: `relay holds ${MAX_SOCKETS_PER_OBJECT} subscribers, its limit; retry later` } },
        { status: 503, headers: { "retry-after": "5" } },
      );
    }
    this.connecting++;
    try {
      await this.attachAll();
    } catch (error) {
      console.error(`relay ${this.index} of ${this.topic} could not attach`, error);
      return Response.json({ error: { code: "unavailable", message: "the topic could not be reached; retry" } }, { status: 503, headers: { "retry-after": "1" } });
    } finally {
      this.connecting--;
    }
    const cursor = this.startCursor(subscribe.after);
    this.scheduleReport();
    if (subscribe.transport === "websocket") {
      const pair = new WebSocketPair();
      this.fanout.acceptWebSocket(pair[1], cursor, subscribe.expiresAt, subscribe.batch);
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    const response = this.fanout.openSse(cursor, subscribe.expiresAt);
    this.keepAlive.start();
    return response;
  }

  /** Where a subscription starts: its cursor (padded for partitions it does not name), or now. */
  private startCursor(after: number[] | null): number[] {
    return this.streams.map((stream, partition) => (after ? (after[partition] ?? 0) : stream.lastSeq));
  }

  /** Attach to every partition not attached yet (partition 0 first: it tells the count). */
  private attachAll(): Promise<void> {
    if (this.streams.every((stream) => stream.generation !== null)) return Promise.resolve();
    this.attaching ??= (async () => {
      try {
        if (this.streams[0]!.generation === null) await this.attach(this.streams[0]!);
        await Promise.all(this.streams.filter((stream) => stream.generation === null).map((stream) => this.attach(stream)));
      } finally {
        this.attaching = null;
      }
    })();
    return this.attaching;
  }

  private attach(stream: PartitionStream): Promise<void> {
    return stream.serially(async () => {
      if (stream.generation !== null) return;
      const attachment: RelayAttachment = await this.partitionStub(stream.partition).attachRelay(this.index, this.fanout.count());
      // Nothing before the attachment is this relay's to deliver: subscribers that want older
      // messages replay them from history.
      if (attachment.lastSeq !== stream.lastSeq) stream.reset(attachment.lastSeq);
      stream.generation = attachment.generation;
      this.saveStream(stream);
      if (stream.partition === 0) this.grow(attachment.partitions);
    });
  }

  /** The topic has more partitions than this relay knew: add their streams, attach if anyone listens. */
  private grow(partitions: number): void {
    if (partitions <= this.streams.length) return;
    writeMeta(this.ctx.storage.sql, "partitions", partitions);
    for (let partition = this.streams.length; partition < partitions; partition++) {
      const stream = new PartitionStream(partition, 0, null);
      this.streams.push(stream);
      this.saveStream(stream);
    }
    this.fanout.grow(partitions);
    if (!this.idle()) void this.attachAll().catch((error) => console.error(`relay ${this.index} of ${this.topic}: attaching new partitions failed`, error));
  }

  // ---- Feeds, from the partition objects --------------------------------------------------

  async feed(input: RelayFeedInput): Promise<RelayFeedReply> {
    if (input.partitions !== undefined) this.grow(input.partitions);
    const stream = this.streams[input.partition];
    if (!stream || this.idle()) return this.release(stream);
    return stream.serially(async () => {
      // A feed can come before the attach answer it follows; the registration it names is ours.
      if (stream.generation === null) {
        stream.generation = input.generation;
        this.saveStream(stream);
      }
      await this.catchUp(stream, input.lastSeq, input.rows);
      return { lastSeq: stream.lastSeq, subscribers: this.fanout.count(), release: false };
    });
  }

  /** Nobody to deliver to: tell the partition to stop feeding; a new subscriber attaches again. */
  private release(stream: PartitionStream | undefined): RelayFeedReply {
    if (stream && stream.generation !== null) {
      stream.generation = null;
      this.saveStream(stream);
    }
    return { lastSeq: stream?.lastSeq ?? 0, subscribers: { webSocket: 0, sse: 0 }, release: true };
  }

  /** Apply fed rows in order, reading from history first whatever came before them and is missing. */
  private async catchUp(stream: PartitionStream, lastSeq: number, rows: readonly MessageRow[]): Promise<void> {
    const fresh = rows.filter((row) => row.seq > stream.lastSeq);
    const until = Math.min(fresh[0] ? fresh[0].seq - 1 : lastSeq, lastSeq);
    while (stream.lastSeq < until) {
      const page = await this.partitionStub(stream.partition).history(stream.lastSeq, GAP_PAGE);
      const missing = page.messages.filter((row) => row.seq > stream.lastSeq && row.seq <= until);
      // Trimmed by retention meanwhile: skip what is no longer retained, keep the rest.
      const first = missing[0];
      if (!first || first.seq !== stream.lastSeq + 1) {
        stream.reset(first ? first.seq - 1 : until);
        this.saveStream(stream);
      }
      this.apply(stream, missing);
    }
    this.apply(stream, fresh.filter((row) => row.seq > stream.lastSeq));
  }

  private apply(stream: PartitionStream, rows: readonly MessageRow[]): void {
    if (rows.length === 0) return;
    stream.append(rows);
    this.saveStream(stream);
    this.fanout.deliver(stream.partition, rows);
  }

  /** Delete: close every subscriber (1001) and forget everything. */
  async destroy(): Promise<void> {
    await this.ctx.blockConcurrencyWhile(async () => {
      this.fanout.closeAll(DELETED_CLOSE_CODE, `topic ${this.topic} was deleted`);
      this.keepAlive.stop();
      if (this.reportTimer !== undefined) clearTimeout(this.reportTimer);
      await this.ctx.storage.deleteAll();
      migrate(this.ctx.storage, RELAY_MIGRATIONS);
      this.loadStreams();
    });
  }

  // ---- Subscriber sockets -----------------------------------------------------------------

  override async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const subscriber = this.fanout.subscriberOf(socket);
    if (!subscriber) return;
    await onSubscriberFrame(this.env, this.topic, socket, message, subscriber);
  }

  override async webSocketClose(socket: WebSocket, code: number, reason: string): Promise<void> {
    this.fanout.forget(socket);
    this.scheduleReport();
    reciprocateClose(socket, code, reason);
  }

  override async webSocketError(socket: WebSocket): Promise<void> {
    this.fanout.forget(socket);
    this.scheduleReport();
  }

  /** Tell partition 0 how many subscribers this relay holds, soon and at most once a second. */
  private scheduleReport(): void {
    if (this.reportTimer !== undefined) return;
    this.reportTimer = setTimeout(() => {
      this.reportTimer = undefined;
      this.partitionStub(0)
        .reportRelay(this.index, this.fanout.count())
        .catch((error: unknown) => console.warn(`relay ${this.index} of ${this.topic}: report failed`, error));
    }, REPORT_DELAY_MS);
  }
}
