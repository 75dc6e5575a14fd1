/**
 * The peer: a partyserver broadcast room (npm `partyserver`), the usual way to build a
 * WebSocket room on Durable Objects. No durability: a publish is broadcast and forgotten.
 * Hibernatable sockets, like edgepost's and the baselines'. Publish with
 * POST /parties/room/{name} and {"data": ...}; subscribe with a WebSocket to the same path.
 */
import { Server } from "partyserver";

export class Room extends Server {
  static override options = { hibernate: true };
  private seq = 0;

  override async onRequest(request: Request): Promise<Response> {
    const body = (await request.json()) as { data?: unknown };
    const seq = ++this.seq;
    this.broadcast(`{"type":"message","seq":${seq},"data":${JSON.stringify(body.data ?? null)},"publishedAt":${Date.now()}}`);
    return new Response(JSON.stringify({ seq }), { headers: { "content-type": "application/json" } });
  }
}
