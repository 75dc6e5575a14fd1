/**
 * The SQS endpoint's HTTP surface in workerd: SigV4 edge cases (skew window, unsigned headers
 * rewritten, scoped keys that expired or were forged), the protocol checks, CORS for browsers,
 * and `POST /` shared with the console.
 */
import { SELF } from "cloudflare:test";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { api, json, ROOT_KEY, uniqueName } from "./helpers";
import { ORIGIN, queueUrlOf, sqsRequest } from "./sqs-helpers";

async function sqsErrorOf(response: Response): Promise<{ status: number; type: string; query: string | null }> {
  const body = await json<{ __type: string }>(response);
  return { status: response.status, type: body.__type.replace("com.amazonaws.sqs#", ""), query: response.headers.get("x-amzn-query-error") };
}

describe("sqs endpoint", () => {
  it("accepts a clock 14 minutes off and refuses 16", async () => {
    expect((await sqsRequest("ListQueues", "{}", { now: Date.now() - 14 * 60 * 1000 })).status).toBe(200);
    expect((await sqsRequest("ListQueues", "{}", { now: Date.now() + 14 * 60 * 1000 })).status).toBe(200);
    expect(await sqsErrorOf(await sqsRequest("ListQueues", "{}", { now: Date.now() + 16 * 60 * 1000 }))).toMatchObject({ status: 403, type: "SignatureDoesNotMatch" });
  });

  it("answers on /sqs, /sqs/ and / alike", async () => {
    for (const path of ["/sqs", "/sqs/", "/"]) expect((await sqsRequest("ListQueues", "{}", { path })).status, path).toBe(200);
  });

  it("refuses unknown and unsupported actions and the query protocol with SQS errors", async () => {
    expect(await sqsErrorOf(await sqsRequest("Explode", "{}"))).toMatchObject({ status: 400, type: "InvalidAction", query: "InvalidAction;Sender" });
    expect(await sqsErrorOf(await sqsRequest("AddPermission", "{}"))).toMatchObject({ status: 400, type: "UnsupportedOperation", query: "AWS.SimpleQueueService.UnsupportedOperation;Sender" });
    expect(await sqsErrorOf(await sqsRequest("ListQueues", "{not json"))).toMatchObject({ status: 400, type: "SerializationException" });
    const query = await SELF.fetch(`${ORIGIN}/sqs`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "Action=ListQueues" });
    expect(await sqsErrorOf(query)).toMatchObject({ status: 400, type: "InvalidAction" });
  });

  it("refuses scoped keys that expired or were signed with another key, and the root key's name with a token secret", async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await sign({ iss: "edgepost-sqs", iat: now - 100, exp: now - 10, scp: { consume: ["*"] }, jti: "k1" }, ROOT_KEY, "HS256");
    expect(await sqsErrorOf(await sqsRequest("ListQueues", "{}", { accessKeyId: expired }))).toMatchObject({ status: 403, type: "InvalidClientTokenId" });
    const forged = await sign({ iss: "edgepost-sqs", iat: now, exp: now + 100, scp: { admin: ["*"] }, jti: "k2" }, "other-key", "HS256");
    expect(await sqsErrorOf(await sqsRequest("ListQueues", "{}", { accessKeyId: forged }))).toMatchObject({ status: 403, type: "InvalidClientTokenId" });
    // A bearer token (issuer edgepost) is not an SQS access key id.
    const { token } = await json<{ token: string }>(await api("/v1/tokens", { body: { scopes: { consume: ["*"] }, ttlSeconds: 60 } }));
    expect(await sqsErrorOf(await sqsRequest("ListQueues", "{}", { accessKeyId: token }))).toMatchObject({ status: 403, type: "InvalidClientTokenId" });
  });

  it("mints SQS credentials that sign requests, within the caller's scopes", async () => {
    const queue = uniqueName("sqs_minted");
    const response = await api("/v1/tokens/sqs", { body: { scopes: { publish: [queue] }, ttlSeconds: 60 } });
    expect(response.status).toBe(201);
    const minted = await json<{ accessKeyId: string; secretAccessKey: string; expiresAt: number }>(response);
    const send = (body: object) => sqsRequest("SendMessage", JSON.stringify(body), { accessKeyId: minted.accessKeyId, secret: minted.secretAccessKey });
    expect((await send({ QueueUrl: queueUrlOf(queue), MessageBody: "ok" })).status).toBe(200);
    expect(await sqsErrorOf(await send({ QueueUrl: queueUrlOf(`${queue}x`), MessageBody: "no" }))).toMatchObject({ status: 403, type: "AccessDenied" });
    expect((await api("/v1/tokens/sqs", { body: { ttlSeconds: 60 } })).status).toBe(400);
  });

  it("lets browsers call /sqs (CORS preflight)", async () => {
    const preflight = await SELF.fetch(`${ORIGIN}/sqs`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization,x-amz-date,x-amz-target,content-type" },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(preflight.headers.get("access-control-allow-headers")).toContain("x-amz-target");
  });

  it("leaves POST / without x-amz-target to the static assets", async () => {
    const response = await SELF.fetch(`${ORIGIN}/`, { method: "POST", body: "x" });
    expect(response.status).not.toBe(200);
    expect(response.headers.get("x-amzn-query-error")).toBeNull();
  });
});
