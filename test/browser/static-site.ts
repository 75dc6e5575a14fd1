/**
 * A static web site on its own origin (127.0.0.1, a free port): the pages of a user's app,
 * which load the SDK and talk to edgepost on another origin, as a real deployment does.
 */
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".map": "application/json" };

export class StaticSite {
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** Serve the files of `root` (no listing, no path outside it). */
  static async start(root: string): Promise<StaticSite> {
    const server = createServer((request, response) => {
      const pathname = decodeURIComponent(new URL(request.url ?? "/", "http://site").pathname);
      const file = path.join(root, pathname);
      if (path.relative(root, file).startsWith("..")) {
        response.writeHead(403).end();
        return;
      }
      readFile(file).then(
        (body) => response.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" }).end(body),
        () => response.writeHead(404).end("not found"),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return new StaticSite(server, `http://127.0.0.1:${port}`);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
