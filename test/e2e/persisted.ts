/**
 * The server's persisted state, read from the files themselves with Node's SQLite (read-only,
 * beside the running workerd: SQLite's WAL mode lets readers in while it writes).
 *
 * Layout under the persist directory (Miniflare 5 / workerd, seen 2026-11-27):
 *   do/-<ClassName>/<actor id>.sqlite (+ -wal, -shm)  one database per Durable Object
 *   do/-<ClassName>/metadata.sqlite                   table _cf_ALARM (actor_id, scheduled_time
 *                                                     in ns, actor_name): the alarms workerd
 *                                                     keeps across restarts, and how a name
 *                                                     maps to its actor id.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";

export type ObjectClass = "TopicObject" | "QueueObject";

function classDir(persistDir: string, className: ObjectClass): string {
  return path.join(persistDir, "do", `-${className}`);
}

/** Run `read` on a read-only connection to `file`, closed afterwards. */
export function readDatabase<T>(file: string, read: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

interface AlarmRow {
  actor_id: string;
  actor_name: string | null;
  scheduled_time: bigint | null;
}

function alarmRow(persistDir: string, className: ObjectClass, name: string): AlarmRow | undefined {
  return readDatabase(path.join(classDir(persistDir, className), "metadata.sqlite"), (db) => {
    const statement = db.prepare("SELECT actor_id, actor_name, scheduled_time FROM _cf_ALARM WHERE actor_name = ?");
    // Nanoseconds since the epoch do not fit a double exactly.
    statement.setReadBigInts(true);
    return statement.get(name) as AlarmRow | undefined;
  });
}

/** When workerd will run the named object's alarm (ms since the epoch), or null if none is set. */
export function persistedAlarmAt(persistDir: string, className: ObjectClass, name: string): number | null {
  const time = alarmRow(persistDir, className, name)?.scheduled_time;
  return time === undefined || time === null ? null : Number(time / 1_000_000n);
}

/**
 * The SQLite file of the object with this name. It is found through the alarm table, so the
 * object must have an alarm set (a topic or queue holding messages always has one: retention).
 */
export function objectDatabase(persistDir: string, className: ObjectClass, name: string): string {
  const row = alarmRow(persistDir, className, name);
  if (!row) throw new Error(`no alarm row for ${className} ${name}: cannot find its database file`);
  return path.join(classDir(persistDir, className), `${row.actor_id}.sqlite`);
}

/**
 * Run `read` on a copy of the database and its write-ahead log (without the shared-memory
 * index), taken while the server is frozen: opening it recovers from the log exactly what a
 * kill at that instant leaves on disk, which a live reader's view of the index may lag.
 */
export function readDurable<T>(files: readonly string[], read: (copies: string[]) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), "edgepost-durable-"));
  try {
    const copies = files.map((file, index) => {
      const copy = path.join(dir, `${index}.sqlite`);
      copyFileSync(file, copy);
      if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${copy}-wal`);
      return copy;
    });
    return read(copies);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function countRows(file: string, table: string, where = "1"): number {
  return readDatabase(file, (db) => Number((db.prepare(`SELECT COUNT(*) AS n FROM "${table}" WHERE ${where}`).get() as { n: number }).n));
}

export interface DatabaseSize {
  /** Pages in the database as the latest commit sees it (main file and WAL together). */
  pages: number;
  /** Of those, pages on the freelist: space freed by deletes, reused before the file grows. */
  freePages: number;
  pageSize: number;
  /** Bytes on disk: the main file and the write-ahead log. */
  fileBytes: number;
  walBytes: number;
}

export function databaseSize(file: string): DatabaseSize {
  const pragma = (db: DatabaseSync, name: string) => Number(Object.values(db.prepare(`PRAGMA ${name}`).get() as Record<string, number>)[0]);
  const sizes = readDatabase(file, (db) => ({ pages: pragma(db, "page_count"), freePages: pragma(db, "freelist_count"), pageSize: pragma(db, "page_size") }));
  const bytes = (candidate: string) => {
    try {
      return statSync(candidate).size;
    } catch {
      return 0;
    }
  };
  return { ...sizes, fileBytes: bytes(file), walBytes: bytes(`${file}-wal`) };
}

/** Pages holding data: what the database really uses. */
export const usedPages = (size: DatabaseSize) => size.pages - size.freePages;
