/**
 * The live tail of one topic, through the SDK's subscription: it replays the last few
 * retained messages, then shows live ones in seq order, and resumes from the last seq after a
 * dropped connection (so the list has no gap and no duplicate). The SDK subscribes with
 * batched frames (`batch=1`): a burst arrives as one frame and is drawn in one layout. On a
 * partitioned topic the recent messages come from every partition (the start is a cursor,
 * one seq per partition), and each row shows its partition.
 */
import { byId, describeError, el, showResult } from "./dom.js";
import { partitionRows } from "./topic-panel.js";

/** Retained messages to show when a tail starts, before the live ones. */
const BACKLOG = 20;
/** Rows kept on screen; older ones are dropped. */
const MAX_ROWS = 500;
const MAX_DATA_CHARS = 2_000;

export class Tail {
  /**
   * @param {object} options
   * @param {object} options.client the SDK's Edgepost
   * @param {(topic: string | null) => void} options.onChange the tailed topic changed
   */
  constructor({ client, onChange }) {
    this.client = client;
    this.onChange = onChange;
    this.form = byId("tail-form");
    this.input = byId("tail-topic");
    this.stopButton = byId("tail-stop");
    this.status = byId("tail-status");
    this.log = byId("tail-log");
    this.subscription = null;
    /** The topic being tailed (or being connected to); null when stopped. */
    this.topic = null;
    this.received = 0;
    /** Rows waiting for the next frame: a burst of messages costs one layout, not one each. */
    this.pending = [];
    this.flushScheduled = false;
    /** Bumped by every start and stop, so a slow start that was superseded does nothing. */
    this.generation = 0;
    this.form.onsubmit = (event) => {
      event.preventDefault();
      const topic = this.input.value.trim();
      if (topic) void this.start(topic);
      else this.input.focus();
    };
    this.stopButton.onclick = () => this.stop();
  }

  async start(topic) {
    this.stop();
    const generation = ++this.generation;
    this.topic = topic;
    this.input.value = topic;
    this.log.replaceChildren();
    this.received = 0;
    this.stopButton.disabled = false;
    this.onChange(topic);
    showResult(this.status, `Connecting to ${topic}…`);
    let after;
    try {
      after = startPoint(await this.client.topicStats(topic));
    } catch (error) {
      if (generation !== this.generation) return;
      showResult(this.status, `Cannot tail ${topic}: ${describeError(error)}`, false);
      this.stopButton.disabled = true;
      this.topic = null;
      return;
    }
    if (generation !== this.generation) return;
    this.subscription = this.client.subscribe(topic, {
      after,
      onOpen: ({ reconnects }) => {
        const resumed = reconnects > 0 ? `, resumed after ${reconnects} reconnect${reconnects === 1 ? "" : "s"}` : "";
        const from = typeof after === "string" ? `cursor ${after}` : `seq ${after}`;
        showResult(this.status, `Live: ${topic} (messages after ${from}${resumed})`, true);
      },
      onMessage: (message) => this.add(message),
      onError: (error) => {
        if (generation !== this.generation) return;
        showResult(this.status, `Tail of ${topic} ended: ${describeError(error)}`, false);
        this.stopButton.disabled = true;
        this.subscription = null;
        this.topic = null;
      },
    });
  }

  stop() {
    this.generation++;
    this.stopButton.disabled = true;
    if (this.topic === null) return;
    this.subscription?.close();
    this.subscription = null;
    showResult(this.status, `Stopped ${this.topic} after ${this.received} message${this.received === 1 ? "" : "s"}.`);
    this.topic = null;
    this.onChange(null);
  }

  add(message) {
    this.received++;
    this.pending.push(message);
    if (this.pending.length > MAX_ROWS) this.pending.splice(0, this.pending.length - MAX_ROWS);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    requestAnimationFrame(() => this.flush());
  }

  flush() {
    this.flushScheduled = false;
    const log = this.log;
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
    log.append(...this.pending.map(row));
    this.pending = [];
    while (log.childElementCount > MAX_ROWS) log.firstElementChild.remove();
    // Follow new messages unless the reader scrolled up to look at older ones.
    if (atBottom) log.scrollTop = log.scrollHeight;
  }
}

/**
 * Where a tail starts: BACKLOG messages before the end; on a partitioned topic a cursor with
 * each partition's share of them.
 */
function startPoint(stats) {
  const partitions = partitionRows(stats);
  if ((stats.partitions ?? 1) <= 1 || partitions.length === 0) return Math.max(0, stats.lastSeq - BACKLOG);
  const each = Math.ceil(BACKLOG / partitions.length);
  const seqs = [];
  for (const row of partitions) seqs[row.partition] = Math.max(0, row.lastSeq - each);
  return Array.from(seqs, (seq) => seq ?? 0).join(",");
}

function row(message) {
  const published = new Date(message.publishedAt);
  const attributes = Object.entries(message.attributes ?? {}).map(([key, value]) => `${key}=${value}`).join(" ");
  const partitioned = typeof message.partition === "number";
  return el(
    "li",
    { "data-seq": message.seq, "data-partition": partitioned ? message.partition : undefined, title: `id ${message.id}${attributes ? `; ${attributes}` : ""}` },
    el("span", { class: "seq" }, partitioned ? `p${message.partition} #${message.seq}` : `#${message.seq}`),
    el("time", { datetime: published.toISOString() }, published.toLocaleTimeString()),
    el("span", { class: "data" }, formatData(message.data)),
  );
}

/** Text as it is; anything else as JSON; long values cut short. */
function formatData(data) {
  const text = typeof data === "string" ? data : JSON.stringify(data);
  return text.length > MAX_DATA_CHARS ? `${text.slice(0, MAX_DATA_CHARS)}…` : text;
}
