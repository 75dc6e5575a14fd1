/**
 * Queue consumers for end-to-end tests, WebSocket (pushed within a prefetch credit) and HTTP
 * (pull/ack loop), all writing to one Ledger: every delivery with its lease, every ack result.
 * The ledger answers the questions of the queue contract: was each message acked exactly once,
 * and was a message ever held by two consumers while a lease on it was valid.
 */
import { call, JsonSocket, type ConsumerFrame, type LeasedMessage, type LeaseResult, type Target } from "./clients";
import { withTimeout } from "./wait";

export interface Delivery {
  consumer: string;
  message: LeasedMessage;
  /** Client clock when it arrived (same machine, same clock as the server's lease times). */
  receivedAt: number;
}

interface AckOutcome {
  consumer: string;
  id: string;
  result: LeaseResult;
}

export class Ledger {
  readonly deliveries: Delivery[] = [];
  readonly acks: AckOutcome[] = [];
  readonly errors: string[] = [];
  /** When each consumer lost its connection: its leases are void from then on. */
  private readonly disconnectedAt = new Map<string, number>();
  private readonly idByLease = new Map<string, string>();
  private readonly listeners = new Set<() => void>();

  delivered(consumer: string, message: LeasedMessage): void {
    this.deliveries.push({ consumer, message, receivedAt: Date.now() });
    this.idByLease.set(message.leaseId, message.id);
    this.notify();
  }

  ackResult(consumer: string, result: LeaseResult): void {
    this.acks.push({ consumer, id: this.idByLease.get(result.leaseId) ?? `unknown lease ${result.leaseId}`, result });
    this.notify();
  }

  error(consumer: string, text: string): void {
    this.errors.push(`${consumer}: ${text}`);
    this.notify();
  }

  disconnected(consumer: string): void {
    this.disconnectedAt.set(consumer, Date.now());
  }

  /** Successful acks per message id. */
  ackedCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const ack of this.acks) if (ack.result.ok) counts.set(ack.id, (counts.get(ack.id) ?? 0) + 1);
    return counts;
  }

  ackedBy(consumer: string): number {
    return this.acks.filter((ack) => ack.consumer === consumer && ack.result.ok).length;
  }

  /**
   * Pairs of deliveries of one message whose holds overlapped: the later one arrived before the
   * earlier lease expired and before its holder disconnected. Returned as readable lines.
   */
  overlappingHolds(): string[] {
    const byId = new Map<string, Delivery[]>();
    for (const delivery of this.deliveries) byId.set(delivery.message.id, [...(byId.get(delivery.message.id) ?? []), delivery]);
    const overlaps: string[] = [];
    for (const [id, deliveries] of byId) {
      const ordered = [...deliveries].sort((a, b) => a.receivedAt - b.receivedAt);
      for (let later = 1; later < ordered.length; later++) {
        for (let earlier = 0; earlier < later; earlier++) {
          const first = ordered[earlier]!;
          const second = ordered[later]!;
          const validUntil = Math.min(first.message.leaseExpiresAt, this.disconnectedAt.get(first.consumer) ?? Number.POSITIVE_INFINITY);
          if (second.receivedAt < validUntil) {
            overlaps.push(`${id}: ${second.consumer} got it at ${second.receivedAt} while ${first.consumer}'s lease ran to ${validUntil}`);
          }
        }
      }
    }
    return overlaps;
  }

  /** Wait until `condition` holds, re-checked on every delivery, ack result and error. */
  async waitUntil(condition: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
    if (condition()) return;
    let listener: (() => void) | undefined;
    const done = new Promise<void>((resolve) => {
      listener = () => {
        if (condition()) resolve();
      };
      this.listeners.add(listener);
    });
    try {
      await withTimeout(done, timeoutMs, describe);
    } finally {
      if (listener) this.listeners.delete(listener);
    }
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

export interface WsConsumerOptions {
  prefetch: number;
  /** Ack each message on arrival (true), or hold every lease without acking (false). */
  ack: boolean;
}

/** A competing consumer on `GET /v1/queues/{q}/consume`, recording into `ledger`. */
export async function startWsConsumer(target: Target, queue: string, name: string, ledger: Ledger, options: WsConsumerOptions): Promise<JsonSocket<ConsumerFrame>> {
  const socket = await JsonSocket.open<ConsumerFrame>(target, `/v1/queues/${queue}/consume?prefetch=${options.prefetch}`, name);
  socket.onFrame((frame) => {
    if (frame.type === "message") {
      ledger.delivered(name, frame);
      if (options.ack) socket.send({ type: "ack", leaseId: frame.leaseId });
    } else if (frame.type === "result") {
      if (frame.op === "ack") ledger.ackResult(name, frame);
      else ledger.error(name, `unexpected result of ${frame.op}`);
    } else {
      ledger.error(name, `error frame ${frame.code}: ${frame.message}`);
    }
  });
  return socket;
}

/**
 * An HTTP consumer: pull up to `max`, ack what it got, repeat until `done()`. When the queue is
 * empty it pauses briefly before pulling again (a polling consumer, not a wait in the test).
 */
export async function runPuller(target: Target, queue: string, name: string, ledger: Ledger, done: () => boolean, max = 10): Promise<void> {
  while (!done()) {
    const { messages } = await call<{ messages: LeasedMessage[] }>(target, "POST", `/v1/queues/${queue}/pull`, { max }, 200);
    if (messages.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    for (const message of messages) ledger.delivered(name, message);
    const { results } = await call<{ results: LeaseResult[] }>(target, "POST", `/v1/queues/${queue}/ack`, { leaseIds: messages.map((message) => message.leaseId) }, 200);
    for (const result of results) ledger.ackResult(name, result);
  }
}
