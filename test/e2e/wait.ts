/**
 * Waiting on conditions with a deadline and a message that says what was expected and what
 * was seen. Collections of received items (`Inbox`) wake their waiters on every new item, so
 * nothing here sleeps for a fixed time.
 */

export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/** Resolve with `promise`, or reject after `timeoutMs` with `describe()` in the message. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, describe: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`timed out after ${timeoutMs} ms: ${describe()}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

interface Waiter {
  check: () => boolean;
  resolve: () => void;
}

/**
 * Items received from a socket or stream, in arrival order. `waitUntil` re-checks its
 * condition whenever an item arrives or the source ends.
 */
export class Inbox<T> {
  readonly items: T[] = [];
  private readonly waiters = new Set<Waiter>();
  private endedWith: string | null = null;

  constructor(private readonly label: string) {}

  push(item: T): void {
    this.items.push(item);
    this.notify();
  }

  /** The source is gone (socket closed, stream ended); waiters that still wait fail at once. */
  end(reason: string): void {
    if (this.endedWith !== null) return;
    this.endedWith = reason;
    this.notify();
  }

  get ended(): string | null {
    return this.endedWith;
  }

  /** Wait until `condition(items)` holds; fail after `timeoutMs` or when the source ends first. */
  async waitUntil(condition: (items: readonly T[]) => boolean, timeoutMs: number, expectation: string): Promise<void> {
    if (condition(this.items)) return;
    let waiter: Waiter | undefined;
    const done = new Promise<void>((resolve, reject) => {
      waiter = {
        check: () => {
          if (condition(this.items)) return true;
          if (this.endedWith !== null) {
            reject(new Error(`${this.label} ended (${this.endedWith}) before ${expectation}; received ${this.items.length} items`));
            return true;
          }
          return false;
        },
        resolve,
      };
      this.waiters.add(waiter);
      if (waiter.check()) resolve();
    });
    try {
      await withTimeout(done, timeoutMs, () => `${this.label}: expected ${expectation}; received ${this.items.length} items`);
    } finally {
      if (waiter) this.waiters.delete(waiter);
    }
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) {
      if (waiter.check()) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }
}

/**
 * Poll `probe` until it returns a value that is not undefined, for state only a request can
 * observe (queue stats, history). Short pauses between probes, a hard deadline overall;
 * `describe` says what was expected and what was last seen.
 */
export async function pollUntil<T>(probe: () => Promise<T | undefined>, timeoutMs: number, describe: () => string, pauseMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new TimeoutError(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

/** 1..n, for comparing received sequences. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => from + index);
}
