/**
 * Clients that outlive a crash of the server: publishers that record the outcome of every
 * request (acknowledged, refused, or unknown) and carry on once the server is back; WebSocket
 * clients that reconnect after a drop or a crash (topic subscribers resume with
 * `after=<last seq seen>`). They are what the crash and soak tests check the server against.
 */
import WebSocket from "ws";
import { api, type ConsumerFrame, type LeasedMessage, type LeaseResult, type PublishResult, type Target, type TopicFrame } from "./clients";
import { Ledger } from "./consumers";
import { ROOT_KEY } from "./server";
import { failureKind, sleep, type FailureKind } from "./chaos";
import { Inbox, withTimeout } from "./wait";

/** A server that may be down for a while: `whenUp` resolves once it is running. */
export interface Revivable extends Target {
  whenUp(): Promise<void>;
}

/** A server that never goes down on purpose (the soak). */
export const steady = (target: Target): Revivable => ({ url: target.url, whenUp: () => Promise.resolve() });

// ---- Publishing ------------------------------------------------------------------------------

export type RequestOutcome = "acked" | FailureKind;

/** One publish request: its messages, how it ended, and the seqs it was given if acknowledged. */
export interface PublishRecord {
  path: string;
  publisher: number;
  ids: string[];
  ns: number[];
  batch: boolean;
  outcome: RequestOutcome;
  seqs: number[];
  /** For a non-2xx answer: the status (the tests expect none). */
  status?: number;
}

export interface PublishLoopOptions {
  publisher: number;
  /** Where message n goes (a topic or queue messages path). */
  pathFor: (n: number) => string;
  /** Message numbers are drawn from this shared counter, so ids are unique across publishers. */
  next: { n: number };
  idPrefix: string;
  /** Messages in the next request: 1 sends a single publish, more a batch. */
  size: () => number;
  stop: () => boolean;
  record: (entry: PublishRecord) => void;
  /** Extra fields for each message (e.g. delaySeconds), by n. */
  extra?: (n: number) => Record<string, unknown>;
  /** Pause between requests, to hold a rate rather than saturate the server. */
  pauseMs?: number;
}

export const publishId = (prefix: string, n: number) => `${prefix}-${n}`;

/** Publish until `stop()`; every request is recorded with its outcome, none is retried here. */
export async function publishLoop(target: Revivable, options: PublishLoopOptions): Promise<void> {
  while (!options.stop()) {
    const size = options.size();
    const first = options.next.n;
    options.next.n += size;
    const ns = Array.from({ length: size }, (_, index) => first + index);
    const path = options.pathFor(first);
    const messages = ns.map((n) => ({ id: publishId(options.idPrefix, n), data: { n }, ...options.extra?.(n) }));
    const record: PublishRecord = { path, publisher: options.publisher, ids: messages.map((m) => m.id), ns, batch: size > 1, outcome: "unknown", seqs: [] };
    try {
      const response = await api<PublishResult & { messages?: PublishResult[] }>(target, "POST", path, size > 1 ? { messages } : messages[0]);
      if (response.status === 201) {
        record.outcome = "acked";
        record.seqs = size > 1 ? response.body.messages!.map((result) => result.seq) : [response.body.seq];
      } else {
        record.status = response.status;
      }
    } catch (error) {
      record.outcome = failureKind(error);
    }
    options.record(record);
    if (record.outcome !== "acked") await target.whenUp();
    else if (options.pauseMs) await sleep(options.pauseMs);
  }
}

// ---- WebSockets that come back ---------------------------------------------------------------

const OPEN_TIMEOUT_MS = 10_000;
/** How long a client keeps trying to reconnect before it gives up and reports it. */
const RECONNECT_DEADLINE_MS = 60_000;

/**
 * A WebSocket with JSON frames that reconnects whenever it is cut (by the test or by a crash)
 * until `close()`. `path()` is asked again for every connection (a subscriber's `after` moves).
 */
export class ReconnectingSocket<Frame> {
  connections = 0;
  /** Why reconnecting failed for good, if it did. */
  failure: string | null = null;
  private socket: WebSocket | null = null;
  private closed = false;

  constructor(
    private readonly target: Revivable,
    private readonly path: () => string,
    readonly label: string,
    private readonly onFrame: (frame: Frame, send: (frame: unknown) => void) => void,
  ) {}

  /** The first connection; later ones happen by themselves. */
  async start(): Promise<void> {
    await this.connect();
  }

  /** Cut the connection abruptly (no close handshake); it reconnects and resumes. */
  drop(): void {
    this.socket?.terminate();
  }

  async close(): Promise<void> {
    this.closed = true;
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    const done = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.close(1000, "done");
    await withTimeout(done, OPEN_TIMEOUT_MS, () => `${this.label}: close handshake did not finish`).catch(() => socket.terminate());
  }

  private async connect(): Promise<void> {
    const url = new URL(this.target.url.replace(/^http/, "ws") + this.path());
    url.searchParams.set("token", ROOT_KEY);
    const socket = new WebSocket(url);
    const opened = new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
      socket.once("unexpected-response", (_request, response) => reject(new Error(`${this.label}: upgrade refused with ${response.statusCode}`)));
    });
    await withTimeout(opened, OPEN_TIMEOUT_MS, () => `${this.label}: WebSocket did not open`).catch((error: unknown) => {
      socket.terminate();
      throw error;
    });
    this.socket = socket;
    this.connections++;
    const send = (frame: unknown) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
    };
    socket.on("message", (data) => this.onFrame(JSON.parse(data.toString()) as Frame, send));
    socket.on("error", () => {});
    socket.once("close", () => void this.reconnect());
  }

  private async reconnect(): Promise<void> {
    const deadline = Date.now() + RECONNECT_DEADLINE_MS;
    while (!this.closed) {
      await this.target.whenUp();
      try {
        await this.connect();
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          this.failure = `${this.label}: could not reconnect: ${String(error)}`;
          return;
        }
        // A pause between attempts, not a wait for state: the loop ends on success or at the deadline.
        await sleep(100);
      }
    }
  }
}

// ---- Topic subscribers that resume -----------------------------------------------------------

/**
 * A topic subscriber that reconnects with `after=<last seq seen>` whenever it is cut off, and
 * keeps every frame of every connection in one inbox: across drops and crashes it must still
 * see 1, 2, 3, ... with no gap and no duplicate.
 */
export class TopicFollower {
  readonly inbox: Inbox<TopicFrame>;
  readonly socket: ReconnectingSocket<TopicFrame>;

  constructor(target: Revivable, topic: string, label: string, startAfter = 0) {
    this.inbox = new Inbox<TopicFrame>(label);
    const path = () => `/v1/topics/${topic}/subscribe?after=${this.inbox.items.at(-1)?.seq ?? startAfter}`;
    this.socket = new ReconnectingSocket<TopicFrame>(target, path, label, (frame) => this.inbox.push(frame));
  }

  get seqs(): number[] {
    return this.inbox.items.map((frame) => frame.seq);
  }

  waitForSeq(seq: number, timeoutMs: number): Promise<void> {
    return this.inbox.waitUntil((frames) => (frames.at(-1)?.seq ?? 0) >= seq, timeoutMs, `seq ${seq} (reconnect failure: ${this.socket.failure ?? "none"})`);
  }
}

// ---- Queue consumers that come back ------------------------------------------------------------

/** What a consumer does with a delivery. */
export type Verdict = "ack" | "nack" | "hold";

/**
 * The Ledger (deliveries, ack results) plus when each message's first successful ack arrived:
 * a delivery of a message after that moment means an acknowledged message came back.
 */
export class QueueWatch {
  readonly ledger = new Ledger();
  readonly ackedAt = new Map<string, number>();
  nacked = 0;
  private readonly idByLease = new Map<string, string>();
  /** Acks sent whose result never came (the connection died first): they may have committed. */
  private readonly unanswered = new Set<string>();

  delivered(consumer: string, message: LeasedMessage): void {
    this.idByLease.set(message.leaseId, message.id);
    this.ledger.delivered(consumer, message);
  }

  ackSent(leaseId: string): void {
    this.unanswered.add(leaseId);
  }

  ackResult(consumer: string, result: LeaseResult): void {
    this.unanswered.delete(result.leaseId);
    const id = this.idByLease.get(result.leaseId);
    if (result.ok && id !== undefined && !this.ackedAt.has(id)) this.ackedAt.set(id, Date.now());
    this.ledger.ackResult(consumer, result);
  }

  /** Deliveries received after the message's ack was confirmed, as readable lines. */
  cameBack(): string[] {
    return this.ledger.deliveries
      .filter((delivery) => delivery.receivedAt > (this.ackedAt.get(delivery.message.id) ?? Number.POSITIVE_INFINITY))
      .map((delivery) => `${delivery.message.id} delivered again (attempt ${delivery.message.attempt}) to ${delivery.consumer} after its ack`);
  }

  /** Ids of messages with an ack sent and never answered. */
  unansweredAckIds(): Set<string> {
    return new Set([...this.unanswered].map((leaseId) => this.idByLease.get(leaseId)!));
  }

  deliveriesOf(id: string): LeasedMessage[] {
    return this.ledger.deliveries.filter((delivery) => delivery.message.id === id).map((delivery) => delivery.message);
  }
}

/** A WebSocket consumer that reconnects after a crash and treats each delivery per `verdict`. */
export function resilientConsumer(target: Revivable, queue: string, name: string, watch: QueueWatch, prefetch: number, verdict: (message: LeasedMessage) => Verdict): ReconnectingSocket<ConsumerFrame> {
  return new ReconnectingSocket<ConsumerFrame>(target, () => `/v1/queues/${queue}/consume?prefetch=${prefetch}`, name, (frame, send) => {
    if (frame.type === "message") {
      watch.delivered(name, frame);
      const action = verdict(frame);
      if (action === "ack") watch.ackSent(frame.leaseId);
      if (action !== "hold") send({ type: action, leaseId: frame.leaseId });
    } else if (frame.type === "result") {
      if (frame.op === "ack") watch.ackResult(name, frame);
      else if (frame.op === "nack" && frame.ok) watch.nacked++;
    } else {
      watch.ledger.error(name, `error frame ${frame.code}: ${frame.message}`);
    }
  });
}

/** An HTTP consumer (pull, then ack or nack) that waits out crashes; runs until `stop()`. */
export async function resilientPuller(target: Revivable, queue: string, name: string, watch: QueueWatch, stop: () => boolean, verdict: (message: LeasedMessage) => Verdict): Promise<void> {
  while (!stop()) {
    try {
      const pulled = await api<{ messages: LeasedMessage[] }>(target, "POST", `/v1/queues/${queue}/pull`, { max: 20 });
      if (pulled.status !== 200) throw new Error(`pull answered ${pulled.status}`);
      if (pulled.body.messages.length === 0) {
        await sleep(25);
        continue;
      }
      const byVerdict = { ack: [] as string[], nack: [] as string[] };
      for (const message of pulled.body.messages) {
        watch.delivered(name, message);
        const action = verdict(message);
        if (action !== "hold") byVerdict[action].push(message.leaseId);
      }
      for (const op of ["ack", "nack"] as const) {
        if (byVerdict[op].length === 0) continue;
        if (op === "ack") byVerdict.ack.forEach((leaseId) => watch.ackSent(leaseId));
        const answer = await api<{ results: LeaseResult[] }>(target, "POST", `/v1/queues/${queue}/${op}`, { leaseIds: byVerdict[op] });
        if (answer.status !== 200) throw new Error(`${op} answered ${answer.status}`);
        for (const result of answer.body.results) {
          if (op === "ack") watch.ackResult(name, result);
          else if (result.ok) watch.nacked++;
        }
      }
    } catch (error) {
      // A crash (fetch fails with a TypeError): what this round leased comes back when its
      // lease expires. Anything else is a wrong answer, recorded for the test to report.
      if (!(error instanceof TypeError)) watch.ledger.error(name, String(error));
      await target.whenUp();
      await sleep(25);
    }
  }
}
