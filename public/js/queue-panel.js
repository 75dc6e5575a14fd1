/**
 * One queue in detail: its counts (polled), a chart of enqueue and ack rates from the
 * differences between polls, its dead-letter queue with a redrive button, and a consume panel
 * that pulls one message and acks or nacks it.
 */
import { SERIES, drawRateChart, formatRate, ratesBetween } from "./chart.js";
import { QueueAdmin } from "./admin.js";
import { age, byId, count, describeError, el, poll, showResult } from "./dom.js";

const REFRESH_MS = 2_000;
const CHART_WINDOW_MS = 120_000;

export class QueuePanel {
  /**
   * @param {object} options
   * @param {object} options.client the SDK's Edgepost
   * @param {(queue: string) => void} options.onChange the queue shown changed
   * @param {() => void} options.onMutate this panel changed a queue (ack, redrive): lists may refresh
   */
  constructor({ client, onChange, onMutate }) {
    this.client = client;
    this.onChange = onChange;
    this.onMutate = onMutate;
    this.form = byId("queue-form");
    this.input = byId("queue-name");
    this.detail = byId("queue-detail");
    this.chart = byId("q-chart");
    this.rates = byId("q-rates");
    this.dlqSummary = byId("dlq-summary");
    this.redriveButton = byId("redrive");
    this.redriveResult = byId("redrive-result");
    this.pullButton = byId("pull");
    this.ackButton = byId("ack");
    this.nackButton = byId("nack");
    this.leasedView = byId("leased");
    this.consumeResult = byId("consume-result");
    this.name = null;
    this.poller = null;
    this.form.onsubmit = (event) => {
      event.preventDefault();
      const name = this.input.value.trim();
      if (name) this.show(name);
      else this.input.focus();
    };
    this.redriveButton.onclick = () => void this.redrive();
    this.pullButton.onclick = () => void this.pull();
    this.ackButton.onclick = () => void this.settle("ack");
    this.nackButton.onclick = () => void this.settle("nack");
    this.admin = new QueueAdmin({ client, queue: () => this.name, onMutate: () => this.afterChange() });
  }

  show(name) {
    this.stop();
    this.name = name;
    this.input.value = name;
    /** The last raw stats sample and the rate points computed so far. */
    this.lastSample = null;
    this.samplingSince = null;
    this.points = [];
    this.redriveTarget = null;
    this.setLeased(null);
    for (const element of [this.redriveResult, this.consumeResult]) showResult(element, "");
    this.admin.reset();
    this.chart.replaceChildren();
    this.rates.textContent = "";
    this.detail.hidden = false;
    this.onChange(name);
    this.poller = poll(() => this.refresh(), REFRESH_MS);
  }

  stop() {
    this.poller?.stop();
    this.poller = null;
  }

  async refresh() {
    const name = this.name;
    let stats;
    try {
      stats = await this.client.queueStats(name);
    } catch (error) {
      if (name === this.name) showResult(this.dlqSummary, `Cannot read ${name}: ${describeError(error)}`, false);
      return;
    }
    // A queue named *-dlq has no dead-letter queue of its own; it is the one to redrive.
    const deadLetterQueue = stats.config.deadLetterQueue;
    const target = deadLetterQueue ?? (name.endsWith("-dlq") ? name : null);
    const targetStats = target === name ? stats : target ? await this.client.queueStats(target).catch(() => null) : null;
    if (name !== this.name) return; // another queue was chosen meanwhile
    this.render(stats, target, targetStats);
  }

  render(stats, target, targetStats) {
    const set = (id, text) => (byId(id).textContent = text);
    set("q-ready", count(stats.ready));
    set("q-inflight", count(stats.inFlight));
    set("q-delayed", count(stats.delayed));
    set("q-dead", target && target !== stats.name ? count(targetStats?.ready) : "–");
    set("q-enqueued", count(stats.enqueued));
    set("q-acked", count(stats.acked));
    set("q-consumers", count(stats.consumers));
    set("q-oldest", age(stats.oldestAgeSeconds));
    this.admin.render(stats);

    const sample = { at: Date.now(), enqueued: stats.enqueued, acked: stats.acked };
    const point = this.lastSample ? ratesBetween(this.lastSample, sample) : null;
    this.lastSample = sample;
    if (point) this.points.push(point);
    this.points = this.points.filter((candidate) => candidate.at >= sample.at - CHART_WINDOW_MS);
    const latest = this.points.at(-1);
    const summary = latest
      ? SERIES.map((series) => `${series.label.replace("/s", "")} ${formatRate(latest[series.key])} per second`).join(", ")
      : "collecting samples";
    this.samplingSince ??= sample.at;
    drawRateChart(this.chart, this.points, {
      since: this.samplingSince,
      windowMs: CHART_WINDOW_MS,
      label: `Rates per second, up to the last ${CHART_WINDOW_MS / 60_000} minutes: ${summary}`,
    });
    this.rates.replaceChildren(
      `Per second, from counts sampled every ${REFRESH_MS / 1000} s:`,
      ...SERIES.flatMap((series) => [
        el("span", { class: `legend-swatch ${series.key}`, "aria-hidden": "true" }),
        `${series.label} ${latest ? formatRate(latest[series.key]) : "–"}`,
      ]),
    );

    this.redriveTarget = target;
    const waiting = targetStats ? targetStats.ready + targetStats.delayed : 0;
    if (!target) {
      showResult(this.dlqSummary, "This queue has no dead-letter queue: exhausted messages keep retrying.");
    } else if (target === stats.name) {
      showResult(this.dlqSummary, `${count(waiting)} message(s) here can be redriven to the queues they came from.`);
    } else {
      showResult(this.dlqSummary, `Dead-letter queue ${target}: ${count(waiting)} waiting.`);
    }
    this.redriveButton.disabled = waiting === 0;
  }

  async redrive() {
    const target = this.redriveTarget;
    if (!target) return;
    this.redriveButton.disabled = true;
    try {
      const { moved, skipped } = await this.client.redrive(target);
      showResult(this.redriveResult, `Moved ${count(moved)} message(s) back${skipped ? `, skipped ${count(skipped)}` : ""}.`, true);
    } catch (error) {
      showResult(this.redriveResult, `Redrive failed: ${describeError(error)}`, false);
    }
    this.afterChange();
  }

  async pull() {
    const name = this.name;
    this.pullButton.disabled = true;
    try {
      const waitSeconds = this.admin.waitSeconds;
      if (waitSeconds > 0) showResult(this.consumeResult, `Waiting up to ${waitSeconds} s for a message…`);
      const [message] = await this.client.pull(name, { max: 1, waitSeconds });
      if (name !== this.name) return;
      this.setLeased(message ?? null);
      showResult(this.consumeResult, message ? `Leased seq ${message.seq} (attempt ${message.attempt}).` : "No message is ready.", message ? true : undefined);
    } catch (error) {
      showResult(this.consumeResult, `Pull failed: ${describeError(error)}`, false);
    } finally {
      this.pullButton.disabled = false;
    }
    this.afterChange();
  }

  /** Ack or nack the leased message; a stale lease (expired, or used) changes nothing. */
  async settle(operation) {
    const leased = this.leased;
    if (!leased) return;
    this.ackButton.disabled = this.nackButton.disabled = true;
    try {
      const response = operation === "ack" ? await this.client.ack(this.name, leased.leaseId) : await this.client.nack(this.name, leased.leaseId);
      const result = response.results[0];
      const seq = leased.seq;
      const outcome = !result?.ok
        ? `The lease for seq ${seq} was stale (expired or already used): nothing changed.`
        : operation === "ack"
          ? `Acked seq ${seq}.`
          : result.deadLettered
            ? `Nacked seq ${seq}: that was its last attempt, so it went to the dead-letter queue.`
            : `Nacked seq ${seq}: it will be delivered again after the retry backoff.`;
      showResult(this.consumeResult, outcome, result?.ok === true);
      this.setLeased(null);
    } catch (error) {
      showResult(this.consumeResult, `${operation === "ack" ? "Ack" : "Nack"} failed: ${describeError(error)}`, false);
      this.ackButton.disabled = this.nackButton.disabled = false;
    }
    this.afterChange();
  }

  setLeased(message) {
    this.leased = message;
    this.ackButton.disabled = this.nackButton.disabled = message === null;
    if (!message) {
      this.leasedView.replaceChildren();
      return;
    }
    const data = typeof message.data === "string" ? message.data : JSON.stringify(message.data, null, 2);
    const row = (term, value) => [el("dt", {}, term), el("dd", {}, value)];
    this.leasedView.replaceChildren(
      el(
        "dl",
        { "aria-label": "Leased message" },
        ...row("seq", String(message.seq)),
        ...row("id", message.id),
        ...row("attempt", String(message.attempt)),
        ...row("lease expires", new Date(message.leaseExpiresAt).toLocaleTimeString()),
        ...row("data", data),
      ),
    );
  }

  afterChange() {
    this.poller?.now();
    this.onMutate();
  }
}
