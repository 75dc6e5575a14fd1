/**
 * Deleting an object's state (DELETE /v1/topics/{t}, /v1/queues/{q}). The platform keeps the
 * object's in-memory instance alive after `deleteAll()`, so each object re-opens its state
 * from the (now empty) storage right after `wipe`: no config, counter or last seq survives.
 */
import { DIRECTORY_NAME, type EntryKind } from "../directory/directory-object";
import type { Env } from "../env";

/** Close code for sockets of a deleted topic or queue: "going away" (RFC 6455). */
export const DELETED_CLOSE_CODE = 1001;

/** Whether any of these tables holds a row: the object has state worth deleting. */
export function hasRows(sql: SqlStorage, tables: readonly string[]): boolean {
  return tables.some((table) => sql.exec(`SELECT 1 FROM ${table} LIMIT 1`).toArray().length > 0);
}

/**
 * Drop the name from the listings, close every socket (1001), clear the alarm and delete all
 * storage. The caller re-runs its migrations and reloads its state afterwards. `listed: false`
 * for objects the directory never lists (a topic's partitions past 0, issue 11).
 */
export async function wipe(ctx: DurableObjectState, env: Env, kind: EntryKind, name: string, { listed = true } = {}): Promise<void> {
  // Listings first: if the directory cannot be reached nothing is deleted and a retry works.
  if (listed) await env.DIRECTORY.getByName(DIRECTORY_NAME).unregister(kind, name);
  for (const socket of ctx.getWebSockets()) {
    try {
      socket.close(DELETED_CLOSE_CODE, `${kind} ${name} was deleted`);
    } catch {
      // Already closed.
    }
  }
  await ctx.storage.deleteAlarm();
  await ctx.storage.deleteAll();
}
