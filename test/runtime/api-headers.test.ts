/**
 * The API's security headers and CORS (src/http/headers.ts, issue 10): the same headers that
 * Hono's `secureHeaders` and `cors` set before they were replaced, on every kind of answer:
 * a route's JSON, errors from middleware and routes, a body over the limit, an object's own
 * SSE answer (immutable headers), preflights; and ALLOWED_ORIGINS restricting browsers.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, uniqueName } from "./helpers";

/** What `secureHeaders({ crossOriginResourcePolicy: false, crossOriginOpenerPolicy: false, xFrameOptions: "DENY" })` set. */
const SECURITY = {
  "origin-agent-cluster": "?1",
  "referrer-policy": "no-referrer",
  "strict-transport-security": "max-age=15552000; includeSubDomains",
  "x-content-type-options": "nosniff",
  "x-dns-prefetch-control": "off",
  "x-download-options": "noopen",
  "x-frame-options": "DENY",
  "x-permitted-cross-domain-policies": "none",
  "x-xss-protection": "0",
};

function expectSecurityHeaders(response: Response, what: string): void {
  for (const [name, value] of Object.entries(SECURITY)) expect(response.headers.get(name), `${what}: ${name}`).toBe(value);
  expect(response.headers.get("cross-origin-resource-policy"), `${what}: API answers are for other origins`).toBeNull();
  expect(response.headers.get("vary")?.toLowerCase(), `${what}: vary`).toContain("origin");
}

async function appWith(vars: Partial<typeof env>) {
  const { default: app } = await import("../../src/index");
  return (path: string, init: RequestInit = {}) => app.fetch(new Request(`http://edgepost.test${path}`, init), { ...env, ...vars });
}

describe("security headers", () => {
  it("are on answers of every kind: JSON, 401, 404, 400, 413 and an object's SSE stream", async () => {
    const topic = uniqueName("headers");
    const answers: [string, Response][] = [
      ["publish 201", await api(`/v1/topics/${topic}/messages`, { body: { data: 1 } })],
      ["401", await api(`/v1/topics/${topic}`, { auth: null })],
      ["404", await api("/v1/nothing-here")],
      ["400", await api(`/v1/topics/${topic}/messages`, { body: { nope: 1 } })],
      ["413", await api(`/v1/topics/${topic}/messages`, { rawBody: `{"data":"${"x".repeat(2_000_000)}"}` })],
      ["SSE", await api(`/v1/topics/${topic}/subscribe?after=0`, { headers: { accept: "text/event-stream", origin: "https://app.example" } })],
    ];
    for (const [what, response] of answers) {
      expectSecurityHeaders(response, what);
      expect(response.headers.get("access-control-allow-origin"), what).toBe(what === "SSE" ? "https://app.example" : "*");
      await response.body?.cancel();
    }
    expect(answers.map(([, response]) => response.status)).toEqual([201, 401, 404, 400, 413, 200]);
    expect(answers[5]![1].headers.get("content-type")).toMatch(/^text\/event-stream/);
  });
});

describe("CORS", () => {
  it("echoes any origin by default and answers preflights as before (methods, headers, max age, vary)", async () => {
    const fetchApp = await appWith({ ALLOWED_ORIGINS: undefined });
    const preflight = await fetchApp("/v1/topics/t/messages", {
      method: "OPTIONS",
      headers: { origin: "https://a.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://a.example");
    expect(preflight.headers.get("access-control-allow-methods")).toBe("GET,POST,PUT,DELETE,OPTIONS");
    expect(preflight.headers.get("access-control-allow-headers")).toBe("Authorization,Content-Type,Last-Event-ID");
    expect(preflight.headers.get("access-control-max-age")).toBe("600");
    expect(preflight.headers.get("vary")).toBe("Origin, Access-Control-Request-Headers");
    expectSecurityHeaders(preflight, "preflight");

    const noOrigin = await fetchApp("/v1/topics/t", { headers: { authorization: `Bearer ${env.EDGEPOST_ROOT_KEY}` } });
    expect(noOrigin.headers.get("access-control-allow-origin")).toBe("*");
    await noOrigin.body?.cancel();
  });

  it("with ALLOWED_ORIGINS, allows only the listed origins, on preflights and answers alike", async () => {
    const fetchApp = await appWith({ ALLOWED_ORIGINS: " https://a.example , https://b.example " });
    const auth = { authorization: `Bearer ${env.EDGEPOST_ROOT_KEY}` };
    for (const [origin, allowed] of [["https://b.example", "https://b.example"], ["https://evil.example", null], ["", null]] as const) {
      const headers: Record<string, string> = origin ? { origin } : {};
      const preflight = await fetchApp("/v1/topics/t", { method: "OPTIONS", headers: { ...headers, "access-control-request-method": "GET" } });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get("access-control-allow-origin"), `preflight from ${origin || "no origin"}`).toBe(allowed);
      const answer = await fetchApp("/v1/topics/t", { headers: { ...headers, ...auth } });
      expect(answer.status).toBe(200);
      expect(answer.headers.get("access-control-allow-origin"), `answer to ${origin || "no origin"}`).toBe(allowed);
      expect(answer.headers.get("vary")).toBe("Origin");
      await answer.body?.cancel();
    }
  });
});
