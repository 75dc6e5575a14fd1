/**
 * Queue consumer sockets: GET /v1/queues/{q}/consume?prefetch=n. The server pushes
 * {"type":"message",...,"attempt","leaseId","leaseExpiresAt"}; the client acks with
 * {"type":"ack","leaseId"} and gets {"type":"result",...,"ok"} back. Single frames are read
 * from the Buffer without JSON.parse. An unexpected close is recorded (it would release leases).
 *
 * With `&batch=1` (DESIGN.md "Batched frames") the server may push {"type":"messages",
 * "messages":[...]}; the acks of one such frame then go back as one
 * {"type":"ack","leaseIds":[...]}, and results are read whether they come one frame per lease
 * or as a `results` array.
 */
import WebSocket from "ws";
import { isBatchFrame, isMessageFrame, isResultFrame, numberAfter, stringAfter } from "./frames.mjs";
import { nowMs, waitUntil } from "./stats.mjs";

export function readLeased(buf) {
  const dataAt = buf.indexOf('"data":{"c":');
  return {
    seq: numberAfter(buf, '"seq":'),
    c: dataAt < 0 ? NaN : numberAfter(buf, '"c":', dataAt),
    t: dataAt < 0 ? NaN : numberAfter(buf, '"t":', dataAt),
    attempt: numberAfter(buf, '"attempt":'),
    leaseId: stringAfter(buf, '"leaseId":"'),
    leaseExpiresAt: numberAfter(buf, '"leaseExpiresAt":'),
  };
}

export function readResult(buf) {
  return { leaseId: stringAfter(buf, '"leaseId":"'), ok: buf.indexOf('"ok":true') >= 0 };
}

export class ConsumerPool {
  /** `onMessage(index, leased, at)` and `onResult(index, result, at)` handle frames. */
  constructor(url, count, { onMessage, onResult }) {
    this.url = url;
    this.count = count;
    this.onMessage = onMessage;
    this.onResult = onResult;
    this.sockets = [];
    this.closes = [];
    this.errors = [];
    this.closing = false;
    /** Lease ids to ack at the end of the batched frame being handled, or null. */
    this.collecting = null;
    this.batchedFrames = 0;
  }

  async open() {
    await Promise.all(Array.from({ length: this.count }, (_, index) => this.openOne(index)));
    return this;
  }

  openOne(index) {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url, { perMessageDeflate: false });
      socket.on("open", () => {
        this.sockets[index] = socket;
        resolve();
      });
      socket.on("unexpected-response", (_request, response) => reject(new Error(`consumer ${index}: HTTP ${response.statusCode} on upgrade`)));
      socket.on("error", (error) => {
        if (!this.sockets[index]) reject(error);
      });
      socket.on("close", (code, reason) => {
        if (!this.closing) this.closes.push({ index, code, reason: reason.toString() });
      });
      socket.on("message", (buf) => {
        const at = nowMs();
        if (isMessageFrame(buf)) this.onMessage(index, readLeased(buf), at);
        else if (isBatchFrame(buf)) this.onBatch(index, buf, at);
        else if (isResultFrame(buf) && buf.indexOf('"results":[') < 0) this.onResult(index, readResult(buf), at);
        else this.onOther(index, buf, at);
      });
    });
  }

  /** A batched frame: its messages one by one, then every ack asked for meanwhile in one frame. */
  onBatch(index, buf, at) {
    this.batchedFrames++;
    const frame = JSON.parse(buf.toString("utf8"));
    this.collecting = [];
    try {
      for (const item of frame.messages ?? []) {
        this.onMessage(index, { seq: item.seq, c: item.data?.c ?? NaN, t: item.data?.t ?? NaN, attempt: item.attempt, leaseId: item.leaseId, leaseExpiresAt: item.leaseExpiresAt }, at);
      }
    } finally {
      const leaseIds = this.collecting;
      this.collecting = null;
      if (leaseIds.length > 0) this.sockets[index].send(JSON.stringify({ type: "ack", leaseIds }));
    }
  }

  /** Results as an array (`{"results":[...]}`), or an error frame. */
  onOther(index, buf, at) {
    let frame;
    try {
      frame = JSON.parse(buf.toString("utf8"));
    } catch {
      this.errors.push(`consumer ${index}: unreadable frame ${buf.toString("utf8", 0, 120)}`);
      return;
    }
    if (Array.isArray(frame.results)) for (const result of frame.results) this.onResult(index, { leaseId: result.leaseId, ok: result.ok === true }, at);
    else if (frame.type === "error") this.errors.push(`consumer ${index}: error frame ${JSON.stringify(frame).slice(0, 200)}`);
  }

  ack(index, leaseId) {
    if (this.collecting) this.collecting.push(leaseId);
    else this.sockets[index].send(`{"type":"ack","leaseId":"${leaseId}"}`);
  }

  problems() {
    return [...this.closes.map((close) => `consumer ${close.index} closed: ${close.code} ${close.reason}`), ...this.errors.slice(0, 5)];
  }

  async close() {
    this.closing = true;
    for (const socket of this.sockets) socket?.close(1000, "bench done");
    await waitUntil(() => this.sockets.every((socket) => !socket || socket.readyState === WebSocket.CLOSED), 10_000);
    for (const socket of this.sockets) socket?.terminate();
  }
}
