/**
 * Authorization matrix: every route x every kind of credential. No or bad credentials -> 401,
 * valid but out of scope -> 403, in scope or root -> the route's success status.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { SELF } from "cloudflare:test";
import { credentials } from "./auth-helpers";
import { api, json, uniqueName } from "./helpers";

type Credentials = Awaited<ReturnType<typeof credentials>>;

const topic = uniqueName("authz.t");
const queue = uniqueName("authz.q");

interface Route {
  name: string;
  operation: "publish" | "subscribe" | "consume" | "admin";
  ok: number;
  call: (auth: string | null) => Promise<Response>;
}

/** Fresh lease ids for the routes that need one, via the root key. */
async function leaseOne(): Promise<string> {
  await api(`/v1/queues/${queue}/messages`, { body: { data: "work" } });
  const pulled = await json<{ messages: { leaseId: string }[] }>(await api(`/v1/queues/${queue}/pull`, { body: { max: 1 } }));
  return pulled.messages[0]?.leaseId ?? "none-left";
}

function upgrade(path: string, auth: string | null): Promise<Response> {
  const url = new URL(`http://edgepost.test${path}`);
  if (auth !== null) url.searchParams.set("token", auth);
  return SELF.fetch(url, { headers: { Upgrade: "websocket" } });
}

const routes: Route[] = [
  { name: "publish to topic", operation: "publish", ok: 201, call: (auth) => api(`/v1/topics/${topic}/messages`, { body: { data: 1 }, auth }) },
  { name: "topic history", operation: "subscribe", ok: 200, call: (auth) => api(`/v1/topics/${topic}/messages?after=0`, { auth }) },
  { name: "topic stats", operation: "subscribe", ok: 200, call: (auth) => api(`/v1/topics/${topic}`, { auth }) },
  { name: "topic subscribe (WebSocket)", operation: "subscribe", ok: 101, call: (auth) => upgrade(`/v1/topics/${topic}/subscribe`, auth) },
  { name: "topic settings", operation: "admin", ok: 200, call: (auth) => api(`/v1/topics/${topic}`, { method: "PUT", body: { retentionMessages: 1000 }, auth }) },
  { name: "bind queue", operation: "admin", ok: 200, call: (auth) => api(`/v1/topics/${topic}/subscriptions/${queue}`, { method: "PUT", body: {}, auth }) },
  { name: "queue settings", operation: "admin", ok: 200, call: (auth) => api(`/v1/queues/${queue}`, { method: "PUT", body: { maxAttempts: 5 }, auth }) },
  { name: "queue stats", operation: "consume", ok: 200, call: (auth) => api(`/v1/queues/${queue}`, { auth }) },
  { name: "enqueue", operation: "publish", ok: 201, call: (auth) => api(`/v1/queues/${queue}/messages`, { body: { data: 2 }, auth }) },
  { name: "pull", operation: "consume", ok: 200, call: (auth) => api(`/v1/queues/${queue}/pull`, { body: { max: 1 }, auth }) },
  { name: "ack", operation: "consume", ok: 200, call: async (auth) => api(`/v1/queues/${queue}/ack`, { body: { leaseIds: [await leaseOne()] }, auth }) },
  { name: "nack", operation: "consume", ok: 200, call: async (auth) => api(`/v1/queues/${queue}/nack`, { body: { leaseIds: [await leaseOne()] }, auth }) },
  { name: "extend", operation: "consume", ok: 200, call: async (auth) => api(`/v1/queues/${queue}/extend`, { body: { leaseIds: [await leaseOne()], visibilityTimeoutSeconds: 5 }, auth }) },
  { name: "consume (WebSocket)", operation: "consume", ok: 101, call: (auth) => upgrade(`/v1/queues/${queue}/consume?prefetch=1`, auth) },
  { name: "redrive", operation: "admin", ok: 200, call: (auth) => api(`/v1/queues/${queue}-dlq/redrive`, { body: {}, auth }) },
  { name: "purge", operation: "admin", ok: 200, call: (auth) => api(`/v1/queues/${queue}/messages`, { method: "DELETE", auth }) },
  { name: "unbind queue", operation: "admin", ok: 200, call: async (auth) => {
    await api(`/v1/topics/${topic}/subscriptions/${queue}`, { method: "PUT", body: {} });
    return api(`/v1/topics/${topic}/subscriptions/${queue}`, { method: "DELETE", auth });
  } },
];

let creds: Credentials;

beforeAll(async () => {
  // In scope: every operation, but only on these two names; out of scope: a neighbour's names.
  const mine = [topic, queue, `${queue}-dlq`];
  creds = await credentials({ publish: mine, subscribe: mine, consume: mine, admin: mine }, { publish: ["other.*"], subscribe: ["other.*"], consume: ["other.*"], admin: ["other.*"] });
});

const expected = (route: Route): Record<keyof Credentials, number> => ({
  none: 401,
  garbage: 401,
  wrongSignature: 401,
  algNone: 401,
  expired: 401,
  outOfScope: 403,
  inScope: route.ok,
  root: route.ok,
});

describe.each(routes)("$name", (route) => {
  it.each(["none", "garbage", "wrongSignature", "algNone", "expired", "outOfScope", "inScope", "root"] as const)("with %s credentials", async (kind) => {
    const response = await route.call(creds[kind]);
    expect(response.status, `${route.name} with ${kind}`).toBe(expected(route)[kind]);
    if (response.status === 101) response.webSocket!.accept();
    if (response.status === 101) response.webSocket!.close(1000, "done");
    else if (response.status >= 400) {
      const body = await json<{ error: { code: string; message: string } }>(response);
      expect(body.error.code).toBe(response.status === 401 ? "unauthorized" : "forbidden");
    } else await response.body?.cancel();
  });
});

describe("minting tokens", () => {
  it("is for the root key only", async () => {
    const response = await api("/v1/tokens", { body: { scopes: { publish: ["*"] }, ttlSeconds: 60 }, auth: creds.inScope });
    expect(response.status).toBe(403);
    expect((await api("/v1/tokens", { body: { scopes: { publish: ["*"] }, ttlSeconds: 60 }, auth: null })).status).toBe(401);
  });

  it("requires a capped expiry and valid patterns", async () => {
    for (const body of [{ scopes: {} }, { scopes: {}, ttlSeconds: 0 }, { scopes: {}, ttlSeconds: 86_401 }, { scopes: { publish: ["a*b"] }, ttlSeconds: 60 }, { scopes: { delete: ["*"] }, ttlSeconds: 60 }]) {
      const response = await api("/v1/tokens", { body });
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
  });

  it("answers with the token and its expiry", async () => {
    const before = Date.now();
    const body = await json<{ token: string; expiresAt: number }>(await api("/v1/tokens", { body: { scopes: { subscribe: ["x"] }, ttlSeconds: 120, subject: "user-1" } }));
    expect(body.token.split(".")).toHaveLength(3);
    expect(body.expiresAt).toBeGreaterThanOrEqual(before + 119_000);
    expect(body.expiresAt).toBeLessThanOrEqual(Date.now() + 121_000);
  });
});

describe("patterns", () => {
  it("a prefix pattern covers its names and no others", async () => {
    const { mint } = await import("./auth-helpers");
    const token = await mint({ publish: ["orders.*"] });
    expect((await api(`/v1/topics/orders.eu/messages`, { body: { data: 1 }, auth: token })).status).toBe(201);
    expect((await api(`/v1/topics/payments/messages`, { body: { data: 1 }, auth: token })).status).toBe(403);
    expect((await api(`/v1/topics/orders/messages`, { body: { data: 1 }, auth: token })).status).toBe(403);
    // publish does not imply subscribe
    expect((await api(`/v1/topics/orders.eu/messages?after=0`, { auth: token })).status).toBe(403);
  });
});
