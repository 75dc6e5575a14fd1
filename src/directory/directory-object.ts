/**
 * The Directory Durable Object: the list of topic and queue names that exist, for the console
 * and `GET /v1/topics` / `GET /v1/queues`. Objects register themselves once, on their first
 * write (registration.ts), so the directory is never on the publish path and cannot become a
 * hot spot: it sees one call per topic or queue, ever.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { migrate } from "../storage/migrations";

export type EntryKind = "topic" | "queue";

export interface DirectoryEntry {
  name: string;
  createdAt: number;
}

const MIGRATIONS = [
  `CREATE TABLE entries (kind TEXT NOT NULL, name TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (kind, name));`,
] as const;

/** The one directory object's name. */
export const DIRECTORY_NAME = "directory";

export class DirectoryObject extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage, MIGRATIONS);
  }

  register(kind: EntryKind, name: string): void {
    this.ctx.storage.sql.exec("INSERT OR IGNORE INTO entries (kind, name, created_at) VALUES (?, ?, ?)", kind, name, Date.now());
  }

  unregister(kind: EntryKind, name: string): void {
    this.ctx.storage.sql.exec("DELETE FROM entries WHERE kind = ? AND name = ?", kind, name);
  }

  /**
   * Names of one kind in name order, a page at a time (`after` = the last name seen), optionally
   * only those starting with `prefix`: every name character sorts before `~`, so the names with
   * a prefix are exactly those in [prefix, prefix + "~") and the primary key bounds the scan.
   */
  list(kind: EntryKind, after: string, limit: number, prefix = ""): DirectoryEntry[] {
    return this.ctx.storage.sql
      .exec<{ name: string; created_at: number }>(
        "SELECT name, created_at FROM entries WHERE kind = ? AND name > ? AND name >= ? AND name < ? ORDER BY name LIMIT ?",
        kind,
        after,
        prefix,
        `${prefix}~`,
        limit,
      )
      .toArray()
      .map((row) => ({ name: row.name, createdAt: row.created_at }));
  }

  /** One entry, or null when the name is not listed (SQS GetQueueUrl, GetQueueAttributes). */
  lookup(kind: EntryKind, name: string): DirectoryEntry | null {
    const row = this.ctx.storage.sql.exec<{ created_at: number }>("SELECT created_at FROM entries WHERE kind = ? AND name = ?", kind, name).toArray()[0];
    return row ? { name, createdAt: row.created_at } : null;
  }
}
