/**
 * What an open WebSocket is allowed, and until when. The worker checks the credential at
 * connect and hands the object a grant; the object keeps it in the socket's attachment (so it
 * survives hibernation), refuses frames and deliveries once it has expired (close 4401), and
 * accepts a fresh token in band (`{"type":"token","token"}`) to extend it without reconnecting.
 */
import type { Env } from "../env";
import { CloseCode } from "../protocol/frames";
import { expiryOf, isAllowed, principalFor } from "./principal";
import type { Operation } from "./scopes";

export interface SocketGrant {
  /** Milliseconds since the epoch; null for the root key, which does not expire. */
  expiresAt: number | null;
}

export function grantExpired(grant: SocketGrant, now = Date.now()): boolean {
  return grant.expiresAt !== null && grant.expiresAt <= now;
}

export type RefreshOutcome =
  | { ok: true; grant: SocketGrant }
  | { ok: false; closeCode: number; reason: string };

/** Verify an in-band credential (a token, or the root key) for `operation` on `name`. */
export async function refreshGrant(env: Env, token: unknown, operation: Operation, name: string): Promise<RefreshOutcome> {
  if (typeof token !== "string" || token.length === 0 || token.length > 4096) {
    return { ok: false, closeCode: CloseCode.unauthorized, reason: "token frame needs a token string" };
  }
  const principal = await principalFor(env, token);
  if (!principal) return { ok: false, closeCode: CloseCode.unauthorized, reason: "invalid or expired token" };
  if (!isAllowed(principal, operation, name)) return { ok: false, closeCode: CloseCode.forbidden, reason: `token may not ${operation} on ${name}` };
  return { ok: true, grant: { expiresAt: expiryOf(principal) } };
}

/**
 * Frames per second per socket, counted in memory (a hibernated socket starts a fresh window,
 * which is fine: it sent nothing while hibernated). Frames that did useful work (an ack, nack
 * or extend of a live lease) are refunded: those are bounded by deliveries, and a fast
 * consumer must never be cut off for keeping up. What is limited is noise: stale or invalid
 * frames, errors, renewals.
 */
export class FrameRateLimiter {
  private readonly windows = new WeakMap<WebSocket, { start: number; count: number }>();

  constructor(private readonly perSecond: number) {}

  /** Count a frame; false when the socket is over its limit. */
  allow(socket: WebSocket, now = Date.now()): boolean {
    const window = this.windows.get(socket);
    if (!window || now - window.start >= 1000) {
      this.windows.set(socket, { start: now, count: 1 });
      return true;
    }
    window.count++;
    return window.count <= this.perSecond;
  }

  /** Give back the count of a frame that did useful work. */
  refund(socket: WebSocket): void {
    const window = this.windows.get(socket);
    if (window && window.count > 0) window.count--;
  }
}
