/**
 * Frames that clients send on subscriber and consumer sockets, checked the same way in both
 * objects before either looks at them: binary and oversized frames close the socket (4400),
 * too many frames per second that do no work close it (4429), invalid JSON gets an error frame, and an expired
 * credential closes it (4401). A `{"type":"token","token"}` frame renews the credential in band.
 */
import { FrameRateLimiter, grantExpired, refreshGrant, type SocketGrant } from "../auth/socket-grant";
import type { Operation } from "../auth/scopes";
import type { Env } from "../env";
import { CloseCode } from "../protocol/frames";
import { MAX_CLIENT_FRAME_CHARS, MAX_FRAMES_PER_SECOND } from "../protocol/limits";
import { sendFrame } from "./send";

const limiter = new FrameRateLimiter(MAX_FRAMES_PER_SECOND);

/** A frame did useful work (settled a live lease): it does not count against the rate limit. */
export function refundFrame(socket: WebSocket): void {
  limiter.refund(socket);
}

/** An error frame; dropped if the socket has closed meanwhile (send.ts). */
export function sendError(socket: WebSocket, code: string, message: string): void {
  sendFrame(socket, JSON.stringify({ type: "error", code, message }));
}

function closeQuietly(socket: WebSocket, code: number, reason: string): void {
  try {
    socket.close(code, reason);
  } catch {
    // Already closed.
  }
}

/**
 * Check a client frame and parse it. Returns the parsed object with a string `type`, or null
 * when the frame was dealt with here (the socket was answered or closed).
 */
export function readClientFrame(socket: WebSocket, message: string | ArrayBuffer, grant: SocketGrant): { type: string; [key: string]: unknown } | null {
  if (typeof message !== "string") {
    closeQuietly(socket, CloseCode.badFrame, "binary frames are not accepted");
    return null;
  }
  if (!limiter.allow(socket)) {
    closeQuietly(socket, CloseCode.rateLimited, `more than ${MAX_FRAMES_PER_SECOND} frames per second`);
    return null;
  }
  if (message.length > MAX_CLIENT_FRAME_CHARS) {
    closeQuietly(socket, CloseCode.badFrame, `frames are limited to ${MAX_CLIENT_FRAME_CHARS} characters`);
    return null;
  }
  if (grantExpired(grant)) {
    closeQuietly(socket, CloseCode.unauthorized, "credentials expired: reconnect with a fresh token");
    return null;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    sendError(socket, "invalid_json", "frame is not valid JSON");
    return null;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed) || typeof (parsed as { type?: unknown }).type !== "string") {
    sendError(socket, "invalid_frame", "a frame is a JSON object with a string `type`");
    return null;
  }
  return parsed as { type: string; [key: string]: unknown };
}

/**
 * Renew a socket's credential from a `{"type":"token","token"}` frame. On success the caller's
 * grant is updated and `{"type":"token","ok":true,"expiresAt"}` is sent; on failure the socket
 * is closed (4401 invalid, 4403 out of scope). Returns the new grant, or null.
 */
export async function renewGrant(env: Env, socket: WebSocket, frame: Record<string, unknown>, operation: Operation, name: string): Promise<SocketGrant | null> {
  const outcome = await refreshGrant(env, frame.token, operation, name);
  if (!outcome.ok) {
    closeQuietly(socket, outcome.closeCode, outcome.reason);
    return null;
  }
  sendFrame(socket, JSON.stringify({ type: "token", ok: true, expiresAt: outcome.grant.expiresAt }));
  return outcome.grant;
}
