/**
 * Payloads and frames. Every published message carries the load generator's own sequence
 * number `c` and its intended send time `t` (ms since the epoch); every frame carries the
 * server's `seq`. Frames are read straight from the socket's Buffer with indexOf, not
 * JSON.parse, to keep the load generator's CPU for load (1,000 subscribers receive a lot).
 */

/** JSON text of a message's data, padded so that data is `bytes` long (for c, t of typical size). */
export function makePayload(bytes) {
  const skeleton = `{"c":${1_000_000},"t":${(1.8e12 + 0.123).toFixed(3)},"pad":""}`;
  const pad = "x".repeat(Math.max(0, bytes - skeleton.length));
  return {
    bytes,
    data: (c, t) => `{"c":${c},"t":${t.toFixed(3)},"pad":"${pad}"}`,
  };
}

function numberAt(buf, start) {
  let end = start;
  while (end < buf.length) {
    const ch = buf[end];
    // digits, '.', '-', 'e', '+'
    if ((ch >= 48 && ch <= 57) || ch === 46 || ch === 45 || ch === 101 || ch === 43) end++;
    else break;
  }
  return end > start ? Number(buf.toString("latin1", start, end)) : NaN;
}

/** The number following `key` (which includes the quote and colon), or NaN. */
export function numberAfter(buf, key, from = 0) {
  const at = buf.indexOf(key, from);
  return at < 0 ? NaN : numberAt(buf, at + key.length);
}

export function stringAfter(buf, key, from = 0) {
  const at = buf.indexOf(key, from);
  if (at < 0) return null;
  const start = at + key.length;
  const end = buf.indexOf(34, start); // closing quote
  return end < 0 ? null : buf.toString("latin1", start, end);
}

const MESSAGE_PREFIX = Buffer.from('{"type":"message"');
const BATCH_PREFIX = Buffer.from('{"type":"messages"');
const RESULT_PREFIX = Buffer.from('{"type":"result"');

const startsWith = (buf, prefix) => buf.length > prefix.length && buf.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
/** One message: `{"type":"message",...}` (the prefix's closing quote excludes `"messages"`). */
export const isMessageFrame = (buf) => startsWith(buf, MESSAGE_PREFIX);
const BATCH_TYPE = Buffer.from('"type":"messages"');
/**
 * A batched frame (`?batch=1`, DESIGN.md "Batched frames"): `{"type":"messages",...,
 * "messages":[...]}`; `type` is looked for near the start too, in case it is not the first key.
 */
export const isBatchFrame = (buf) => startsWith(buf, BATCH_PREFIX) || buf.subarray(0, 96).indexOf(BATCH_TYPE) >= 0;
export const isResultFrame = (buf) => startsWith(buf, RESULT_PREFIX);

const SEQ_KEY = Buffer.from('"seq":');
const DATA_KEY = Buffer.from('"data":{"c":');

/**
 * seq, c and t of each message of a batched topic frame, in order, without JSON.parse (1,000
 * subscribers receive a lot). Each message has one `"seq":` and one `"data":{"c":...}`; our
 * data has no `seq` key and the frame's own fields (`type`, `topic`) hold none, so the k-th
 * of each belong to the k-th message.
 */
export function forEachBatched(buf, visit) {
  let seqAt = buf.indexOf(SEQ_KEY);
  let dataAt = buf.indexOf(DATA_KEY);
  let count = 0;
  while (seqAt >= 0) {
    const seq = numberAt(buf, seqAt + SEQ_KEY.length);
    const c = dataAt < 0 ? NaN : numberAt(buf, dataAt + DATA_KEY.length);
    const t = dataAt < 0 ? NaN : numberAfter(buf, '"t":', dataAt);
    visit(seq, c, t);
    count++;
    seqAt = buf.indexOf(SEQ_KEY, seqAt + SEQ_KEY.length);
    dataAt = dataAt < 0 ? -1 : buf.indexOf(DATA_KEY, dataAt + DATA_KEY.length);
  }
  return count;
}

/** seq (the server's), c and t (ours) of a topic or broadcast frame. */
export function readMessage(buf) {
  const seq = numberAfter(buf, '"seq":');
  const dataAt = buf.indexOf('"data":{"c":');
  const c = dataAt < 0 ? NaN : numberAt(buf, dataAt + 12);
  const t = dataAt < 0 ? NaN : numberAfter(buf, '"t":', dataAt);
  return { seq, c, t };
}

/**
 * Order check of one stream of server seqs: each must be the previous plus one. Gaps (loss)
 * and repeats (duplicates) make a run invalid.
 */
export class SeqCheck {
  constructor() {
    this.first = null;
    this.last = null;
    this.count = 0;
    this.gaps = 0;
    this.duplicates = 0;
  }

  see(seq) {
    this.count++;
    if (this.last === null) this.first = seq;
    else if (seq <= this.last) {
      this.duplicates++;
      return;
    } else if (seq !== this.last + 1) this.gaps += seq - this.last - 1;
    this.last = seq;
  }

  /** Problems against the expected range [from, to] (the seqs the publishes were acked with). */
  problems(from, to) {
    const problems = [];
    if (this.gaps) problems.push(`${this.gaps} missing inside the stream`);
    if (this.duplicates) problems.push(`${this.duplicates} duplicates or out of order`);
    if (to >= from) {
      if (this.first !== from) problems.push(`first seq ${this.first}, expected ${from}`);
      if (this.last !== to) problems.push(`last seq ${this.last}, expected ${to}`);
    } else if (this.count > 0) problems.push(`${this.count} frames, expected none`);
    return problems;
  }
}

/** Acked seqs of a publisher must be unique and contiguous: [from, to] with no hole. */
export class AckedSeqs {
  constructor() {
    this.seqs = [];
  }

  add(seq) {
    this.seqs.push(seq);
  }

  range() {
    if (this.seqs.length === 0) return { from: 1, to: 0, problems: [] };
    const sorted = Float64Array.from(this.seqs).sort();
    const problems = [];
    let duplicates = 0;
    for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) duplicates++;
    const from = sorted[0];
    const to = sorted[sorted.length - 1];
    if (duplicates) problems.push(`${duplicates} seqs acked twice`);
    if (to - from + 1 !== sorted.length - duplicates) problems.push(`acked seqs ${from}..${to} have ${to - from + 1 - (sorted.length - duplicates)} holes`);
    if (sorted.some(Number.isNaN)) problems.push("an ack without a seq");
    return { from, to, problems };
  }
}
