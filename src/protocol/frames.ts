/**
 * Wire encoding of messages. A message's `data` and `attributes` are stored as JSON text and
 * spliced into frames and responses as they are, so a message is serialised once, on publish,
 * however many subscribers and readers it reaches.
 */

/** A message as an object holds it: JSON text for the payload parts. */
export interface MessageRow {
  seq: number;
  id: string;
  /** JSON text of `data`. */
  data: string;
  /** JSON text of `attributes`, or null for none. */
  attributes: string | null;
  publishedAt: number;
}

/** A message prepared by the worker for storage: validated, serialised, measured. */
export interface PreparedMessage {
  id?: string;
  data: string;
  attributes: string | null;
  /** Bytes of data plus attributes, as stored. */
  size: number;
}

/** `{"seq","id","data","attributes","publishedAt"}` as JSON text, with optional extra fields first. */
export function encodeMessage(row: MessageRow, prefix = ""): string {
  return (
    `{${prefix}"seq":${row.seq},"id":${JSON.stringify(row.id)},"data":${row.data},` +
    `"attributes":${row.attributes ?? "{}"},"publishedAt":${row.publishedAt}}`
  );
}

/** `"partition":i,` for a row of a partitioned topic's partition i, else nothing. */
function partitionPrefix(partition: number | undefined): string {
  return partition === undefined ? "" : `"partition":${partition},`;
}

/**
 * The topic subscriber frame: `{"type":"message","topic",...message}`; on a partitioned topic
 * (relays, issue 11) it names the message's `partition` too.
 */
export function encodeTopicFrame(topic: string, row: MessageRow, partition?: number): string {
  return encodeMessage(row, `"type":"message","topic":${JSON.stringify(topic)},${partitionPrefix(partition)}`);
}

/** Cut rows into runs of at most `maxBytes` of payload, each holding at least one row. */
export function chunkBySize<T extends MessageRow>(rows: readonly T[], maxBytes: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = row.data.length + (row.attributes?.length ?? 0);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** The batched topic frame (`?batch=1`): `{"type":"messages","topic","messages":[...]}`, seq order. */
export function encodeTopicBatch(topic: string, rows: readonly MessageRow[], partition?: number): string {
  const prefix = partitionPrefix(partition);
  return `{"type":"messages","topic":${JSON.stringify(topic)},"messages":[${rows.map((row) => encodeMessage(row, prefix)).join(",")}]}`;
}

/** A partitioned topic's subscription starts with its position: `{"type":"cursor","topic","cursor"}`. */
export function encodeCursorFrame(topic: string, cursor: string): string {
  return `{"type":"cursor","topic":${JSON.stringify(topic)},"cursor":${JSON.stringify(cursor)}}`;
}

/** Close codes edgepost uses on subscriber and consumer sockets (4000-4999 are private use). */
export const CloseCode = {
  /** Normal close by the server (for example the topic was deleted). */
  normal: 1000,
  /** The subscriber fell too far behind; reconnect with `after=<last seq seen>`. */
  slowSubscriber: 4008,
  /** A frame the server does not accept (binary, invalid JSON, unknown type). */
  badFrame: 4400,
  /** The credential expired or was never valid. */
  unauthorized: 4401,
  /** The credential does not cover this operation. */
  forbidden: 4403,
  /** Too many frames per second from this socket. */
  rateLimited: 4429,
} as const;

/** A message leased to a consumer, as an object hands it out. */
export interface LeasedRow extends MessageRow {
  attempt: number;
  leaseId: string;
  leaseExpiresAt: number;
  /** When the message was first leased (ms); not in the HTTP frames, read by the SQS adapter. */
  firstLeasedAt: number;
}

/** A pulled or pushed queue message as JSON text: the message plus its delivery and lease. */
export function encodeLeased(row: LeasedRow, prefix = ""): string {
  return (
    `{${prefix}"seq":${row.seq},"id":${JSON.stringify(row.id)},"data":${row.data},` +
    `"attributes":${row.attributes ?? "{}"},"publishedAt":${row.publishedAt},"attempt":${row.attempt},` +
    `"leaseId":${JSON.stringify(row.leaseId)},"leaseExpiresAt":${row.leaseExpiresAt}}`
  );
}

/** The queue consumer's message frame: `{"type":"message","queue",...leased message}`. */
export function encodeQueueFrame(queue: string, row: LeasedRow): string {
  return encodeLeased(row, `"type":"message","queue":${JSON.stringify(queue)},`);
}

/** The batched consumer frame (`?batch=1`): `{"type":"messages","queue","messages":[pull items]}`. */
export function encodeQueueBatch(queue: string, rows: readonly LeasedRow[]): string {
  return `{"type":"messages","queue":${JSON.stringify(queue)},"messages":[${rows.map((row) => encodeLeased(row)).join(",")}]}`;
}
