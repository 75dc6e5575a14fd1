/** The HTTP surface around the routes: CORS, security headers, the OpenAPI document, 503 without a key. */
import { describe, expect, it } from "vitest";
import { SELF } from "cloudflare:test";
import { api, json } from "./helpers";

describe("CORS and headers", () => {
  it("answers a browser preflight without credentials", async () => {
    const response = await SELF.fetch("http://edgepost.test/v1/topics/t/messages", {
      method: "OPTIONS",
      headers: { Origin: "https://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
  });

  it("sets security headers on API responses, errors included", async () => {
    for (const response of [await api("/v1/topics/t"), await api("/v1/topics/t", { auth: null })]) {
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("x-frame-options")).toBe("DENY");
      expect(response.headers.get("strict-transport-security")).toContain("max-age");
      await response.body?.cancel();
    }
  });
});

describe("OpenAPI", () => {
  it("describes every route of the contract, without credentials", async () => {
    const response = await api("/v1/openapi.json", { auth: null });
    expect(response.status).toBe(200);
    const document = await json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(response);
    expect(document.openapi).toBe("3.1.0");
    const routes = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    for (const route of [
      "POST /v1/topics/{topic}/messages",
      "GET /v1/topics/{topic}/messages",
      "GET /v1/topics/{topic}/subscribe",
      "GET /v1/topics/{topic}",
      "PUT /v1/queues/{queue}",
      "POST /v1/queues/{queue}/messages",
      "POST /v1/queues/{queue}/pull",
      "POST /v1/queues/{queue}/ack",
      "POST /v1/queues/{queue}/nack",
      "GET /v1/queues/{queue}/consume",
      "GET /v1/queues/{queue}",
      "PUT /v1/topics/{topic}/subscriptions/{queue}",
      "DELETE /v1/topics/{topic}/subscriptions/{queue}",
      "POST /v1/tokens",
    ]) {
      expect(routes, route).toContain(route);
    }
  });

  it("carries the validation schemas: the publish body requires data and caps the batch", async () => {
    const document = await json<{ paths: Record<string, { post?: { requestBody?: { content: Record<string, { schema: { oneOf: { required?: string[]; properties?: Record<string, { maxItems?: number }> }[] } }> } } }> }>(await api("/v1/openapi.json"));
    const [single, batch] = document.paths["/v1/topics/{topic}/messages"]!.post!.requestBody!.content["application/json"]!.schema.oneOf;
    expect(single!.required).toContain("data");
    expect(batch!.properties!.messages!.maxItems).toBe(100);
  });
});

describe("without a root key", () => {
  it("refuses every request with 503 and says how to set one: never open by default", async () => {
    const { default: app } = await import("../../src/index");
    const { env } = await import("cloudflare:test");
    const unconfigured = { ...env, EDGEPOST_ROOT_KEY: undefined };
    for (const [method, path] of [["GET", "/v1/topics/t"], ["POST", "/v1/topics/t/messages"], ["GET", "/v1/queues"]] as const) {
      const response = await app.fetch(new Request(`http://edgepost.test${path}`, { method, headers: { authorization: "Bearer anything" }, body: method === "POST" ? "{}" : null }), unconfigured);
      expect(response.status, `${method} ${path}`).toBe(503);
      const body = await json<{ error: { code: string; message: string } }>(response);
      expect(body.error.code).toBe("not_configured");
      expect(body.error.message).toContain("wrangler secret put EDGEPOST_ROOT_KEY");
    }
  });
});
