/**
 * A comment line every 25 s keeps idle SSE streams open through proxies. The timer runs only
 * while there are streams: it keeps the object awake, which an open SSE request does anyway.
 */
const SSE_KEEPALIVE_MS = 25_000;

export class SseKeepAlive {
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly streams: () => number,
    private readonly ping: () => void,
  ) {}

  /** Call when a stream opens. */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      if (this.streams() === 0) return this.stop();
      this.ping();
    }, SSE_KEEPALIVE_MS);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
