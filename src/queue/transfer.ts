/**
 * Messages moved between objects: topic to bound queue, queue to its dead-letter queue, and
 * dead-letter queue back to a source (redrive). Each carries an idempotency key naming its
 * origin, so a move retried after a lost reply stores nothing twice.
 */
export interface TransferredMessage {
  /** "t:<topic>:<seq>", "d:<queue>:<seq>" or "r:<dlq>:<seq>". */
  key: string;
  /** The message's id, kept everywhere it goes. */
  id: string;
  data: string;
  attributes: string | null;
  /** For dead letters: the queue it came from, where a redrive sends it back. */
  source: string | null;
}
