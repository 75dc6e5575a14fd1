/**
 * Dead letters on their way to the dead-letter queue, numbered (issue 15). A message gets a move
 * number when it dies, persisted with it; numbers only grow, for the life of the queue and past
 * a delete and re-create of it (they start from the clock). Moves are sent lowest number first,
 * one batch at a time (QueueObject.sendDeadLetters), so the dead-letter queue keeps the highest
 * number stored per source (transfer.ts, `claimInOrder`) and recognises a resend for ever: a
 * move whose reply was lost is stored once however late it is sent again, not only within the
 * target's dedup window.
 */
import { readMeta, writeMeta } from "../storage/migrations";
import { STATE_DEAD, STATE_DELIVERABLE } from "./table";

const LAST_MOVE_KEY = "lastDeadMove";

export interface DeadMove {
  seq: number;
  move: number;
  id: string;
  data: string;
  attributes: string | null;
}

/** The transfer key of a move: "d:<source queue>:<move number>" (transfer.ts). */
export const deadMoveKey = (queue: string, move: number): string => `d:${queue}:${move}`;

export class DeadLetterMoves {
  constructor(private readonly sql: SqlStorage) {}

  /** End the message's deliveries: it is dead and waits to move, under the next number. */
  markDead(seq: number): void {
    // Read from storage each time, not kept in memory: a group commit that is undone
    // (src/commit/) takes the number back with the rest. From the clock in microseconds at
    // first (a queue deleted and created again starts past the numbers its predecessor used),
    // then one more each time. Below 2^53 until the 2200s.
    const move = Math.max((readMeta<number>(this.sql, LAST_MOVE_KEY) ?? 0) + 1, Date.now() * 1000);
    this.sql.exec("UPDATE messages SET lease_id = NULL, consumer = NULL, state = ?, dead_move = ? WHERE seq = ?", STATE_DEAD, move, seq);
    writeMeta(this.sql, LAST_MOVE_KEY, move);
  }

  /** The next moves to send, lowest number first. */
  pending(limit: number): DeadMove[] {
    return this.sql
      .exec<DeadMove & Record<string, SqlStorageValue>>("SELECT seq, dead_move AS move, id, data, attributes FROM messages WHERE state = ? ORDER BY dead_move LIMIT ?", STATE_DEAD, limit)
      .toArray();
  }

  hasPending(): boolean {
    return this.sql.exec("SELECT 1 FROM messages WHERE state = ? LIMIT 1", STATE_DEAD).toArray().length > 0;
  }

  /** The dead-letter queue has stored these: they leave this queue. Returns how many left. */
  moved(seqs: readonly number[]): number {
    let left = 0;
    for (const seq of seqs) left += this.sql.exec("DELETE FROM messages WHERE seq = ? AND state = ?", seq, STATE_DEAD).rowsWritten > 0 ? 1 : 0;
    return left;
  }

  /** The dead-letter queue was unset meanwhile: the dead go back to retrying, unnumbered. */
  revive(now: number): void {
    this.sql.exec("UPDATE messages SET state = ?, visible_at = ?, dead_move = NULL WHERE state = ?", STATE_DELIVERABLE, now, STATE_DEAD);
  }
}
