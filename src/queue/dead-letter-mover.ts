/**
 * Moves a queue's dead messages to its dead-letter queue: stored there first (recognised by
 * their move numbers, dead-moves.ts), deleted here after, so a message is never lost and never
 * deliverable in both. One move runs at a time; callers that ask meanwhile share it.
 */
import type { Env } from "../env";
import type { QueueConfig } from "../protocol/schemas";
import { deadMoveKey } from "./dead-moves";
import type { QueueStore } from "./store";

const DEAD_LETTER_BATCH = 100;
/** Batches per move; the alarm continues at once when more remain. */
const DEAD_LETTER_ROUNDS = 10;

export class DeadLetterMover {
  private moving: Promise<boolean> | null = null;

  /** `store` and `config` are read at each batch: a delete re-opens the queue with fresh ones. */
  constructor(
    private readonly env: Env,
    private readonly name: string,
    private readonly store: () => QueueStore,
    private readonly config: () => QueueConfig,
  ) {}

  /** Move what is dead now; resolves to whether more remain. */
  move(): Promise<boolean> {
    this.moving ??= this.send().finally(() => {
      this.moving = null;
    });
    return this.moving;
  }

  private async send(): Promise<boolean> {
    // Re-read after each batch: messages that died while a batch was in flight share this
    // move (callers coalesce on it) and must not wait for the retry alarm.
    for (let round = 0; round < DEAD_LETTER_ROUNDS; round++) {
      const store = this.store();
      const target = this.config().deadLetterQueue;
      if (target === null) {
        store.dead.revive(Date.now());
        return false;
      }
      // Lowest move number first, one batch at a time: the target recognises resends (dead-moves.ts).
      const rows = store.dead.pending(DEAD_LETTER_BATCH);
      if (rows.length === 0) return false;
      const sent = await this.env.QUEUE.getByName(target).transfer(
        rows.map((row) => ({ key: deadMoveKey(this.name, row.move), id: row.id, data: row.data, attributes: row.attributes, source: this.name })),
      );
      // The target's own failure comes back as a value: thrown here, inside this object, it
      // takes the path of an unreachable target (the caller logs it, the alarm retries).
      if (!sent.ok) throw new Error(`dead-letter queue ${target} did not store the move: ${sent.message}`);
      // The queue was deleted meanwhile: its successor has no such rows (nor counters to bump).
      if (this.store() !== store) return false;
      store.deadLettered(rows.map((row) => row.seq));
    }
    return this.store().dead.hasPending();
  }
}
