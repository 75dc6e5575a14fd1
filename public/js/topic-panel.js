/**
 * The tailed topic in detail (issue 11): its counts, how it scales (relays holding its
 * subscribers, partitions each with their own seq), a table of each partition's last seq and
 * retained messages, and a form to change relays and partitions (partitions only grow: the
 * server refuses a shrink with 409 `partitions_shrink`, shown as it says it).
 */
import { byId, count, describeError, el, poll, showResult } from "./dom.js";

const REFRESH_MS = 2_000;

export class TopicPanel {
  /**
   * @param {object} options
   * @param {object} options.client the SDK's Edgepost
   * @param {() => void} options.onMutate settings changed: lists may refresh
   */
  constructor({ client, onMutate }) {
    this.client = client;
    this.onMutate = onMutate;
    this.detail = byId("topic-detail");
    this.lastLabel = byId("t-last-label");
    this.partitionTable = byId("t-partition-table");
    this.partitionBody = byId("t-partitions-body");
    this.form = byId("topic-settings");
    this.relaysInput = byId("t-relays-input");
    this.partitionsInput = byId("t-partitions-input");
    this.result = byId("topic-settings-result");
    this.saveButton = this.form.querySelector('button[type="submit"]');
    this.name = null;
    this.poller = null;
    /** The settings inputs are filled from the first stats, then left to the user until a save. */
    this.filled = false;
    this.form.onsubmit = (event) => {
      event.preventDefault();
      void this.save();
    };
  }

  show(name) {
    this.stop();
    this.name = name;
    this.filled = false;
    showResult(this.result, "");
    this.partitionBody.replaceChildren();
    this.partitionTable.hidden = true;
    for (const id of ["t-last", "t-subscribers", "t-relays", "t-partitions"]) byId(id).textContent = "–";
    this.detail.hidden = false;
    this.poller = poll(() => this.refresh(), REFRESH_MS);
  }

  stop() {
    this.poller?.stop();
    this.poller = null;
  }

  hide() {
    this.stop();
    this.name = null;
    this.detail.hidden = true;
  }

  async refresh() {
    const name = this.name;
    let stats;
    try {
      stats = await this.client.topicStats(name);
    } catch (error) {
      if (name === this.name) showResult(this.result, `Cannot read ${name}: ${describeError(error)}`, false);
      return;
    }
    if (name === this.name) this.render(stats);
  }

  render(stats) {
    const partitions = stats.partitions ?? 1;
    const perPartition = partitionRows(stats);
    const set = (id, text) => (byId(id).textContent = text);
    // Seqs count per partition: a partitioned topic's lastSeq is the sum over its partitions.
    const partitioned = partitions > 1 && perPartition.length > 0;
    this.lastLabel.textContent = partitioned ? "Published" : "Last seq";
    set("t-last", count(stats.lastSeq));
    set("t-subscribers", count(stats.subscribers));
    set("t-relays", count(stats.relays ?? 0));
    set("t-partitions", count(partitions));
    this.partitionTable.hidden = !partitioned;
    this.partitionBody.replaceChildren(
      ...(partitioned ? perPartition : []).map((row) =>
        el(
          "tr",
          { "data-partition": row.partition },
          el("td", {}, String(row.partition)),
          el("td", { class: "num", "data-field": "lastSeq" }, count(row.lastSeq)),
          el("td", { class: "num", "data-field": "retainedMessages" }, count(row.retainedMessages)),
          el("td", { class: "num", "data-field": "retainedBytes" }, count(row.retainedBytes)),
        ),
      ),
    );
    this.partitionsInput.min = String(partitions);
    if (!this.filled) {
      this.relaysInput.value = String(stats.relays ?? 0);
      this.partitionsInput.value = String(partitions);
      this.filled = true;
    }
  }

  async save() {
    const name = this.name;
    const relays = wholeNumber(this.relaysInput, 0, 64);
    const partitions = wholeNumber(this.partitionsInput, 1, 64);
    if (relays === null || partitions === null) {
      showResult(this.result, "Relays must be a whole number from 0 to 64, partitions from 1 to 64.", false);
      return;
    }
    this.saveButton.disabled = true;
    try {
      const config = await this.client.configureTopic(name, { relays, partitions });
      if (name !== this.name) return;
      showResult(this.result, `Saved: ${config.relays ?? relays} relay(s), ${config.partitions ?? partitions} partition(s).`, true);
      this.filled = false;
      this.poller?.now();
      this.onMutate();
    } catch (error) {
      showResult(this.result, `Not saved: ${describeError(error)}`, false);
    } finally {
      this.saveButton.disabled = false;
    }
  }
}

/** Per-partition figures from stats (`partitionStats`: `{partition, lastSeq, retainedMessages, retainedBytes, ...}`), in partition order. */
export function partitionRows(stats) {
  const rows = Array.isArray(stats.partitionStats) ? stats.partitionStats : [];
  return rows.filter((row) => row && typeof row.partition === "number").sort((a, b) => a.partition - b.partition);
}

/** The input's value as a whole number within [min, max], marked invalid otherwise; null when invalid. */
function wholeNumber(input, min, max) {
  const value = Number(input.value);
  const ok = input.value.trim() !== "" && Number.isInteger(value) && value >= min && value <= max;
  if (ok) input.removeAttribute("aria-invalid");
  else input.setAttribute("aria-invalid", "true");
  return ok ? value : null;
}
