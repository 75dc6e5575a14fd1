/**
 * A webhook receiver for push-queue tests: a real Node HTTP server that verifies every request
 * with the `standardwebhooks` library (the one a user's endpoint would use), records it, and
 * answers as the test's `respond` says (a status, a Retry-After, a delay past the timeout).
 * It tracks how many requests are open at once, to check the queue's concurrency limit.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Webhook } from "standardwebhooks";
import { Inbox } from "./wait";

/** The body of a push request (DESIGN.md "Push subscriptions"). */
export interface PushBody {
  type: "message";
  queue: string;
  seq: number;
  id: string;
  data: unknown;
  attributes: Record<string, string>;
  publishedAt: number;
  attempt: number;
}

export interface Delivery {
  webhookId: string;
  timestamp: number;
  body: PushBody;
  receivedAt: number;
  /** The status this receiver answered (null: not yet, or after the sender had given up). */
  answered: number | null;
}

export interface Answer {
  status: number;
  retryAfter?: string;
  /** Answer only after this long (ms). */
  delayMs?: number;
}

export type Respond = (delivery: Delivery, nthForThisId: number) => Answer;

export class Receiver {
  readonly deliveries: Inbox<Delivery>;
  /** Requests that failed verification: must stay empty. */
  readonly rejected: string[] = [];
  open = 0;
  maxOpen = 0;
  private webhook: Webhook | null = null;
  private readonly perId = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private boundPort = 0;

  private constructor(
    private server: Server,
    private respond: Respond,
    label: string,
  ) {
    this.deliveries = new Inbox<Delivery>(label);
  }

  /** Listen on `port` (0: a free one). */
  static async start(label: string, respond: Respond = () => ({ status: 204 }), port = 0): Promise<Receiver> {
    const receiver = new Receiver(createServer(), respond, label);
    await receiver.listen(port);
    return receiver;
  }

  private async listen(port: number): Promise<void> {
    this.server = createServer((request, response) => void this.handle(request, response));
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => resolve());
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** The secret the queue signs with (from the PUT answer or given to it). */
  useSecret(secret: string): void {
    this.webhook = new Webhook(secret);
  }

  setResponder(respond: Respond): void {
    this.respond = respond;
  }

  /** Stop listening and cut open connections: further requests are refused. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** Listen again on the same port (after `close`). */
  async reopen(): Promise<void> {
    await this.listen(this.boundPort);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.open++;
    this.maxOpen = Math.max(this.maxOpen, this.open);
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const payload = Buffer.concat(chunks).toString("utf8");
      const headers = Object.fromEntries(Object.entries(request.headers).map(([key, value]) => [key, String(value)]));
      if (!this.webhook) throw new Error("a request arrived before the test gave the receiver its secret");
      let body: PushBody;
      try {
        body = this.webhook.verify(payload, headers) as PushBody;
      } catch (error) {
        this.rejected.push(`${String(error)}: ${JSON.stringify(headers)} ${payload.slice(0, 200)}`);
        response.writeHead(400).end();
        return;
      }
      const webhookId = headers["webhook-id"]!;
      const nth = (this.perId.get(webhookId) ?? 0) + 1;
      this.perId.set(webhookId, nth);
      const delivery: Delivery = { webhookId, timestamp: Number(headers["webhook-timestamp"]), body, receivedAt: Date.now(), answered: null };
      // Recorded on arrival (in arrival order); `answered` is filled in when it is answered.
      this.deliveries.push(delivery);
      const answer = this.respond(delivery, nth);
      if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
      // Answered after the sender gave up: it counts as a timeout there, whatever the status.
      delivery.answered = response.socket?.destroyed === false ? answer.status : null;
      response.writeHead(answer.status, answer.retryAfter === undefined ? {} : { "retry-after": answer.retryAfter }).end();
    } catch (error) {
      this.rejected.push(String(error));
      if (!response.headersSent) response.writeHead(500).end();
    } finally {
      this.open--;
    }
  }
}
