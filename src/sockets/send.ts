/**
 * Sending on a socket the other side may have closed. A client can hang up at any moment, and
 * an object can close a socket itself (bad frame, rate limit) while later frames from it are
 * still being delivered; workerd then throws `Can't call WebSocket send() after close()`
 * (seen 2026-12-02, issue 15). A frame for a closed socket has no reader, so it is dropped
 * rather than thrown out of a handler or the alarm: what the socket held comes back another way
 * (subscribers resume by seq, a consumer's leases are released when it closes).
 */

/** Send `frame` if `socket` is open; returns whether it went out. */
export function sendFrame(socket: WebSocket, frame: string): boolean {
  if (socket.readyState !== WebSocket.READY_STATE_OPEN) return false;
  try {
    socket.send(frame);
    return true;
  } catch (error) {
    // Closed between the check and the send: drop it. Anything else is a real fault.
    if (socket.readyState !== WebSocket.READY_STATE_OPEN) return false;
    throw error;
  }
}
