/**
 * A queue's record of the objects that send it messages, so a delete can end the links:
 * the topics bound to it (told to unbind when the queue is deleted), and the per-origin
 * transfer marks and dead-letter keys that must not outlive a deleted origin (a topic or queue
 * created afresh under the same name numbers its messages from 1 again, and the old marks
 * would take them for resends).
 */

/** A topic bound this queue; its forwards start at `fromSeq`. */
export function linkTopic(sql: SqlStorage, topic: string, fromSeq: number): void {
  sql.exec("INSERT OR IGNORE INTO bound_topics (topic) VALUES (?)", topic);
  // A mark past fromSeq can only be left by an earlier topic of the same name (deleted since).
  sql.exec("UPDATE transfer_marks SET last_seq = ? WHERE origin = ? AND last_seq >= ?", fromSeq - 1, `t:${topic}`, fromSeq);
}

/** The topic unbound this queue: its links go, with those of its partitions (`<topic>#<i>`, issue 11). */
export function unlinkTopic(sql: SqlStorage, topic: string): void {
  sql.exec("DELETE FROM bound_topics WHERE topic = ? OR substr(topic, 1, ?) = ?", topic, topic.length + 1, `${topic}#`);
}

/** A topic or queue named `origin` was deleted: forget everything keyed by it. */
export function forgetOrigin(sql: SqlStorage, origin: string): void {
  sql.exec("DELETE FROM bound_topics WHERE topic = ?", origin);
  sql.exec("DELETE FROM transfer_marks WHERE origin IN (?, ?)", `t:${origin}`, `r:${origin}`);
  // Dead-letter keys are "d:<queue>:<seq>"; the origin may itself contain ':'.
  sql.exec("DELETE FROM dedup WHERE substr(key, 1, ?) = ?", origin.length + 3, `d:${origin}:`);
}

/** Topics that forward to this queue: recorded bindings, and origins of forwards received. */
export function linkedTopics(sql: SqlStorage): string[] {
  const bound = sql.exec<{ topic: string }>("SELECT topic FROM bound_topics").toArray().map((row) => row.topic);
  const forwarded = sql
    .exec<{ origin: string }>("SELECT origin FROM transfer_marks WHERE substr(origin, 1, 2) = 't:'")
    .toArray()
    .map((row) => row.origin.slice(2));
  return [...new Set([...bound, ...forwarded])];
}

/** Queues that hold keys of this queue: its dead-letter queue, and the queues its messages came from. */
export function linkedQueues(sql: SqlStorage, deadLetterQueue: string | null): string[] {
  const sources = sql
    .exec<{ source: string }>("SELECT DISTINCT source FROM messages WHERE source IS NOT NULL")
    .toArray()
    .map((row) => row.source);
  return [...new Set([...(deadLetterQueue ? [deadLetterQueue] : []), ...sources])];
}
