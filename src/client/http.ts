/**
 * The HTTP side of the SDK: authenticated JSON requests with retries for the failures that
 * are safe to retry (no answer, 429, 502-504), and URLs for sockets and streams.
 */
import { jitteredDelay, sleep, type BackoffOptions } from "./backoff";
import { EdgepostError, errorFromResponse, networkError } from "./errors";

export interface RetryOptions extends BackoffOptions {
  /** Tries in all, the first included (1 = never retry). */
  attempts: number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 3, minDelayMs: 200, maxDelayMs: 5_000 };

/** A Retry-After longer than this is not waited for: the error goes to the caller. */
const MAX_RETRY_AFTER_SECONDS = 60;

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /** Only requests that are safe to repeat are retried. */
  idempotent?: boolean;
  signal?: AbortSignal | undefined;
}

export class HttpClient {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly token: string,
    private readonly fetchFn: FetchLike,
    private readonly retry: RetryOptions,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
  }

  /** `path` plus query, on the base URL; `encode` each name segment before passing it. */
  url(path: string, query: Record<string, string | number | undefined> = {}): string {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  /** A `ws:`/`wss:` URL with the token in the query: WebSockets cannot carry headers. */
  socketUrl(path: string, query: Record<string, string | number | undefined> = {}): string {
    return this.url(path, { ...query, token: this.token }).replace(/^http/, "ws");
  }

  get authorization(): string {
    return `Bearer ${this.token}`;
  }

  /** Fetch with credentials; a network failure becomes an EdgepostError (`network_error`). */
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("authorization", this.authorization);
    try {
      return await this.fetchFn(url, { ...init, headers });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw networkError(url, error);
    }
  }

  /** A JSON request; non-2xx answers throw EdgepostError. */
  async request<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const url = this.url(path, options.query);
    const init: RequestInit = { method: options.method ?? "GET", signal: options.signal ?? null };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers = { "content-type": "application/json" };
    }
    const attempts = options.idempotent ? Math.max(1, this.retry.attempts) : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(url, init);
      } catch (error) {
        if (!(error instanceof EdgepostError) || !error.retryable || attempt >= attempts) throw error;
        const retryAfterMs = (error.retryAfterSeconds ?? 0) * 1000;
        if (retryAfterMs > MAX_RETRY_AFTER_SECONDS * 1000) throw error;
        await sleep(Math.max(retryAfterMs, jitteredDelay(attempt, this.retry)), options.signal);
        if (options.signal?.aborted) throw error;
      }
    }
  }

  private async once<T>(url: string, init: RequestInit): Promise<T> {
    const response = await this.fetch(url, init);
    if (!response.ok) throw await errorFromResponse(response);
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      // The connection broke while the body was arriving.
      throw networkError(url, error);
    }
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new EdgepostError(response.status, "invalid_response", `expected JSON from ${init.method} ${url}, got: ${text.slice(0, 200)}`, undefined, { cause });
    }
  }
}

/** A topic or queue name as a URL path segment. */
export function segment(name: string): string {
  return encodeURIComponent(name);
}
