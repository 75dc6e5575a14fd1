/**
 * WebSocket consumers of a queue, each with a prefetch credit: the object pushes messages to
 * a consumer while it holds fewer leases than its prefetch. Consumers are served round-robin,
 * one message per turn, so competing consumers share the queue fairly. A consumer that asked
 * for `batch=1` gets what one dispatch leases to it as one `{"type":"messages"}` frame.
 */
import { grantExpired } from "../auth/socket-grant";
import { chunkBySize, encodeQueueBatch, encodeQueueFrame, type LeasedRow } from "../protocol/frames";
import { MAX_BATCH_FRAME_BYTES } from "../protocol/limits";
import type { QueueStore } from "./store";

/** A consumer socket's attachment (keep well under 2 KB). */
export interface ConsumerState {
  role: "consumer";
  consumerId: string;
  prefetch: number;
  /** Lease length for this consumer's deliveries; null uses the queue's visibility timeout. */
  visibilityMs: number | null;
  /** When the credential it connected with expires (ms); null for the root key. */
  expiresAt: number | null;
  /** Wants `{"type":"messages"}` frames; absent on sockets accepted before batching existed. */
  batch?: boolean;
}

export const CONSUMER_TAG = "consumer";
/** Bound one dispatch run; the next event (ack, enqueue, alarm) continues. */
const MAX_PUSH_PER_DISPATCH = 1000;

interface Consumer {
  socket: WebSocket;
  state: ConsumerState;
}

export class Consumers {
  private readonly known = new Map<WebSocket, ConsumerState>();
  /** Where the next round-robin turn starts. */
  private turn = 0;

  constructor(private readonly ctx: DurableObjectState) {}

  accept(socket: WebSocket, prefetch: number, visibilityMs: number | null, expiresAt: number | null, batch = false): ConsumerState {
    this.ctx.acceptWebSocket(socket, [CONSUMER_TAG]);
    const state: ConsumerState = { role: "consumer", consumerId: crypto.randomUUID(), prefetch, visibilityMs, expiresAt, ...(batch ? { batch } : {}) };
    socket.serializeAttachment(state);
    this.known.set(socket, state);
    return state;
  }

  stateOf(socket: WebSocket): ConsumerState | null {
    let state = this.known.get(socket);
    if (!state) {
      const attached = socket.deserializeAttachment() as ConsumerState | null;
      if (attached?.role !== "consumer") return null;
      state = attached;
      this.known.set(socket, state);
    }
    return state;
  }

  /** Record a renewed credential so it survives hibernation. */
  renew(socket: WebSocket, expiresAt: number | null): void {
    const state = this.stateOf(socket);
    if (!state) return;
    state.expiresAt = expiresAt;
    socket.serializeAttachment(state);
  }

  forget(socket: WebSocket): void {
    this.known.delete(socket);
  }

  list(): Consumer[] {
    const result: Consumer[] = [];
    for (const socket of this.ctx.getWebSockets(CONSUMER_TAG)) {
      if (socket.readyState !== WebSocket.READY_STATE_OPEN) continue;
      const state = this.stateOf(socket);
      if (state) result.push({ socket, state });
    }
    return result;
  }

  /** Consumers whose credential has expired: the object closes them and releases their leases. */
  expired(now: number): WebSocket[] {
    return this.list()
      .filter((consumer) => grantExpired(consumer.state, now))
      .map((consumer) => consumer.socket);
  }

  count(): number {
    return this.ctx.getWebSockets(CONSUMER_TAG).length;
  }

  /**
   * Lease ready messages to consumers with credit and push them. Synchronous: each lease is
   * written and its frame sent in one run, so no message is pushed to two consumers.
   */
  dispatch(store: QueueStore, queue: string, now: number, defaultVisibilityMs: number): number {
    const consumers = this.list();
    if (consumers.length === 0) return 0;
    const held = store.heldByConsumer();
    const credit = consumers.map((consumer) =>
      grantExpired(consumer.state, now) ? 0 : Math.max(0, consumer.state.prefetch - (held.get(consumer.state.consumerId) ?? 0)),
    );
    const wanted = Math.min(
      MAX_PUSH_PER_DISPATCH,
      credit.reduce((sum, value) => sum + value, 0),
    );
    if (wanted === 0) return 0;
    const ready = store.readySeqs(now, wanted);
    let pushed = 0;
    /** Batching consumers' leases, sent as one frame each once the round is done. */
    const batches = new Map<Consumer, LeasedRow[]>();
    let index = this.turn % consumers.length;
    for (const seq of ready) {
      // Find the next consumer with credit, starting at this turn.
      let tries = 0;
      while (credit[index]! === 0 && tries < consumers.length) {
        index = (index + 1) % consumers.length;
        tries++;
      }
      if (credit[index]! === 0) break;
      const consumer = consumers[index]!;
      const leased: LeasedRow = store.lease(seq, consumer.state.consumerId, now, consumer.state.visibilityMs ?? defaultVisibilityMs);
      if (consumer.state.batch) {
        const rows = batches.get(consumer);
        if (rows) rows.push(leased);
        else batches.set(consumer, [leased]);
      } else {
        consumer.socket.send(encodeQueueFrame(queue, leased));
      }
      credit[index]!--;
      pushed++;
      index = (index + 1) % consumers.length;
    }
    this.turn = index;
    for (const [consumer, rows] of batches) {
      for (const chunk of chunkBySize(rows, MAX_BATCH_FRAME_BYTES)) consumer.socket.send(encodeQueueBatch(queue, chunk));
    }
    return pushed;
  }
}
