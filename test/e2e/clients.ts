/**
 * Clients of a served edgepost over real sockets: HTTP with the root key, WebSocket (`ws`
 * package) with JSON frames, and Server-Sent Events read from a fetch stream.
 */
import WebSocket from "ws";
import { ROOT_KEY } from "./server";
import { Inbox, withTimeout } from "./wait";

const OPEN_TIMEOUT_MS = 10_000;

/** Anything with the base URL of a running server. */
export interface Target {
  readonly url: string;
}

// ---- Wire shapes of the public contract (DESIGN.md) ----------------------------------------

export interface PublishResult {
  seq: number;
  id: string;
  duplicate?: true;
}

export interface StoredMessage {
  seq: number;
  id: string;
  data: unknown;
  attributes: Record<string, string>;
  publishedAt: number;
}

export interface TopicFrame extends StoredMessage {
  type: "message";
  topic: string;
}

export interface LeasedMessage extends StoredMessage {
  attempt: number;
  leaseId: string;
  leaseExpiresAt: number;
}

export interface QueueMessageFrame extends LeasedMessage {
  type: "message";
  queue: string;
}

export interface LeaseResult {
  leaseId: string;
  ok: boolean;
  status: string;
}

export interface ResultFrame extends LeaseResult {
  type: "result";
  op: "ack" | "nack" | "extend";
}

export interface ErrorFrame {
  type: "error";
  code: string;
  message: string;
}

export type ConsumerFrame = QueueMessageFrame | ResultFrame | ErrorFrame;

/** A topic or queue name no other test uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

// ---- HTTP ----------------------------------------------------------------------------------

export interface ApiResponse<T> {
  status: number;
  body: T;
}

/** One request with the root key; JSON in, JSON out. */
export async function api<T>(target: Target, method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
  const response = await fetch(target.url + path, {
    method,
    headers: { authorization: `Bearer ${ROOT_KEY}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path}: ${response.status} with a body that is not JSON: ${text.slice(0, 500)}`);
  }
  return { status: response.status, body: parsed as T };
}

/** Like `api`, but fails with the response in the message unless the status is `expected`. */
export async function call<T>(target: Target, method: string, path: string, body: unknown, expected: number | number[]): Promise<T> {
  const response = await api<T>(target, method, path, body);
  const allowed = Array.isArray(expected) ? expected : [expected];
  if (!allowed.includes(response.status)) {
    throw new Error(`${method} ${path}: expected ${allowed.join(" or ")}, got ${response.status}: ${JSON.stringify(response.body).slice(0, 500)}`);
  }
  return response.body;
}

/** Every retained message of a topic after `after`, following pages to the end. */
export async function readHistory(target: Target, topic: string, after = 0): Promise<{ messages: StoredMessage[]; lastSeq: number }> {
  const messages: StoredMessage[] = [];
  let cursor = after;
  for (;;) {
    const page = await call<{ messages: StoredMessage[]; lastSeq: number }>(target, "GET", `/v1/topics/${topic}/messages?after=${cursor}&limit=1000`, undefined, 200);
    messages.push(...page.messages);
    const last = page.messages.at(-1);
    if (!last || last.seq >= page.lastSeq) return { messages, lastSeq: page.lastSeq };
    cursor = last.seq;
  }
}

// ---- WebSocket -------------------------------------------------------------------------------

/** A WebSocket whose text frames are JSON, collected in arrival order. */
export class JsonSocket<Frame> {
  readonly inbox: Inbox<Frame>;
  private terminated = false;
  private cutAfter = Number.POSITIVE_INFINITY;
  private readonly listeners: Array<(frame: Frame) => void> = [];

  private constructor(
    private readonly socket: WebSocket,
    label: string,
  ) {
    this.inbox = new Inbox<Frame>(label);
    socket.on("message", (data, isBinary) => {
      if (this.terminated) return;
      if (isBinary) return this.inbox.end("received a binary frame");
      const frame = JSON.parse(data.toString()) as Frame;
      this.inbox.push(frame);
      for (const listener of this.listeners) listener(frame);
      if (this.inbox.items.length >= this.cutAfter) this.terminate();
    });
    socket.on("close", (code, reason) => this.inbox.end(`closed ${code} ${reason.toString()}`));
    socket.on("error", (error) => this.inbox.end(`error: ${error.message}`));
  }

  /** Connect with `?token=` (as a browser would) and resolve once the upgrade succeeded. */
  static async open<Frame>(target: Target, path: string, label = path): Promise<JsonSocket<Frame>> {
    const url = new URL(target.url.replace(/^http/, "ws") + path);
    url.searchParams.set("token", ROOT_KEY);
    const socket = new WebSocket(url);
    const client = new JsonSocket<Frame>(socket, label);
    const opened = new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
      socket.once("unexpected-response", (_request, response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString()));
        response.on("end", () => reject(new Error(`${label}: upgrade refused with ${response.statusCode}: ${body}`)));
      });
    });
    await withTimeout(opened, OPEN_TIMEOUT_MS, () => `${label}: WebSocket did not open`);
    return client;
  }

  /** Call `listener` with every frame as it arrives (after it is in the inbox). */
  onFrame(listener: (frame: Frame) => void): void {
    this.listeners.push(listener);
  }

  /** Cut the connection right after the `count`-th frame: nothing after it is seen. */
  terminateAfterFrames(count: number): void {
    this.cutAfter = count;
  }

  send(frame: unknown): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** Cut the connection abruptly (no close handshake), like a crashed client or lost network. */
  terminate(): void {
    this.terminated = true;
    this.socket.terminate();
    this.inbox.end("terminated by the test");
  }

  /** Close cleanly and wait for the server's close frame. */
  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => this.socket.once("close", () => resolve()));
    this.socket.close(1000, "done");
    await withTimeout(closed, OPEN_TIMEOUT_MS, () => `${this.inbox.items.length} frames in; close handshake did not finish`);
  }
}

// ---- Server-Sent Events ------------------------------------------------------------------------

export interface SseEvent {
  id: string | null;
  event: string;
  data: string;
}

/** An SSE stream read with fetch and parsed per the EventSource rules (comments skipped). */
export class SseStream {
  readonly inbox: Inbox<SseEvent>;
  private readonly abort = new AbortController();

  private constructor(label: string) {
    this.inbox = new Inbox<SseEvent>(label);
  }

  static async open(target: Target, path: string, headers: Record<string, string> = {}, label = `SSE ${path}`): Promise<SseStream> {
    const stream = new SseStream(label);
    const response = await withTimeout(
      fetch(target.url + path, {
        headers: { accept: "text/event-stream", authorization: `Bearer ${ROOT_KEY}`, ...headers },
        signal: stream.abort.signal,
      }),
      OPEN_TIMEOUT_MS,
      () => `${label}: no response headers`,
    );
    const type = response.headers.get("content-type") ?? "";
    if (response.status !== 200 || !type.startsWith("text/event-stream") || !response.body) {
      throw new Error(`${label}: expected a 200 event stream, got ${response.status} ${type}: ${await response.text()}`);
    }
    void stream.read(response.body);
    return stream;
  }

  /** The `message` events' data parsed as JSON. */
  messages<T>(): T[] {
    return this.inbox.items.filter((event) => event.event === "message").map((event) => JSON.parse(event.data) as T);
  }

  close(): void {
    this.abort.abort();
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    let event: SseEvent = { id: null, event: "message", data: "" };
    let dataLines: string[] = [];
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
          // A "\r" at the end may be the first half of "\r\n": wait for the next chunk.
          if (buffer[newline] === "\r" && newline === buffer.length - 1) break;
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(buffer[newline] === "\r" && buffer[newline + 1] === "\n" ? newline + 2 : newline + 1);
          if (line === "") {
            // A blank line dispatches the event, if it carried data.
            if (dataLines.length > 0) this.inbox.push({ ...event, data: dataLines.join("\n") });
            event = { id: null, event: "message", data: "" };
            dataLines = [];
            continue;
          }
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "data") dataLines.push(value);
          else if (field === "id") event.id = value;
          else if (field === "event") event.event = value;
        }
      }
      this.inbox.end("stream ended");
    } catch (error) {
      this.inbox.end(this.abort.signal.aborted ? "closed by the test" : `stream failed: ${String(error)}`);
    }
  }
}
