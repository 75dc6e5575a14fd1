/** Closing our side of a socket. */

/**
 * Close our side of a socket the client closed (TOOLCHAIN.md: hibernatable sockets must be
 * closed by the object too). 1005/1006 cannot be sent, so they are answered with 1000.
 */
export function reciprocateClose(socket: WebSocket, code: number, reason: string): void {
  try {
    socket.close(code === 1005 || code === 1006 ? 1000 : code, reason);
  } catch {
    // Already closed.
  }
}
