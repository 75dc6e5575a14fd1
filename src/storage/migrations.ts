/**
 * Versioned schema migrations for an object's SQLite database. Each entry runs once, in
 * order, inside one synchronous transaction with the version bump, so an object is never
 * left half-migrated. Append new entries; never edit a shipped one.
 */
export function migrate(storage: DurableObjectStorage, migrations: readonly string[]): void {
  const sql = storage.sql;
  sql.exec("CREATE TABLE IF NOT EXISTS _schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)");
  const row = sql.exec<{ version: number }>("SELECT version FROM _schema WHERE id = 1").toArray()[0];
  const current = row?.version ?? 0;
  if (current >= migrations.length) return;
  storage.transactionSync(() => {
    for (let index = current; index < migrations.length; index++) sql.exec(migrations[index]!);
    sql.exec("INSERT INTO _schema (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version", migrations.length);
  });
}

/** A JSON settings row in a `meta` table (created by the object's first migration). */
export function readMeta<T>(sql: SqlStorage, key: string): T | undefined {
  const row = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
  return row ? (JSON.parse(row.value) as T) : undefined;
}

export function writeMeta(sql: SqlStorage, key: string, value: unknown): void {
  sql.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, JSON.stringify(value));
}
