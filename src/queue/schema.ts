/** The Queue object's SQLite schema, as versioned migrations (see storage/migrations.ts). */
export const QUEUE_MIGRATIONS = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   -- One row per message until it is acked, dead-lettered or expires.
   -- A message is ready when lease_id IS NULL AND state = 0 AND visible_at <= now;
   -- delayed when lease_id IS NULL AND visible_at > now; in flight when lease_id IS NOT NULL,
   -- and then visible_at is when the lease expires.
   CREATE TABLE messages (
     seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL,
     data TEXT NOT NULL,
     attributes TEXT,
     size INTEGER NOT NULL,
     enqueued_at INTEGER NOT NULL,
     attempt INTEGER NOT NULL DEFAULT 0,
     visible_at INTEGER NOT NULL,
     lease_id TEXT,
     consumer TEXT,
     -- 0 deliverable, 1 dead (moving to the dead-letter queue), 2 being redriven out.
     state INTEGER NOT NULL DEFAULT 0,
     -- The queue a dead letter came from (for redrive); null for messages enqueued directly.
     source TEXT
   );
   CREATE INDEX messages_by_visible ON messages (visible_at);
   CREATE UNIQUE INDEX messages_by_lease ON messages (lease_id) WHERE lease_id IS NOT NULL;
   CREATE INDEX leases_by_expiry ON messages (visible_at) WHERE lease_id IS NOT NULL;
   CREATE INDEX messages_by_consumer ON messages (consumer) WHERE consumer IS NOT NULL;
   CREATE INDEX messages_by_state ON messages (state) WHERE state <> 0;
   -- Idempotency keys: "p:<id>" for publishers, "t:<topic>:<seq>" for topic forwarding,
   -- "d:<queue>:<seq>" for dead letters, "r:<dlq>:<seq>" for redrives.
   CREATE TABLE dedup (key TEXT PRIMARY KEY, seq INTEGER NOT NULL, expires_at INTEGER NOT NULL);
   CREATE INDEX dedup_by_expiry ON dedup (expires_at);`,
  // Topic forwards and redrives are sent in seq order, one batch in flight per origin: the
  // highest seq stored from each origin recognises a resend for ever, not only within the
  // publisher dedup window (dead letters too, by move number since issue 15: dead-moves.ts).
  `CREATE TABLE transfer_marks (origin TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);`,
  // When a message was first leased (SQS's ApproximateFirstReceiveTimestamp; issue 13).
  `ALTER TABLE messages ADD COLUMN first_leased_at INTEGER;`,
  // Topics bound to this queue, told to unbind when the queue is deleted (lifecycle/links.ts).
  `CREATE TABLE bound_topics (topic TEXT PRIMARY KEY);`,
  // Dead letters are numbered when they die and sent in that order (dead-moves.ts), so the
  // dead-letter queue recognises a late resend too. Rows already dead keep their seq as number:
  // the key they were sent under before, still in the target's dedup window.
  `ALTER TABLE messages ADD COLUMN dead_move INTEGER;
   UPDATE messages SET dead_move = seq WHERE state = 1;`,
] as const;
