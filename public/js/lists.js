/**
 * The topics and queues tables: one page of names from the directory (paged with its `next`
 * cursor), each row's counts from the object's stats, all refreshed every few seconds. Only
 * the page on screen is polled, so a large deployment costs one page of requests per tick.
 */
import { listNames } from "./api.js";
import { byId, count, describeError, el, poll } from "./dom.js";

const PAGE_SIZE = 20;
const REFRESH_MS = 3_000;

/** What each kind's table shows: stats fields per column, and the row's action. */
const KINDS = {
  topic: {
    fields: ["lastSeq", "subscribers", "retainedMessages"],
    action: "Tail",
    stats: (client, name) => client.topicStats(name),
  },
  queue: {
    fields: ["ready", "inFlight", "delayed", "deadLettered"],
    action: "Show",
    stats: (client, name) => client.queueStats(name),
  },
};

export class NameTable {
  /**
   * @param {object} options
   * @param {"topic" | "queue"} options.kind
   * @param {string} options.token
   * @param {object} options.client the SDK's Edgepost
   * @param {(name: string) => void} options.onSelect the row's action
   * @param {(error: unknown) => void} options.onError a listing failed (e.g. the token expired)
   */
  constructor({ kind, token, client, onSelect, onError }) {
    this.kind = kind;
    this.spec = KINDS[kind];
    this.token = token;
    this.client = client;
    this.onSelect = onSelect;
    this.onError = onError;
    this.body = byId(`${kind}s-body`);
    this.empty = byId(`${kind}s-empty`);
    this.prev = byId(`${kind}s-prev`);
    this.next = byId(`${kind}s-next`);
    this.datalist = byId(`${kind}-names`);
    /** Cursors of the pages before this one, and this page's (empty = the first page). */
    this.cursors = [""];
    this.nextCursor = null;
    /** The names on screen; null before the first listing, so an empty first page renders too. */
    this.names = null;
    this.selected = null;
    this.prev.onclick = () => this.turn(-1);
    this.next.onclick = () => this.turn(1);
    this.poller = poll(() => this.refresh(), REFRESH_MS);
  }

  /** Refresh now, e.g. after this page published to a name that may be new. */
  refreshSoon() {
    this.poller.now();
  }

  /** Mark the row of `name` as the one shown in a detail panel. */
  select(name) {
    this.selected = name;
    for (const row of this.body.rows) row.setAttribute("aria-current", String(row.dataset.name === name));
  }

  stop() {
    this.poller.stop();
    this.body.replaceChildren();
    this.datalist.replaceChildren();
  }

  turn(direction) {
    if (direction > 0 && this.nextCursor) this.cursors.push(this.nextCursor);
    if (direction < 0 && this.cursors.length > 1) this.cursors.pop();
    this.refreshSoon();
  }

  async refresh() {
    let page;
    try {
      page = await listNames(this.token, this.kind, { after: this.cursors.at(-1), limit: PAGE_SIZE });
    } catch (error) {
      this.onError(error);
      return;
    }
    this.nextCursor = page.next;
    this.prev.disabled = this.cursors.length <= 1;
    this.next.disabled = page.next === null;
    if (this.names === null || page.names.join("\n") !== this.names.join("\n")) this.render(page.names);
    await Promise.all(page.names.map((name) => this.updateRow(name)));
  }

  render(names) {
    this.names = names;
    this.empty.hidden = names.length > 0 || this.cursors.length > 1;
    this.body.replaceChildren(...names.map((name) => this.row(name)));
    this.datalist.replaceChildren(...names.map((name) => el("option", { value: name })));
    if (this.selected) this.select(this.selected);
  }

  row(name) {
    const button = el("button", { type: "button", class: "small secondary", "aria-label": `${this.spec.action} ${name}` }, this.spec.action);
    button.onclick = () => this.onSelect(name);
    const cells = this.spec.fields.map((field) => el("td", { class: "num", "data-field": field }, "–"));
    return el("tr", { "data-name": name }, el("td", {}, name), ...cells, el("td", {}, button));
  }

  async updateRow(name) {
    let stats;
    let problem = null;
    try {
      stats = await this.spec.stats(this.client, name);
    } catch (error) {
      problem = describeError(error);
    }
    const row = [...this.body.rows].find((candidate) => candidate.dataset.name === name);
    if (!row) return;
    for (const cell of row.querySelectorAll("td[data-field]")) {
      cell.textContent = problem ? "–" : count(stats[cell.dataset.field]);
      if (problem) cell.title = problem;
      else cell.removeAttribute("title");
    }
  }
}
