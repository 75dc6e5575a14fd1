/**
 * Push queue settings through the real worker: validation of the endpoint and secret, the
 * secret shown only when generated, stats, 409 push_queue for pull and consume. Deliveries to a
 * real receiver, signatures, retries and a delivery that reaches nothing (counted as an attempt,
 * its error in stats) are proven end to end in test/e2e/push*.test.ts: a connection refused in
 * this sandbox is logged by workerd as an uncaught exception whatever catches it (issue 15).
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, json, ROOT_KEY, uniqueName } from "./helpers";
import { enqueue, expectError, expectStatus, pull, stats } from "./queue-helpers";

interface PushAnswer {
  push: { url: string; maxConcurrency: number; timeoutSeconds: number; secret?: string } | null;
}

async function setPush(queue: string, push: unknown): Promise<PushAnswer> {
  const response = await api(`/v1/queues/${queue}`, { method: "PUT", body: { push } });
  await expectStatus(response, 200, `set push on ${queue}`);
  return json<PushAnswer>(response);
}

const SECRET = `whsec_${btoa("0123456789abcdef0123456789abcdef")}`;

describe("push queue settings", () => {
  it("generates a secret once, shows it only in that answer, and keeps it on later updates", async () => {
    const queue = uniqueName("push-secret");
    const first = await setPush(queue, { url: "https://receiver.example/hook" });
    expect(first.push).toMatchObject({ url: "https://receiver.example/hook", maxConcurrency: 10, timeoutSeconds: 30 });
    expect(first.push!.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const current = await stats(queue);
    expect(current.config.push).toEqual({ url: "https://receiver.example/hook", maxConcurrency: 10, timeoutSeconds: 30 });
    expect(current.push).toMatchObject({ url: "https://receiver.example/hook", inFlight: 0, lastStatus: null, lastError: null, lastAttemptAt: null });
    expect(JSON.stringify(current)).not.toContain(first.push!.secret!);

    const updated = await setPush(queue, { url: "https://receiver.example/hook", maxConcurrency: 3 });
    expect(updated.push).toEqual({ url: "https://receiver.example/hook", maxConcurrency: 3, timeoutSeconds: 30 });
    const given = await setPush(queue, { url: "https://receiver.example/hook", secret: SECRET, timeoutSeconds: 5 });
    expect(given.push).toEqual({ url: "https://receiver.example/hook", maxConcurrency: 3, timeoutSeconds: 5 });
  });

  it("refuses bad endpoints, secrets and limits with 400", async () => {
    const queue = uniqueName("push-bad");
    const put = (push: unknown) => api(`/v1/queues/${queue}`, { method: "PUT", body: { push } });
    await expectError(await put({ url: "ftp://receiver.example/hook" }), 400, "invalid_request");
    await expectError(await put({ url: "not a url" }), 400, "invalid_request");
    // No PUSH_ALLOW_HTTP in this worker's bindings.
    const http = await expectError(await put({ url: "http://receiver.example/hook" }), 400, "invalid_request");
    expect(http.error.message).toContain("PUSH_ALLOW_HTTP");
    await expectError(await put({ url: "https://r.example/", secret: "plain-secret" }), 400, "invalid_request");
    await expectError(await put({ url: "https://r.example/", secret: `whsec_${btoa("too short")}` }), 400, "invalid_request");
    await expectError(await put({ url: "https://r.example/", maxConcurrency: 0 }), 400, "invalid_request");
    await expectError(await put({ url: "https://r.example/", maxConcurrency: 101 }), 400, "invalid_request");
    await expectError(await put({ url: "https://r.example/", timeoutSeconds: 61 }), 400, "invalid_request");
    await expectError(await put({ url: "https://r.example/", extra: 1 }), 400, "invalid_request");
    expect((await stats(queue)).config.push).toBeNull();
  });

  it("answers pull and consume with 409 push_queue until push is set to null", async () => {
    const queue = uniqueName("push-409");
    await setPush(queue, { url: "https://receiver.example/hook" });
    await expectError(await api(`/v1/queues/${queue}/pull`, { body: {} }), 409, "push_queue");
    const upgrade = await SELF.fetch(`http://edgepost.test/v1/queues/${queue}/consume?token=${ROOT_KEY}`, { headers: { Upgrade: "websocket" } });
    await expectError(upgrade, 409, "push_queue");

    expect((await setPush(queue, null)).push).toBeNull();
    expect((await stats(queue)).push).toBeNull();
    await enqueue(queue, { data: "pulled" });
    expect((await pull(queue)).map((message) => message.data)).toEqual(["pulled"]);
  });
});
