/**
 * The hibernatable WebSocket subscribers an object holds under one tag, shared by a topic's
 * fan-out (topic/fanout.ts) and a relay's (relay/relay-fanout.ts): accepting, the in-memory
 * view rebuilt from attachments after a wake-up, and the capacity check of a connect.
 */
import { SocketBound } from "../sockets/socket-bound";
import { WebSocketSubscriber, type SubscriberStateBase } from "./subscribers";

export class SubscriberSockets<S extends SubscriberStateBase> {
  /** Subscribers seen since the object woke; the rest are rebuilt lazily from attachments. */
  private readonly known = new Map<WebSocket, WebSocketSubscriber<S>>();
  /** Open sockets, without a scan per connect (sockets/socket-bound.ts). */
  private readonly bound: SocketBound;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly tag: string,
    private readonly role: S["role"],
  ) {
    this.bound = new SocketBound(ctx, tag);
  }

  /** Accept `socket` as a subscriber in `state`, recorded in its attachment. */
  accept(socket: WebSocket, state: S): WebSocketSubscriber<S> {
    this.ctx.acceptWebSocket(socket, [this.tag]);
    const subscriber = new WebSocketSubscriber<S>(socket, state);
    subscriber.persist();
    this.known.set(socket, subscriber);
    this.bound.accepted(socket);
    return subscriber;
  }

  of(socket: WebSocket): WebSocketSubscriber<S> | null {
    const known = this.known.get(socket);
    if (known) return known;
    const restored = WebSocketSubscriber.restoreAs<S>(socket, this.role);
    if (restored) this.known.set(socket, restored);
    return restored;
  }

  forget(socket: WebSocket): void {
    this.known.delete(socket);
    this.bound.gone(socket);
  }

  /** Whether another subscriber fits under `limit`, with `others` (SSE streams) beside the sockets. */
  hasRoomFor(limit: number, others: number): boolean {
    return this.bound.hasRoomFor(limit, others);
  }

  /** The exact number of sockets (asks the runtime for every one). */
  count(): number {
    return this.bound.exact();
  }

  /** Every subscriber socket, restored from its attachment where this wake-up has not seen it. */
  all(): WebSocketSubscriber<S>[] {
    const result: WebSocketSubscriber<S>[] = [];
    for (const socket of this.ctx.getWebSockets(this.tag)) {
      const subscriber = this.of(socket);
      if (subscriber) result.push(subscriber);
    }
    return result;
  }
}
