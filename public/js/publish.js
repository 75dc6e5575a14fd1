/**
 * Publish one message to a topic or enqueue it to a queue, with data given as JSON or as
 * plain text (sent as a JSON string).
 */
import { byId, describeError, showResult } from "./dom.js";

export class PublishForm {
  /**
   * @param {object} options
   * @param {object} options.client the SDK's Edgepost
   * @param {(kind: "topic" | "queue", name: string) => void} options.onPublished
   */
  constructor({ client, onPublished }) {
    this.client = client;
    this.onPublished = onPublished;
    this.form = byId("publish-form");
    this.nameInput = byId("publish-name");
    this.idInput = byId("publish-id");
    this.keyInput = byId("publish-key");
    this.dataInput = byId("publish-data");
    this.result = byId("publish-result");
    this.submit = this.form.querySelector('button[type="submit"]');
    this.form.onsubmit = (event) => {
      event.preventDefault();
      void this.publish();
    };
    // Suggest names of the chosen kind.
    this.form.addEventListener("change", (event) => {
      if (event.target.name === "kind") {
        this.nameInput.setAttribute("list", `${this.kind}-names`);
        this.keyInput.disabled = this.kind !== "topic";
      }
      if (event.target.name === "format") this.markInvalid(this.dataInput, null);
    });
  }

  get kind() {
    return this.form.elements.namedItem("kind").value;
  }

  get format() {
    return this.form.elements.namedItem("format").value;
  }

  /** Prefill the target, e.g. with the topic being tailed. */
  target(kind, name) {
    for (const radio of this.form.querySelectorAll('input[name="kind"]')) radio.checked = radio.value === kind;
    this.nameInput.setAttribute("list", `${kind}-names`);
    this.keyInput.disabled = kind !== "topic";
    this.nameInput.value = name;
  }

  async publish() {
    const kind = this.kind;
    const name = this.nameInput.value.trim();
    this.markInvalid(this.nameInput, name ? null : "Enter a name.");
    if (!name) return this.nameInput.focus();

    let data;
    if (this.format === "json") {
      try {
        data = JSON.parse(this.dataInput.value);
        this.markInvalid(this.dataInput, null);
      } catch (error) {
        this.markInvalid(this.dataInput, `Not valid JSON: ${error instanceof Error ? error.message : error}`);
        return this.dataInput.focus();
      }
    } else {
      data = this.dataInput.value;
    }
    const id = this.idInput.value.trim();
    const key = kind === "topic" ? this.keyInput.value : "";
    const options = { ...(id ? { id } : {}), ...(key ? { key } : {}) };

    this.submit.disabled = true;
    try {
      const result = kind === "topic" ? await this.client.publish(name, data, options) : await this.client.enqueue(name, data, options);
      const verb = kind === "topic" ? "Published to" : "Enqueued to";
      const where = typeof result.partition === "number" ? `partition ${result.partition}, ` : "";
      showResult(this.result, `${verb} ${name}: ${where}seq ${result.seq}${result.duplicate ? " (a duplicate id: the original's seq)" : ""}.`, true);
      this.onPublished(kind, name);
    } catch (error) {
      showResult(this.result, `Not published: ${describeError(error)}`, false);
    } finally {
      this.submit.disabled = false;
    }
  }

  /** Flag a field as invalid with a message (read by assistive technology), or clear it. */
  markInvalid(input, message) {
    if (message) {
      input.setAttribute("aria-invalid", "true");
      showResult(this.result, message, false);
    } else if (input.getAttribute("aria-invalid") === "true") {
      input.removeAttribute("aria-invalid");
      showResult(this.result, "");
    }
  }
}
