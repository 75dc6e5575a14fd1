/**
 * Server-Sent Events over fetch streaming: the fallback transport for topic subscriptions
 * where WebSockets are blocked. fetch (unlike EventSource) reports the HTTP status, so a bad
 * credential ends the stream with a clear error instead of retrying forever.
 */
import { jitteredDelay, sleep } from "./backoff";
import { EdgepostError, errorFromResponse } from "./errors";
import type { After } from "./cursor";
import type { HttpClient } from "./http";
import type { ReconnectOptions } from "./socket";

export interface SseEvent {
  id: string | null;
  event: string;
  data: string;
}

/**
 * Parse an SSE byte stream (the WHATWG "event stream" format) into events. `onBytes` runs on
 * every chunk, comments (the server's keep-alives) included.
 */
export async function* parseEventStream(body: ReadableStream<Uint8Array>, onBytes: () => void = () => {}): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  let event: SseEvent = { id: null, event: "message", data: "" };
  let hasData = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      onBytes();
      pending += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let newline: RegExpExecArray | null;
      const lineEnd = /\r\n|\r|\n/g;
      let consumed = 0;
      while ((newline = lineEnd.exec(pending)) !== null) {
        // A lone "\r" at the very end may be the first half of "\r\n": wait for more.
        if (newline[0] === "\r" && newline.index === pending.length - 1 && !done) break;
        const line = pending.slice(consumed, newline.index);
        consumed = newline.index + newline[0].length;
        if (line === "") {
          if (hasData) yield event;
          event = { id: null, event: "message", data: "" };
          hasData = false;
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "data") {
          event.data = hasData ? `${event.data}\n${value}` : value;
          hasData = true;
        } else if (field === "event") event.event = value;
        else if (field === "id") event.id = value;
      }
      pending = pending.slice(consumed);
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}

export interface SseLoopOptions {
  http: HttpClient;
  path: string;
  /** The `after` for the next request (the last seq or cursor delivered, or the start). */
  after(): Promise<After | undefined>;
  onOpen(): void;
  /** A `message` or `cursor` event's data (the frame JSON; a partitioned topic's stream starts with `cursor`). */
  onFrame(text: string): void;
  reconnect: ReconnectOptions;
  /** Reconnect when not even a keep-alive comment arrived for this long (0: never). */
  idleTimeoutMs: number;
  signal: AbortSignal;
}

/**
 * Hold an SSE stream open, reconnecting with backoff and jitter whenever it ends or fails.
 * Resolves when `signal` aborts; rejects with an EdgepostError that retrying cannot fix.
 */
export async function runSseLoop(options: SseLoopOptions): Promise<void> {
  const { http, signal } = options;
  let failures = 0;
  while (!signal.aborted) {
    // One request: aborted by close() or by the watchdog when the stream went silent.
    const request = new AbortController();
    const abortRequest = () => request.abort();
    signal.addEventListener("abort", abortRequest, { once: true });
    let lastBytes = Date.now();
    const watchdog =
      options.idleTimeoutMs > 0
        ? setInterval(() => {
            if (Date.now() - lastBytes > options.idleTimeoutMs) request.abort();
          }, options.idleTimeoutMs / 4)
        : undefined;
    try {
      const after = await options.after();
      const response = await http.fetch(http.url(options.path, { after }), {
        headers: { accept: "text/event-stream" },
        signal: request.signal,
      });
      if (!response.ok) throw await errorFromResponse(response);
      if (!response.body) throw new EdgepostError(response.status, "invalid_response", "the SSE answer has no body");
      failures = 0;
      options.onOpen();
      try {
        for await (const event of parseEventStream(response.body, () => (lastBytes = Date.now()))) {
          if (event.event === "message" || event.event === "cursor") options.onFrame(event.data);
          // `close`: the server is ending this stream (e.g. a slow subscriber); reconnect.
          else if (event.event === "close") break;
        }
      } finally {
        await response.body.cancel().catch(() => {});
      }
    } catch (error) {
      if (signal.aborted) return;
      // Anything but a clear refusal (no answer, 5xx, a silent or broken stream) is retried.
      const retryable = !(error instanceof EdgepostError) || error.retryable;
      if (!retryable) throw error;
      failures++;
    } finally {
      if (watchdog !== undefined) clearInterval(watchdog);
      signal.removeEventListener("abort", abortRequest);
    }
    await sleep(jitteredDelay(Math.max(1, failures), options.reconnect), signal);
  }
}
