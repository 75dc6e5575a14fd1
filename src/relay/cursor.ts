/**
 * Cursors: where a subscriber of a partitioned topic stands, one seq per partition in partition
 * order, written `12,40,7` (DESIGN.md "Partitioned topics"). A topic with one partition has a
 * one-entry cursor, which is just its seq, so `after=12` means the same everywhere.
 */
import { ApiError } from "../protocol/errors";

const CURSOR_PATTERN = /^\d{1,15}(,\d{1,15}){0,63}$/;

/**
 * Parse `text` for a topic of `partitions` partitions. Fewer entries than partitions: the
 * missing ones are 0 (partitions added after the cursor was taken hold only newer messages).
 */
export function parseCursor(text: string, partitions: number, what = "after"): number[] {
  if (!CURSOR_PATTERN.test(text)) {
    throw new ApiError(400, "invalid_query", `${what} must be a seq, or on a partitioned topic a cursor: one seq per partition, comma-separated (12,40,7)`);
  }
  const seqs = text.split(",").map(Number);
  if (seqs.length > partitions) {
    throw new ApiError(400, "invalid_query", `${what} has ${seqs.length} entries but the topic has ${partitions} partition${partitions === 1 ? "" : "s"}`);
  }
  while (seqs.length < partitions) seqs.push(0);
  return seqs;
}

export function formatCursor(seqs: readonly number[]): string {
  return seqs.join(",");
}
