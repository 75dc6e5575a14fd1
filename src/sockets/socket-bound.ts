/**
 * How many hibernatable sockets with a tag an object holds, judged without asking the runtime
 * on every connect: `getWebSockets` builds an array of every socket, and calling it per
 * connect made a reconnect storm quadratic (bench/profile.mjs --connects 3000, issue 11,
 * 2026-12-02: 27% of a topic's samples, 29% of a relay's).
 *
 * It keeps an upper bound in memory: seeded from `getWebSockets` when first needed after a
 * wake-up, raised on each accept, lowered once per socket that goes (a socket reported both
 * closed and errored counts once). A limit is judged on the bound while it is below the
 * limit, and on an exact count at the limit (a socket that went without a close event would
 * otherwise hold a place).
 */
export class SocketBound {
  private bound: number | null = null;
  /** The sockets the bound includes. */
  private counted = new WeakSet<WebSocket>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly tag: string,
  ) {}

  /** A socket was just accepted with this tag. */
  accepted(socket: WebSocket): void {
    if (this.bound === null || this.counted.has(socket)) return;
    this.counted.add(socket);
    this.bound++;
  }

  /** A socket closed or errored (either or both, in any order). */
  gone(socket: WebSocket): void {
    if (this.bound !== null && this.counted.delete(socket)) this.bound--;
  }

  /** Whether one more fits under `limit`, with `others` (SSE streams, say) counted beside the sockets. */
  hasRoomFor(limit: number, others = 0): boolean {
    if (this.bound === null || this.bound + others >= limit) this.exact();
    return this.bound! + others < limit;
  }

  /** The exact count (asks the runtime for every socket), which also resets the bound. */
  exact(): number {
    const sockets = this.ctx.getWebSockets(this.tag);
    // A fresh set: a socket closed but not yet reported is not counted, so not taken off.
    this.counted = new WeakSet(sockets);
    this.bound = sockets.length;
    return sockets.length;
  }
}
