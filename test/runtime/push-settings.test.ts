/**
 * Push queue settings through the real worker: validation of the endpoint and secret, the
 * secret shown only when generated, stats, 409 push_queue for pull and consume, and a failed
 * delivery (nothing listens) counted as an attempt with its error in stats. Deliveries to a
 * real receiver, signatures and retries are proven end to end in test/e2e/push-*.test.ts.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, json, ROOT_KEY, uniqueName } from "./helpers";
import { configureQueue, enqueue, eventually, expectError, expectStatus, pull, stats, storedMessages } from "./queue-helpers";

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

  it("counts a delivery that reaches nothing as a failed attempt, with the error in stats", async () => {
    const queue = uniqueName("push-refused");
    await configureQueue(queue, { backoff: { minSeconds: 60, maxSeconds: 60 } });
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    await setPush(queue, { url: "https://127.0.0.1:9/hook", timeoutSeconds: 2 });
    const { seq } = await enqueue(queue, { data: "undeliverable" });
    const failed = await eventually(async () => {
      const current = await stats(queue);
      return current.push?.lastError ? current : undefined;
    }, "a failed push attempt", 10_000);
    expect(failed.push).toMatchObject({ inFlight: 0, lastStatus: null });
    expect(failed.push!.lastError).toContain(`seq ${seq} attempt 1`);
    expect(failed.push!.lastAttemptAt).toBeGreaterThan(0);
    // Back to waiting out the backoff: attempt 1 used, not leased, not lost.
    const [row] = await storedMessages(queue);
    expect(row).toMatchObject({ seq, attempt: 1, lease_id: null, state: 0 });
    expect(row!.visible_at).toBeGreaterThan(Date.now() + 30_000);
  });
});
