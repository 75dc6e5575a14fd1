/**
 * Messages moved between objects: topic to bound queue, queue to its dead-letter queue, and
 * dead-letter queue back to a source (redrive). Each carries a key naming its origin and a
 * number: the topic's or dead-letter queue's seq, or a dead letter's move number
 * (dead-moves.ts). Each kind is sent in increasing order, so the receiving queue keeps the
 * highest number stored per origin and a resend stores nothing twice however late it comes.
 */
export interface TransferredMessage {
  /** "t:<topic>:<seq>", "d:<queue>:<move number>" or "r:<dlq>:<seq>". */
  key: string;
  /** The message's id, kept everywhere it goes. */
  id: string;
  data: string;
  attributes: string | null;
  /** For dead letters: the queue it came from, where a redrive sends it back. */
  source: string | null;
}

/**
 * For a key "<kind>:<origin>:<seq>" (the origin, a name, may contain ':'):
 * true, and the origin's mark moved to seq, when seq is past the highest stored from that
 * origin; false for a resend.
 */
export function claimInOrder(sql: SqlStorage, key: string): boolean {
  const split = key.lastIndexOf(":");
  const origin = key.slice(0, split);
  const seq = Number(key.slice(split + 1));
  const mark = sql.exec<{ last_seq: number }>("SELECT last_seq FROM transfer_marks WHERE origin = ?", origin).toArray()[0]?.last_seq ?? 0;
  if (seq <= mark) return false;
  sql.exec("INSERT INTO transfer_marks (origin, last_seq) VALUES (?, ?) ON CONFLICT (origin) DO UPDATE SET last_seq = excluded.last_seq", origin, seq);
  return true;
}
