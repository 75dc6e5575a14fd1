/**
 * The console's serverless controls: a queue's push settings (a push queue delivers to a URL;
 * a generated secret is shown once), deleting the queue or a topic (after a confirmation),
 * and the long-poll wait of "Pull one". The queue panel shows them for the queue it shows.
 */
import { byId, describeError, showResult } from "./dom.js";

export class QueueAdmin {
  /**
   * @param {object} options
   * @param {object} options.client the SDK's Edgepost
   * @param {() => string | null} options.queue the queue shown
   * @param {() => void} options.onMutate settings changed or the queue was deleted
   */
  constructor({ client, queue, onMutate }) {
    this.client = client;
    this.queue = queue;
    this.onMutate = onMutate;
    this.pushForm = byId("push-form");
    this.pushUrl = byId("push-url");
    this.pushStop = byId("push-stop");
    this.pushStatus = byId("push-status");
    this.pushResult = byId("push-result");
    this.deleteButton = byId("queue-delete");
    this.deleteResult = byId("queue-delete-result");
    this.waitInput = byId("pull-wait");
    this.pushForm.onsubmit = (event) => {
      event.preventDefault();
      void this.setPush(this.pushUrl.value.trim());
    };
    this.pushStop.onclick = () => void this.setPush(null);
    this.deleteButton.onclick = () => void this.deleteQueue();
  }

  /** Seconds "Pull one" may wait for a message (0-20). */
  get waitSeconds() {
    const value = Number(this.waitInput.value);
    return Number.isInteger(value) && value >= 0 && value <= 20 ? value : 0;
  }

  reset() {
    for (const element of [this.pushResult, this.deleteResult]) showResult(element, "");
    this.pushUrl.value = "";
  }

  /** Show the queue's push state from its stats. */
  render(stats) {
    const push = stats.push;
    this.pushStop.disabled = !push;
    if (!push) {
      showResult(this.pushStatus, "Pull queue: consumers pull or hold a socket.");
      return;
    }
    if (document.activeElement !== this.pushUrl && this.pushUrl.value === "") this.pushUrl.value = push.url;
    const last = push.lastAttemptAt ? ` Last attempt ${new Date(push.lastAttemptAt).toLocaleTimeString()}: ${push.lastStatus ?? "no answer"}.` : "";
    const error = push.lastError ? ` Last error: ${push.lastError}` : "";
    showResult(this.pushStatus, `Pushes to ${push.url}, ${push.inFlight} of ${push.maxConcurrency} requests open.${last}${error}`);
  }

  async setPush(url) {
    const name = this.queue();
    if (!name) return;
    if (url === "") return void this.pushUrl.focus();
    try {
      const push = await this.client.setPush(name, url === null ? null : { url });
      const secret = push?.secret ? ` Secret (shown only now, keep it to verify signatures): ${push.secret}` : "";
      showResult(this.pushResult, push ? `Pushing to ${push.url}.${secret}` : "Push stopped: pull and consume work again.", true);
      if (!push) this.pushUrl.value = "";
    } catch (error) {
      showResult(this.pushResult, `Push setting failed: ${describeError(error)}`, false);
    }
    this.onMutate();
  }

  async deleteQueue() {
    const name = this.queue();
    if (!name || !confirm(`Delete queue ${name}? Its messages, settings and bindings go; this cannot be undone.`)) return;
    try {
      await this.client.deleteQueue(name);
      showResult(this.deleteResult, `Deleted queue ${name}.`, true);
    } catch (error) {
      showResult(this.deleteResult, `Delete failed: ${describeError(error)}`, false);
    }
    this.onMutate();
  }
}

/** The "Delete topic" button of the tail card: deletes the topic named in its field. */
export function wireTopicDelete({ client, onDeleted }) {
  const button = byId("topic-delete");
  const result = byId("topic-delete-result");
  button.onclick = async () => {
    const name = byId("tail-topic").value.trim();
    if (!name) return void byId("tail-topic").focus();
    if (!confirm(`Delete topic ${name}? Its log, settings, subscribers and bindings go; this cannot be undone.`)) return;
    try {
      await client.deleteTopic(name);
      showResult(result, `Deleted topic ${name}.`, true);
      onDeleted(name);
    } catch (error) {
      showResult(result, `Delete failed: ${describeError(error)}`, false);
    }
  };
}
