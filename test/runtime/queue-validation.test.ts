/** Bad input to the queue routes: 400 with the contract's JSON error body, and the queue keeps serving. */
import { describe, expect, it } from "vitest";
import { api, uniqueName } from "./helpers";
import { ack, configureQueue, enqueue, expectError, pull, stats } from "./queue-helpers";

/** Prove the queue still works end to end after the bad requests. */
async function expectServing(queue: string): Promise<void> {
  await enqueue(queue, { data: "still here" });
  const [message] = await pull(queue);
  expect(message).toMatchObject({ data: "still here" });
  expect((await ack(queue, [message!.leaseId]))[0]!.status).toBe("acked");
}

describe("queue input validation", () => {
  it("rejects invalid settings and keeps the previous ones", async () => {
    const queue = uniqueName("valid-config");
    const before = await configureQueue(queue, { visibilityTimeoutSeconds: 45, maxAttempts: 3 });
    const invalid: unknown[] = [
      { visibilityTimeoutSeconds: 0 },
      { visibilityTimeoutSeconds: 50_000 },
      { visibilityTimeoutSeconds: 1.5 },
      { maxAttempts: 0 },
      { maxAttempts: 101 },
      { maxAttempts: "3" },
      { deadLetterQueue: "has spaces" },
      { deadLetterQueue: "-leading-dash" },
      { deadLetterQueue: "x".repeat(129) },
      { retentionSeconds: 10 },
      { backoff: { minSeconds: 5, maxSeconds: 1 } },
      { backoff: { minSeconds: 0, maxSeconds: 1 } },
      { unknownSetting: true },
      [1, 2],
    ];
    for (const body of invalid) {
      const response = await api(`/v1/queues/${queue}`, { method: "PUT", body });
      await expectError(response, 400, "invalid_request");
    }
    const self = await api(`/v1/queues/${queue}`, { method: "PUT", body: { deadLetterQueue: queue } });
    const error = await expectError(self, 400, "invalid_request");
    expect(error.error.message).toMatch(/own dead-letter queue/);

    expect((await stats(queue)).config).toEqual(before);
    expect(before).toMatchObject({ visibilityTimeoutSeconds: 45, maxAttempts: 3, deadLetterQueue: `${queue}-dlq` });
    await expectServing(queue);
  });

  it("accepts the boundary values of the ranges", async () => {
    const queue = uniqueName("valid-bounds");
    expect(await configureQueue(queue, { visibilityTimeoutSeconds: 1, maxAttempts: 1 })).toMatchObject({ visibilityTimeoutSeconds: 1, maxAttempts: 1 });
    expect(await configureQueue(queue, { visibilityTimeoutSeconds: 43_200, maxAttempts: 100, deadLetterQueue: null })).toMatchObject({
      visibilityTimeoutSeconds: 43_200,
      maxAttempts: 100,
      deadLetterQueue: null,
    });
  });

  it("rejects pull sizes outside 1-100 and bad visibility overrides", async () => {
    const queue = uniqueName("valid-pull");
    await enqueue(queue, { data: 1 });
    for (const body of [{ max: 0 }, { max: 101 }, { max: "5" }, { max: 2.5 }, { visibilityTimeoutSeconds: 0 }, { visibilityTimeoutSeconds: 50_000 }, { extra: 1 }]) {
      await expectError(await api(`/v1/queues/${queue}/pull`, { body }), 400, "invalid_request");
    }
    // Nothing was leased by the rejected pulls.
    expect(await stats(queue)).toMatchObject({ ready: 1, inFlight: 0 });
    expect(await pull(queue, { max: 100 })).toHaveLength(1);
  });

  it("rejects ack, nack and extend without lease ids or with bad values", async () => {
    const queue = uniqueName("valid-leases");
    const cases: [string, unknown][] = [
      ["ack", { leaseIds: [] }],
      ["ack", {}],
      ["ack", { leaseIds: [""] }],
      ["ack", { leaseIds: "abc" }],
      ["ack", { leaseIds: Array.from({ length: 101 }, (_, n) => `lease-${n}`) }],
      ["nack", { leaseIds: [] }],
      ["nack", { leaseIds: ["x"], delaySeconds: -1 }],
      ["extend", { leaseIds: ["x"] }],
      ["extend", { leaseIds: ["x"], visibilityTimeoutSeconds: 0 }],
    ];
    for (const [op, body] of cases) {
      await expectError(await api(`/v1/queues/${queue}/${op}`, { body }), 400, "invalid_request");
    }
    await expectServing(queue);
  });

  it("rejects bad messages: missing data, bad delay, bad id, unknown fields, empty batch", async () => {
    const queue = uniqueName("valid-messages");
    for (const body of [
      {},
      { data: 1, delaySeconds: -1 },
      { data: 1, delaySeconds: 0.5 },
      { data: 1, delaySeconds: 31 * 24 * 60 * 60 },
      { data: 1, id: "" },
      { data: 1, attributes: { n: 1 } },
      { data: 1, extra: true },
      { messages: [] },
    ]) {
      await expectError(await api(`/v1/queues/${queue}/messages`, { body }), 400, "invalid_request");
    }
    expect((await stats(queue)).enqueued).toBe(0);
    await expectServing(queue);
  });

  it("answers non-JSON and empty bodies with invalid_json", async () => {
    const queue = uniqueName("valid-json");
    for (const path of ["messages", "pull", "ack", "nack", "extend", "redrive"]) {
      await expectError(await api(`/v1/queues/${queue}/${path}`, { method: "POST", rawBody: "{not json" }), 400, "invalid_json");
    }
    await expectError(await api(`/v1/queues/${queue}`, { method: "PUT", rawBody: "nope" }), 400, "invalid_json");
    // Bodies that are required may not be empty; pull's and settings' may.
    await expectError(await api(`/v1/queues/${queue}/messages`, { method: "POST", rawBody: "" }), 400, "invalid_json");
    await expectError(await api(`/v1/queues/${queue}/ack`, { method: "POST", rawBody: "" }), 400, "invalid_json");
    await expectServing(queue);
  });

  it("rejects invalid queue names in the path", async () => {
    await expectError(await api(`/v1/queues/${encodeURIComponent("bad name")}/messages`, { body: { data: 1 } }), 400, "invalid_name");
    await expectError(await api(`/v1/queues/${"q".repeat(129)}/pull`, { body: {} }), 400, "invalid_name");
    await expectError(await api(`/v1/queues/-dash`), 400, "invalid_name");
  });
});
