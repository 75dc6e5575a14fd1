/**
 * Messages moved between objects: topic to bound queue, queue to its dead-letter queue, and
 * dead-letter queue back to a source (redrive). Each carries a key naming its origin and seq.
 * Forwards and redrives are sent in seq order, so the receiving queue keeps the highest seq
 * stored per origin and a resend stores nothing twice however late it comes; dead letters
 * are recognised within the dedup window.
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
