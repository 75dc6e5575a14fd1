/**
 * Redrive: move a queue's unleased messages to another queue, or each back to the queue it was
 * dead-lettered from. The target deduplicates on (this queue, seq), so a batch whose reply is
 * lost and that is sent again is stored once.
 */
import type { Env } from "../env";
import { fail, type Outcome } from "../protocol/errors";
import type { QueueStore } from "./store";

const REDRIVE_BATCH = 100;

export interface RedriveResult {
  moved: number;
  skipped: number;
}

/**
 * Move up to `max` messages of queue `name` to `to` (null: each to its `source`). Messages with
 * no target, or whose target is this queue, stay. Each batch is marked as leaving before the
 * await, so no consumer can take it meanwhile.
 */
export async function redrive(env: Env, store: QueueStore, name: string, to: string | null, max: number): Promise<Outcome<RedriveResult>> {
  let moved = 0;
  let skipped = 0;
  // Skipped messages go back to deliverable: the cursor keeps them from being taken again.
  let afterSeq = 0;
  while (moved + skipped < max) {
    const rows = store.takeForRedrive(Math.min(REDRIVE_BATCH, max - moved - skipped), afterSeq);
    if (rows.length === 0) break;
    afterSeq = rows[rows.length - 1]!.seq;
    const byTarget = new Map<string, typeof rows>();
    const stay: number[] = [];
    for (const row of rows) {
      const target = to ?? row.source;
      if (target === null || target === name) {
        stay.push(row.seq);
        continue;
      }
      byTarget.set(target, [...(byTarget.get(target) ?? []), row]);
    }
    store.finishRedrive(stay, false);
    skipped += stay.length;
    for (const [target, batch] of byTarget) {
      // The target's own failure comes back as a value (its message the cause); reaching it can still throw.
      const sent = await env.QUEUE.getByName(target)
        .transfer(batch.map((row) => ({ key: `r:${name}:${row.seq}`, id: row.id, data: row.data, attributes: row.attributes, source: null })))
        .catch((error: unknown) => fail(503, "internal_error", String(error)));
      if (!sent.ok) {
        store.finishRedrive(
          rows.map((row) => row.seq),
          false,
        );
        return fail(503, "internal_error", `redrive to ${target} failed: ${sent.message}`);
      }
      store.finishRedrive(
        batch.map((row) => row.seq),
        true,
      );
      moved += batch.length;
    }
  }
  return { ok: true, value: { moved, skipped } };
}
