/**
 * A WebSocket that reconnects by itself: partysocket's ReconnectingWebSocket (exponential
 * backoff) plus random jitter, a fresh URL per attempt (so a subscriber resumes from its last
 * seq), a heartbeat that notices dead connections, and a clear end for errors that retrying
 * cannot fix (bad credentials, out of scope). Browsers do not expose why an upgrade failed,
 * so after a failed attempt the owner probes over HTTP to find out (see `SocketHandlers.url`).
 */
import ReconnectingWebSocket, { type CloseEvent } from "partysocket/ws";
import { baseDelay, type BackoffOptions } from "./backoff";
import { EdgepostError } from "./errors";

export interface ReconnectOptions extends BackoffOptions {
  /** Give up after this long trying to open one connection (default 4000 ms). */
  connectTimeoutMs?: number;
}

export const DEFAULT_RECONNECT: ReconnectOptions = { minDelayMs: 500, maxDelayMs: 10_000, factor: 1.5 };

/** Send "ping" this often; no frame back within one more period means the connection is dead. */
export const DEFAULT_HEARTBEAT_MS = 30_000;

/** Close codes from the server (src/protocol/frames.ts CloseCode) that reconnecting cannot fix. */
const FATAL_CLOSE: Record<number, { status: number; code: "invalid_request" | "unauthorized" | "forbidden" }> = {
  4400: { status: 400, code: "invalid_request" },
  4401: { status: 401, code: "unauthorized" },
  4403: { status: 403, code: "forbidden" },
};

export interface SocketHandlers {
  /**
   * The URL for the next attempt. `previousFailed` is true when the last attempt never
   * opened: the owner should then probe over HTTP and throw the EdgepostError it gets. A
   * retryable error (no answer, 5xx) schedules another attempt; any other ends the socket.
   */
  url(previousFailed: boolean): Promise<string>;
  onOpen(): void;
  onMessage(text: string): void;
  /** The connection was lost; a new one is on its way. */
  onDrop?(): void;
  /** The socket ended for good: closed by the owner (no error) or by a fatal error. */
  onEnd(error?: EdgepostError): void;
}

export interface SocketOptions {
  reconnect: ReconnectOptions;
  heartbeatMs: number;
  /** A WebSocket constructor where there is no global one. */
  WebSocket?: unknown;
}

export class ResilientSocket {
  private readonly socket: ReconnectingWebSocket;
  private attempts = 0;
  private openedThisAttempt = false;
  private heard = true;
  private ended = false;
  private readonly heartbeat: ReturnType<typeof setInterval> | undefined;
  /** Connections opened so far (reconnects = opens - 1). */
  opens = 0;

  constructor(
    private readonly handlers: SocketHandlers,
    private readonly options: SocketOptions,
  ) {
    const reconnect = options.reconnect;
    this.socket = new ReconnectingWebSocket(() => this.nextUrl(), undefined, {
      WebSocket: options.WebSocket,
      minReconnectionDelay: reconnect.minDelayMs,
      maxReconnectionDelay: reconnect.maxDelayMs,
      reconnectionDelayGrowFactor: reconnect.factor ?? 1.5,
      connectionTimeout: reconnect.connectTimeoutMs ?? 4_000,
      shouldReconnectOnClose: (event) => !(event.code in FATAL_CLOSE),
    });
    this.socket.addEventListener("open", () => {
      this.openedThisAttempt = true;
      this.heard = true;
      this.opens++;
      this.handlers.onOpen();
    });
    this.socket.addEventListener("message", (event) => {
      this.heard = true;
      if (typeof event.data === "string") this.handlers.onMessage(event.data);
    });
    this.socket.addEventListener("close", (event) => this.onClose(event));
    if (options.heartbeatMs > 0) this.heartbeat = setInterval(() => this.beat(), options.heartbeatMs);
  }

  get isOpen(): boolean {
    return this.socket.readyState === ReconnectingWebSocket.OPEN;
  }

  /** Send on the open connection; false (and nothing queued) when there is none. */
  send(text: string): boolean {
    if (!this.isOpen) return false;
    return this.socket.send(text);
  }

  close(error?: EdgepostError): void {
    if (this.ended) return;
    this.ended = true;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.socket.close(1000, "client closed");
    this.handlers.onEnd(error);
  }

  private async nextUrl(): Promise<string> {
    const previousFailed = this.attempts > 0 && !this.openedThisAttempt;
    this.attempts++;
    this.openedThisAttempt = false;
    // partysocket has already waited its backoff delay; add up to as much again at random.
    const retry = this.socket?.retryCount ?? 0;
    const jitter = Math.random() * baseDelay(retry, this.options.reconnect);
    if (jitter > 0) await new Promise((resolve) => setTimeout(resolve, jitter));
    try {
      if (this.ended) throw new EdgepostError(0, "closed", "closed");
      return await this.handlers.url(previousFailed);
    } catch (error) {
      if (error instanceof EdgepostError && !error.retryable && !this.ended) this.close(error);
      throw error;
    }
  }

  private onClose(event: CloseEvent): void {
    if (this.ended) return;
    const fatal = FATAL_CLOSE[event.code];
    if (fatal) this.close(new EdgepostError(fatal.status, fatal.code, event.reason || `closed by the server (${event.code})`));
    else this.handlers.onDrop?.();
  }

  private beat(): void {
    if (!this.isOpen) return;
    if (!this.heard) {
      // Nothing at all since the last ping: the connection is dead without knowing it.
      this.socket.reconnect(4000, "heartbeat timeout");
      return;
    }
    this.heard = false;
    this.socket.send("ping");
  }
}
