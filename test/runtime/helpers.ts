/** Helpers for runtime tests: requests through the real worker, sockets, and waiting. */
import { SELF } from "cloudflare:test";

export const ROOT_KEY = "test-root-key";
const ORIGIN = "http://edgepost.test";

/** A request to the worker with the root key and a JSON body. */
export function api(path: string, init: { method?: string; body?: unknown; rawBody?: string; headers?: Record<string, string>; auth?: string | null } = {}): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json", ...init.headers };
  if (init.auth !== null) headers.authorization = `Bearer ${init.auth ?? ROOT_KEY}`;
  const body = init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  return SELF.fetch(`${ORIGIN}${path}`, { method: init.method ?? (body === undefined ? "GET" : "POST"), headers, body });
}

export async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

let counter = 0;
/** A name no other test uses, so each test has its own object. */
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}-${Date.now().toString(36)}-${counter}`;
}

export interface Frame {
  type: string;
  seq?: number;
  [key: string]: unknown;
}

/** A WebSocket opened through the worker, collecting the JSON frames it receives. */
export class TestSocket {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.addEventListener("message", (event) => {
      const text = typeof event.data === "string" ? event.data : "";
      this.frames.push(text === "pong" ? { type: "pong" } : (JSON.parse(text) as Frame));
      this.notify();
    });
    socket.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.notify();
    });
  }

  static async open(path: string, auth: string = ROOT_KEY): Promise<TestSocket> {
    const separator = path.includes("?") ? "&" : "?";
    const response = await SELF.fetch(`${ORIGIN}${path}${separator}token=${encodeURIComponent(auth)}`, { headers: { Upgrade: "websocket" } });
    if (response.status !== 101 || !response.webSocket) {
      throw new Error(`expected a WebSocket upgrade for ${path}, got ${response.status}: ${await response.text()}`);
    }
    const socket = response.webSocket;
    socket.accept();
    return new TestSocket(socket);
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  messages(): Frame[] {
    return this.frames.filter((frame) => frame.type === "message");
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Wait until `predicate` holds over the frames so far, or fail after `timeoutMs`. */
  async waitFor(predicate: (socket: TestSocket) => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; frames: ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 100));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  waitForMessages(count: number, timeoutMs = 5000): Promise<void> {
    return this.waitFor((socket) => socket.messages().length >= count, `${count} messages`, timeoutMs);
  }

  close(): void {
    try {
      this.socket.close(1000, "test done");
    } catch {
      // Already closed.
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
