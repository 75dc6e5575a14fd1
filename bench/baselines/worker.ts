/**
 * Baseline workers for the benchmarks: the platform's own ceiling, served by the same runtime
 * (workerd through Miniflare) with the same bundler settings (wrangler's dry-run) and the same
 * compatibility date as edgepost. Each route is the least a worker can do for that job:
 *
 *   POST /bare                      200, nothing else (the HTTP path: entry worker, routing)
 *   POST /noop/{name}               + one RPC to a Durable Object that does nothing
 *   POST /insert/{name}             + parse {"data"}, one SQLite INSERT in the object
 *   POST /insert-batch/{name}       + parse {"messages":[{"data"}...]}, all rows in one transaction
 *   POST /broadcast/{name}          + send one frame to each hibernatable WebSocket (no storage)
 *   POST /broadcast-insert/{name}   + the same after one SQLite INSERT
 *   GET  /subscribe/{name}          WebSocket upgrade, accepted by the object (hibernatable)
 *   POST /alarm/{name}?delay=ms     set the object's alarm; when it fires the object sends
 *                                   {"type":"alarm"} to its sockets (the platform's alarm lag)
 *   /parties/room/{name}            the partyserver peer (party-room.ts)
 *   /probe/...                      edgepost's own objects without its worker (probe.ts)
 *
 * Frames carry a per-object `seq` so the load generator checks order, gaps and duplicates
 * here exactly as it does for edgepost.
 */
import { DurableObject } from "cloudflare:workers";
import { routePartykitRequest } from "partyserver";
import { Room } from "./party-room";
import { probe, type ProbeEnv } from "./probe";

export { Room };
export { DirectoryObject, QueueObject, TopicAppendOnly, TopicObject } from "./probe";

export interface Env extends ProbeEnv {
  BASE: DurableObjectNamespace<BaselineObject>;
  Room: DurableObjectNamespace<Room>;
}

export class BaselineObject extends DurableObject<Env> {
  /** Next seq: in memory for broadcasts without storage, mirrored by the table otherwise. */
  private seq: number;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, data TEXT NOT NULL, published_at INTEGER NOT NULL)");
    this.seq = ctx.storage.sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM messages").one().seq ?? 0;
  }

  noop(): number {
    return 0;
  }

  insert(data: string): number {
    const seq = ++this.seq;
    this.ctx.storage.sql.exec("INSERT INTO messages (seq, data, published_at) VALUES (?, ?, ?)", seq, data, Date.now());
    return seq;
  }

  insertBatch(items: string[]): number[] {
    const seqs: number[] = [];
    this.ctx.storage.transactionSync(() => {
      for (const data of items) seqs.push(this.insert(data));
    });
    return seqs;
  }

  broadcast(data: string, durable: boolean): number {
    const now = Date.now();
    const seq = durable ? this.insert(data) : ++this.seq;
    // One serialisation for every socket, as edgepost does.
    const frame = `{"type":"message","seq":${seq},"data":${data},"publishedAt":${now}}`;
    for (const socket of this.ctx.getWebSockets()) socket.send(frame);
    return seq;
  }

  async scheduleAlarm(delayMs: number): Promise<number> {
    const at = Date.now() + delayMs;
    await this.ctx.storage.setAlarm(at);
    return at;
  }

  override async alarm(): Promise<void> {
    const frame = `{"type":"alarm","firedAt":${Date.now()}}`;
    for (const socket of this.ctx.getWebSockets()) socket.send(frame);
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("upgrade required", { status: 426 });
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketClose(socket: WebSocket, code: number, reason: string): Promise<void> {
    try {
      socket.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
  }
}

/** `{"data": ...}` to the JSON text of data: the minimum any durable publish has to do. */
async function dataOf(request: Request): Promise<string> {
  const body = (await request.json()) as { data?: unknown };
  return JSON.stringify(body.data ?? null);
}

async function batchOf(request: Request): Promise<string[]> {
  const body = (await request.json()) as { messages?: { data?: unknown }[] };
  return (body.messages ?? []).map((message) => JSON.stringify(message.data ?? null));
}

const json = (value: unknown) => new Response(JSON.stringify(value), { headers: { "content-type": "application/json" } });

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const [, route, name = "default"] = url.pathname.split("/");
    switch (route) {
      case "bare":
        return new Response("ok");
      case "noop":
        return json({ ok: await env.BASE.getByName(name).noop() });
      case "insert":
        return json({ seq: await env.BASE.getByName(name).insert(await dataOf(request)) });
      case "insert-batch":
        return json({ seqs: await env.BASE.getByName(name).insertBatch(await batchOf(request)) });
      case "broadcast":
        return json({ seq: await env.BASE.getByName(name).broadcast(await dataOf(request), false) });
      case "broadcast-insert":
        return json({ seq: await env.BASE.getByName(name).broadcast(await dataOf(request), true) });
      case "alarm":
        return json({ scheduledAt: await env.BASE.getByName(name).scheduleAlarm(Number(url.searchParams.get("delay") ?? 1000)) });
      case "subscribe":
        return env.BASE.getByName(name).fetch(request);
      case "probe": {
        const [, , kind = "", probeName = "default"] = url.pathname.split("/");
        return probe(request, env, kind, probeName);
      }
      case "parties":
        return (await routePartykitRequest(request, env)) ?? new Response("not found", { status: 404 });
      default:
        return new Response("not found", { status: 404 });
    }
  },
} satisfies ExportedHandler<Env>;
