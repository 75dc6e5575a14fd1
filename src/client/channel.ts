/**
 * A push-to-pull buffer: a socket pushes items, a `for await` loop takes them. Ending it with
 * an error makes the loop throw that error once the buffered items are taken.
 */
export class Channel<T> implements AsyncIterable<T> {
  private readonly buffer: T[] = [];
  private waiting: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | null = null;
  private ended = false;
  private failure: unknown = undefined;

  /** `onReturn` runs when the consumer stops early (`break` out of `for await`). */
  constructor(private readonly onReturn: () => void) {}

  push(item: T): void {
    if (this.ended) return;
    if (this.waiting) {
      const waiting = this.waiting;
      this.waiting = null;
      waiting.resolve({ value: item, done: false });
    } else {
      this.buffer.push(item);
    }
  }

  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = error;
    if (this.waiting) {
      const waiting = this.waiting;
      this.waiting = null;
      if (error === undefined) waiting.resolve({ value: undefined, done: true });
      else waiting.reject(error);
    }
  }

  /** Items pushed and not yet taken. */
  get size(): number {
    return this.buffer.length;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift()!, done: false });
        if (this.ended) {
          if (this.failure === undefined) return Promise.resolve({ value: undefined, done: true });
          const failure = this.failure;
          this.failure = undefined;
          return Promise.reject(failure);
        }
        return new Promise((resolve, reject) => {
          this.waiting = { resolve, reject };
        });
      },
      return: () => {
        this.onReturn();
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
