/** Helpers for the topic runtime tests: typed calls to the topic routes, error checks, SSE. */
import { SELF } from "cloudflare:test";
import { expect } from "vitest";
import { api, json, ROOT_KEY } from "./helpers";

const ORIGIN = "http://edgepost.test";

export interface StoredMessage {
  seq: number;
  id: string;
  data: unknown;
  attributes: Record<string, string>;
  publishedAt: number;
}

export interface HistoryPage {
  messages: StoredMessage[];
  lastSeq: number;
}

export interface PublishResult {
  seq: number;
  id: string;
  duplicate?: true;
}

export interface TopicStats {
  name: string;
  lastSeq: number;
  subscribers: number;
  webSocketSubscribers: number;
  sseSubscribers: number;
  retainedMessages: number;
  firstRetainedSeq: number | null;
  config: { retentionSeconds: number; retentionMessages: number; dedupWindowSeconds: number };
}

export interface MessageInput {
  data: unknown;
  id?: string;
  attributes?: Record<string, string>;
}

export interface ErrorBody {
  error: { code: string; message: string };
}

/** POST a single message (or any raw body object) to a topic. */
export function publish(topic: string, body: unknown): Promise<Response> {
  return api(`/v1/topics/${topic}/messages`, { body });
}

/** Publish one message and expect it stored (201); returns its seq and id. */
export async function publishOk(topic: string, message: MessageInput): Promise<PublishResult> {
  const response = await publish(topic, message);
  expect(response.status, `publish to ${topic}`).toBe(201);
  return json<PublishResult>(response);
}

/** Publish `count` messages `{data: {n}}` in batches of 100, sequentially; returns the last seq. */
export async function publishMany(topic: string, count: number, start = 1): Promise<number> {
  let last = 0;
  for (let offset = 0; offset < count; offset += 100) {
    const size = Math.min(100, count - offset);
    const messages = Array.from({ length: size }, (_, index) => ({ data: { n: start + offset + index } }));
    const response = await publish(topic, { messages });
    expect(response.status, `batch publish to ${topic}`).toBe(201);
    const body = await json<{ messages: PublishResult[] }>(response);
    last = body.messages[body.messages.length - 1]!.seq;
  }
  return last;
}

export async function history(topic: string, query = ""): Promise<HistoryPage> {
  const response = await api(`/v1/topics/${topic}/messages${query ? `?${query}` : ""}`);
  expect(response.status, `history of ${topic}?${query}`).toBe(200);
  return json<HistoryPage>(response);
}

/** Every retained message, read page by page. */
export async function fullHistory(topic: string): Promise<HistoryPage> {
  const messages: StoredMessage[] = [];
  let after = 0;
  let lastSeq = 0;
  for (;;) {
    const page = await history(topic, `after=${after}&limit=1000`);
    lastSeq = page.lastSeq;
    if (page.messages.length === 0) return { messages, lastSeq };
    messages.push(...page.messages);
    after = page.messages[page.messages.length - 1]!.seq;
  }
}

export async function stats(topic: string): Promise<TopicStats> {
  const response = await api(`/v1/topics/${topic}`);
  expect(response.status, `stats of ${topic}`).toBe(200);
  return json<TopicStats>(response);
}

export async function configure(topic: string, config: Partial<TopicStats["config"]>): Promise<void> {
  const response = await api(`/v1/topics/${topic}`, { method: "PUT", body: config });
  expect(response.status, `configure ${topic}`).toBe(200);
}

/** Expect the contract's error body with this status and code. */
export async function expectError(response: Response, status: number, code: string): Promise<ErrorBody> {
  const text = await response.text();
  expect(response.status, `status of ${text}`).toBe(status);
  expect(response.headers.get("content-type") ?? "").toContain("application/json");
  const body = JSON.parse(text) as ErrorBody;
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
  return body;
}

/** [from, from+1, ..., to]. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => from + index);
}

/** Poll `check` until it returns true, or fail after `timeoutMs` saying what was awaited. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
  }
}

// ---- Server-Sent Events ------------------------------------------------------------------

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/**
 * An SSE stream read through the worker with a small parser: comments are skipped, events are
 * split on blank lines, `data` lines are joined with "\n" (the EventSource rules we rely on).
 */
export class SseStream {
  readonly events: SseEvent[] = [];
  private buffer = "";
  private readonly decoder = new TextDecoder();
  private pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  ended = false;

  private constructor(
    readonly response: Response,
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
  ) {}

  static async open(path: string, headers: Record<string, string> = {}): Promise<SseStream> {
    const response = await SELF.fetch(`${ORIGIN}${path}`, {
      headers: { accept: "text/event-stream", authorization: `Bearer ${ROOT_KEY}`, ...headers },
    });
    if (response.status !== 200 || !response.body) {
      throw new Error(`expected an SSE stream for ${path}, got ${response.status}: ${await response.text()}`);
    }
    return new SseStream(response, response.body.getReader());
  }

  /** Message events only (`event: message`). */
  messages(): SseEvent[] {
    return this.events.filter((event) => event.event === "message");
  }

  /** The seqs of message events, from their `id:` lines. */
  seqs(): number[] {
    return this.messages().map((event) => Number(event.id));
  }

  /** Read until `predicate` holds over the events so far, or fail after `timeoutMs`. */
  async waitFor(predicate: (stream: SseStream) => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      if (this.ended) throw new Error(`SSE stream ended while waiting for ${what}; events: ${JSON.stringify(this.events.slice(-5))}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; events: ${JSON.stringify(this.events.slice(-5))}`);
      // Keep one read outstanding across timeouts so no chunk is ever lost.
      this.pending ??= this.reader.read();
      let timer = 0;
      const timeout = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), remaining);
      });
      const result = await Promise.race([this.pending, timeout]);
      clearTimeout(timer);
      if (result === null) continue;
      this.pending = null;
      if (result.done) this.ended = true;
      else this.feed(this.decoder.decode(result.value, { stream: true }));
    }
  }

  waitForMessages(count: number, timeoutMs = 5000): Promise<void> {
    return this.waitFor((stream) => stream.messages().length >= count, `${count} SSE messages`, timeoutMs);
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }

  private feed(text: string): void {
    this.buffer += text.replace(/\r\n?/g, "\n");
    let boundary: number;
    while ((boundary = this.buffer.indexOf("\n\n")) >= 0) {
      const block = this.buffer.slice(0, boundary);
      this.buffer = this.buffer.slice(boundary + 2);
      const event = parseEventBlock(block);
      if (event) this.events.push(event);
    }
  }
}

function parseEventBlock(block: string): SseEvent | null {
  const event: SseEvent = { data: "" };
  const data: string[] = [];
  let hasField = false;
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    // `retry:` and unknown fields carry no event.
    if (field === "data") data.push(value);
    else if (field === "id") event.id = value;
    else if (field === "event") event.event = value;
    else continue;
    hasField = true;
  }
  if (!hasField) return null;
  event.data = data.join("\n");
  return event;
}
