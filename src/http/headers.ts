/**
 * Security headers and CORS for the API, in one middleware. It replaces Hono's `secureHeaders`
 * and `cors` with the same headers (issue 10): those two touched `c.res` before the route ran,
 * which made Hono build a placeholder Response and then copy it (and its headers) into the
 * route's answer, and `cors` copied the answer once more to append `Vary`; measured with
 * `node bench/profile.mjs --anonymous` on 2026-12-02, Response construction and header copies
 * were about a quarter of a 401's time in the worker. Here nothing is touched before the route;
 * the headers go onto its answer once, afterwards.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./auth";

/**
 * What `secureHeaders({ crossOriginResourcePolicy: false, crossOriginOpenerPolicy: false,
 * xFrameOptions: "DENY" })` set (hono 4.13): API answers are JSON for scripts and other
 * origins, so no framing, no sniffing, no referrer.
 */
const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ["Origin-Agent-Cluster", "?1"],
  ["Referrer-Policy", "no-referrer"],
  ["Strict-Transport-Security", "max-age=15552000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-DNS-Prefetch-Control", "off"],
  ["X-Download-Options", "noopen"],
  ["X-Frame-Options", "DENY"],
  ["X-Permitted-Cross-Domain-Policies", "none"],
  ["X-XSS-Protection", "0"],
];

const ALLOW_HEADERS = "Authorization,Content-Type,Last-Event-ID";
const ALLOW_METHODS = "GET,POST,PUT,DELETE,OPTIONS";
const MAX_AGE_SECONDS = "600";

/**
 * The `Access-Control-Allow-Origin` for a request's Origin: any origin by default (credentials
 * are bearer tokens, not cookies), else only those listed in ALLOWED_ORIGINS (comma-separated).
 */
export function allowedOrigin(origin: string, allowedOrigins: string | undefined): string | null {
  const allowed = allowedOrigins?.trim();
  if (!allowed || allowed === "*") return origin || "*";
  return allowed.split(",").some((entry) => entry.trim() === origin) ? origin : null;
}

function setAll(headers: Headers, allowOrigin: string | null): void {
  for (const [name, value] of SECURITY_HEADERS) headers.set(name, value);
  if (allowOrigin) headers.set("Access-Control-Allow-Origin", allowOrigin);
  // The answer depends on the Origin (it is echoed, or refused).
  headers.append("Vary", "Origin");
}

export const apiHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  const allowOrigin = allowedOrigin(c.req.header("origin") ?? "", c.env.ALLOWED_ORIGINS);
  if (c.req.method === "OPTIONS") {
    // A browser's preflight: answered here, without credentials.
    const headers = new Headers();
    setAll(headers, allowOrigin);
    headers.set("Access-Control-Max-Age", MAX_AGE_SECONDS);
    headers.set("Access-Control-Allow-Methods", ALLOW_METHODS);
    headers.set("Access-Control-Allow-Headers", ALLOW_HEADERS);
    headers.append("Vary", "Access-Control-Request-Headers");
    return new Response(null, { status: 204, headers });
  }
  await next();
  // A WebSocket handshake's 101 carries no document: browsers apply neither CORS nor these
  // headers to WebSockets, and copying the object's immutable answer to add them was ~18% of
  // a subscribe's samples in the worker (bench/profile.mjs --connects, issue 11, 2026-12-02).
  if (c.res.status === 101) return;
  try {
    setAll(c.res.headers, allowOrigin);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    // An object's own answer (SSE, WebSocket upgrade) has immutable headers: copy it once.
    const copy = new Response(c.res.body, c.res);
    setAll(copy.headers, allowOrigin);
    c.res = undefined;
    c.res = copy;
  }
};
