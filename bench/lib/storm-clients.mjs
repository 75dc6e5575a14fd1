/**
 * Many WebSocket subscribers that connect, drop and come back (reconnect storms, issue 11).
 * Unlike SubscriberSet (one phase's order checks), each client keeps the last seq it saw
 * across reconnects, so a durable system can be checked for resume without gap or duplicate:
 * a client that reconnects with `after=<last>` must see exactly last+1, last+2, ... A system
 * without durability (the partyserver room) cannot resume: its clients start a fresh stream
 * at each connect and are checked for gaps and duplicates within it.
 *
 * Connecting keeps `window` upgrades in flight (a sliding window: a storm is everyone coming
 * back at once, bounded by how many connects a client fleet has in flight), each upgrade's
 * latency in an HDR histogram.
 */
import WebSocket from "ws";
import { isBatchFrame, isMessageFrame, numberAfter } from "./frames.mjs";
import { histogram, nowMs, recordMs, sleep, summarize, waitUntil } from "./stats.mjs";

const CONNECT_TIMEOUT_MS = 60_000;
const CONNECT_ATTEMPTS = 5;

export class StormClients {
  /**
   * @param {number} count
   * @param {(index: number, after: number | null) => string} urlOf where client `index` connects
   *   (`after`: its last seq when it resumes, else null)
   * @param {{ resumable: boolean }} options resumable: reconnect with after=<last seq seen>
   */
  constructor(count, urlOf, { resumable }) {
    this.count = count;
    this.urlOf = urlOf;
    this.resumable = resumable;
    this.sockets = new Array(count).fill(null);
    this.last = new Float64Array(count).fill(Number.NaN);
    this.expectFrom = new Float64Array(count).fill(Number.NaN);
    this.gaps = 0;
    this.duplicates = 0;
    this.badFrames = 0;
    this.delivered = 0;
    this.unexpectedCloses = [];
    this.firstProblems = [];
    this.dropping = false;
  }

  /** Connect every client (none may be connected), `window` upgrades in flight. */
  async connectAll({ window }) {
    const latency = histogram();
    let retries = 0;
    const failures = [];
    let next = 0;
    const started = nowMs();
    const worker = async () => {
      while (next < this.count) {
        const index = next++;
        for (let attempt = 1; ; attempt++) {
          const at = nowMs();
          try {
            await this.connectOne(index);
            recordMs(latency, nowMs() - at);
            break;
          } catch (error) {
            if (attempt >= CONNECT_ATTEMPTS) {
              failures.push(`client ${index}: ${error.message}`);
              break;
            }
            retries++;
            // A refused or failed upgrade backs off like a real client would, a little.
            await sleep(50 * attempt);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(window, this.count) }, worker));
    const elapsedMs = nowMs() - started;
    return { elapsedMs, connectsPerSec: (this.count / elapsedMs) * 1000, latency: summarize(latency), retries, failures };
  }

  connectOne(index) {
    const resume = this.resumable && !Number.isNaN(this.last[index]);
    const after = resume ? this.last[index] : null;
    this.expectFrom[index] = resume ? after + 1 : Number.NaN;
    // Without resume a fresh stream starts: whatever it saw before says nothing about the next.
    if (!resume) this.last[index] = Number.NaN;
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.urlOf(index, after), { perMessageDeflate: false });
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error(`did not open in ${CONNECT_TIMEOUT_MS} ms`));
      }, CONNECT_TIMEOUT_MS);
      let opened = false;
      socket.on("open", () => {
        clearTimeout(timer);
        opened = true;
        this.sockets[index] = socket;
        resolve();
      });
      socket.on("unexpected-response", (_request, response) => {
        clearTimeout(timer);
        reject(new Error(`HTTP ${response.statusCode} on upgrade`));
        socket.terminate();
      });
      socket.on("error", (error) => {
        clearTimeout(timer);
        if (!opened) reject(error);
      });
      socket.on("close", (code, reason) => {
        if (opened && !this.dropping) this.unexpectedCloses.push({ index, code, reason: reason.toString() });
      });
      socket.on("message", (buf) => this.onMessage(index, buf));
    });
  }

  onMessage(index, buf) {
    if (isBatchFrame(buf)) {
      // Not used by the storm (plain frames), but never silently ignored.
      this.badFrames++;
      return;
    }
    if (!isMessageFrame(buf)) return;
    const seq = numberAfter(buf, '"seq":');
    if (!Number.isFinite(seq)) {
      this.badFrames++;
      return;
    }
    this.delivered++;
    const last = this.last[index];
    if (Number.isNaN(last)) {
      const expected = this.expectFrom[index];
      if (!Number.isNaN(expected) && seq !== expected) this.problem(index, seq > expected ? `first seq ${seq} after resume, expected ${expected} (gap)` : `first seq ${seq} after resume, expected ${expected} (duplicate)`, seq > expected);
      this.last[index] = seq;
      return;
    }
    if (seq <= last) return this.problem(index, `seq ${seq} after ${last} (duplicate or out of order)`, false);
    if (seq !== last + 1) this.problem(index, `seq ${seq} after ${last} (gap)`, true);
    this.last[index] = seq;
  }

  problem(index, text, isGap) {
    if (isGap) this.gaps++;
    else this.duplicates++;
    if (this.firstProblems.length < 5) this.firstProblems.push(`client ${index}: ${text}`);
  }

  /** Every client has seen seq `to` (or later). */
  reached(to, timeoutMs) {
    return waitUntil(() => {
      for (let index = 0; index < this.count; index++) if (!(this.last[index] >= to)) return false;
      return true;
    }, timeoutMs, 2);
  }

  missing(to) {
    let missing = 0;
    for (let index = 0; index < this.count; index++) if (!(this.last[index] >= to)) missing++;
    return missing;
  }

  /**
   * Drop every connection as a deploy does: each client closes (1001, going away) and waits
   * for the server's close in reply, so the server has seen every close before the storm.
   */
  async dropAll(timeoutMs = 60_000) {
    this.dropping = true;
    const started = nowMs();
    for (const socket of this.sockets) socket?.close(1001, "bench: deploy");
    const closed = await waitUntil(() => this.sockets.every((socket) => !socket || socket.readyState === WebSocket.CLOSED), timeoutMs, 10);
    for (const socket of this.sockets) if (socket && socket.readyState !== WebSocket.CLOSED) socket.terminate();
    this.sockets.fill(null);
    this.dropping = false;
    return { closed, elapsedMs: nowMs() - started };
  }

  problems() {
    const problems = [];
    if (this.gaps) problems.push(`${this.gaps} gaps`);
    if (this.duplicates) problems.push(`${this.duplicates} duplicates or out-of-order frames`);
    if (this.badFrames) problems.push(`${this.badFrames} unreadable frames`);
    for (const close of this.unexpectedCloses.slice(0, 5)) problems.push(`client ${close.index} closed: ${close.code} ${close.reason}`);
    if (this.unexpectedCloses.length > 5) problems.push(`... ${this.unexpectedCloses.length - 5} more unexpected closes`);
    problems.push(...this.firstProblems);
    return problems;
  }

  async close() {
    await this.dropAll(10_000);
  }
}
