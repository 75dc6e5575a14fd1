/**
 * A set of WebSocket subscribers (the `ws` package) on one topic, room or broadcast object.
 * Each socket has its own SeqCheck; a phase (`reset`) starts fresh checks and a fresh
 * latency histogram. An unexpected close (for example 4008, subscriber too slow) is recorded
 * and makes the run invalid.
 */
import WebSocket from "ws";
import { forEachBatched, isBatchFrame, isMessageFrame, readMessage, SeqCheck } from "./frames.mjs";
import { histogram, nowMs, recordMs, waitUntil } from "./stats.mjs";

const OPEN_BATCH = 200;
const OPEN_TIMEOUT_MS = 30_000;

export class SubscriberSet {
  constructor(url, count) {
    this.url = url;
    this.count = count;
    this.sockets = [];
    this.closes = [];
    this.closing = false;
    this.reset();
  }

  async open() {
    this.openRetries = 0;
    for (let start = 0; start < this.count; start += OPEN_BATCH) {
      const batch = [];
      for (let index = start; index < Math.min(this.count, start + OPEN_BATCH); index++) batch.push(this.openWithRetry(index));
      await Promise.all(batch);
    }
    return this;
  }

  /** A failed upgrade (before anything is published) is retried, and counted. */
  async openWithRetry(index, attempts = 3) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.openOne(index);
      } catch (error) {
        if (attempt >= attempts) throw error;
        this.openRetries++;
      }
    }
  }

  openOne(index) {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url, { perMessageDeflate: false });
      const timer = setTimeout(() => reject(new Error(`subscriber ${index} did not open in ${OPEN_TIMEOUT_MS} ms`)), OPEN_TIMEOUT_MS);
      socket.on("open", () => {
        clearTimeout(timer);
        this.sockets[index] = socket;
        resolve();
      });
      socket.on("error", (error) => {
        clearTimeout(timer);
        if (!this.sockets[index]) reject(error);
      });
      socket.on("unexpected-response", (_request, response) => {
        clearTimeout(timer);
        reject(new Error(`subscriber ${index}: HTTP ${response.statusCode} on upgrade`));
      });
      socket.on("close", (code, reason) => {
        if (!this.closing) this.closes.push({ index, code, reason: reason.toString() });
      });
      socket.on("message", (buf) => this.onMessage(index, buf));
    });
  }

  /** Start a phase: fresh order checks and latency histogram. */
  reset() {
    this.checks = Array.from({ length: this.count }, () => new SeqCheck());
    this.latency = histogram();
    this.delivered = 0;
    this.frames = 0;
    this.frameBytes = 0;
    this.badFrames = 0;
    this.lastDeliveryAt = 0;
  }

  onMessage(index, buf) {
    const at = nowMs();
    if (isMessageFrame(buf)) {
      const { seq, t } = readMessage(buf);
      this.see(index, seq, t, at);
    } else if (isBatchFrame(buf)) {
      // `?batch=1`: one frame, one or more messages in seq order.
      const count = forEachBatched(buf, (seq, _c, t) => this.see(index, seq, t, at));
      if (count === 0) this.badFrames++;
    } else return;
    this.frames++;
    this.frameBytes += buf.length;
    this.lastDeliveryAt = at;
  }

  see(index, seq, t, at) {
    if (!Number.isFinite(seq) || !Number.isFinite(t)) {
      this.badFrames++;
      return;
    }
    this.checks[index].see(seq);
    recordMs(this.latency, at - t);
    this.delivered++;
  }

  /** Wait until every subscriber has received seq `to`; false on timeout. */
  drained(to, timeoutMs) {
    return waitUntil(() => this.checks.every((check) => check.last !== null && check.last >= to), timeoutMs);
  }

  /** Delivery problems of this phase against the acked range [from, to]. */
  problems(from, to) {
    const problems = [];
    for (const close of this.closes) problems.push(`subscriber ${close.index} closed: ${close.code} ${close.reason}`);
    if (this.badFrames) problems.push(`${this.badFrames} unreadable frames`);
    let reported = 0;
    this.checks.forEach((check, index) => {
      const found = check.problems(from, to);
      if (found.length > 0 && reported++ < 5) problems.push(`subscriber ${index}: ${found.join("; ")}`);
    });
    if (reported > 5) problems.push(`... and ${reported - 5} more subscribers with problems`);
    return problems;
  }

  async close() {
    this.closing = true;
    for (const socket of this.sockets) socket?.close(1000, "bench done");
    await waitUntil(() => this.sockets.every((socket) => !socket || socket.readyState === WebSocket.CLOSED), 10_000);
    for (const socket of this.sockets) socket?.terminate();
  }
}
