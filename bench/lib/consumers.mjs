/**
 * Queue consumer sockets: GET /v1/queues/{q}/consume?prefetch=n. The server pushes
 * {"type":"message",...,"attempt","leaseId","leaseExpiresAt"}; the client acks with
 * {"type":"ack","leaseId"} and gets {"type":"result",...,"ok"} back. Frames are read from the
 * Buffer without JSON.parse. An unexpected close is recorded (it would release leases).
 */
import WebSocket from "ws";
import { isMessageFrame, isResultFrame, numberAfter, stringAfter } from "./frames.mjs";
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
    this.closing = false;
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
        else if (isResultFrame(buf)) this.onResult(index, readResult(buf), at);
      });
    });
  }

  ack(index, leaseId) {
    this.sockets[index].send(`{"type":"ack","leaseId":"${leaseId}"}`);
  }

  problems() {
    return this.closes.map((close) => `consumer ${close.index} closed: ${close.code} ${close.reason}`);
  }

  async close() {
    this.closing = true;
    for (const socket of this.sockets) socket?.close(1000, "bench done");
    await waitUntil(() => this.sockets.every((socket) => !socket || socket.readyState === WebSocket.CLOSED), 10_000);
    for (const socket of this.sockets) socket?.terminate();
  }
}
