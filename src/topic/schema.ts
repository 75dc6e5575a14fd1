/** The Topic object's SQLite schema, as versioned migrations (see storage/migrations.ts). */
export const TOPIC_MIGRATIONS = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   -- The retained log. seq is assigned by the object, contiguous, never reused.
   CREATE TABLE messages (
     seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL,
     data TEXT NOT NULL,
     attributes TEXT,
     published_at INTEGER NOT NULL,
     size INTEGER NOT NULL
   );
   CREATE INDEX messages_by_time ON messages (published_at);
   -- Publisher idempotency: key -> the seq first assigned, kept for the dedup window.
   CREATE TABLE dedup (key TEXT PRIMARY KEY, seq INTEGER NOT NULL, expires_at INTEGER NOT NULL);
   CREATE INDEX dedup_by_expiry ON dedup (expires_at);
   -- Queues bound to this topic, and the outbox of messages still to forward to them.
   CREATE TABLE subscriptions (queue TEXT PRIMARY KEY, filter TEXT, created_at INTEGER NOT NULL);
   CREATE TABLE outbox (
     queue TEXT NOT NULL,
     seq INTEGER NOT NULL,
     due_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (queue, seq)
   );
   CREATE INDEX outbox_by_due ON outbox (due_at);`,
  // An index on publish time cost a write per message; retention scans by seq instead.
  `DROP INDEX IF EXISTS messages_by_time;`,
  // Relays this partition feeds (relay/feed.ts): a relay registers itself; generation tells a
  // stale release from a current one. *_subscribers: the relay's last report (partition 0's stats).
  `CREATE TABLE relays (
     relay INTEGER PRIMARY KEY,
     generation INTEGER NOT NULL,
     web_socket_subscribers INTEGER NOT NULL DEFAULT 0,
     sse_subscribers INTEGER NOT NULL DEFAULT 0
   );`,
] as const;
