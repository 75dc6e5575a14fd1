/** Names: `_` is allowed everywhere since the 2026-12 contract additions (SQS queue names use it). */
import { describe, expect, it } from "vitest";
import { isValidName } from "../../src/protocol/names";
import { mint } from "./auth-helpers";
import { api, json, uniqueName } from "./helpers";

describe("names", () => {
  it.each(["orders_v2", "a_", "0_x", "my_queue-dlq", `A0_._:-${"z".repeat(121)}`])("accepts %s", (name) => {
    expect(isValidName(name)).toBe(true);
  });

  it.each(["_leading", "-x", ".x", "", "a b", "a/b", "a*b", "ü", "n".repeat(129)])("refuses %j", (name) => {
    expect(isValidName(name)).toBe(false);
  });

  it("serves a queue and a topic whose names hold underscores on every API", async () => {
    const queue = uniqueName("work_items").replace(/-/g, "_");
    expect((await api(`/v1/queues/${queue}`, { method: "PUT", body: { maxAttempts: 2 } })).status).toBe(200);
    expect((await api(`/v1/queues/${queue}/messages`, { body: { data: "x" } })).status).toBe(201);
    const pulled = await json<{ messages: { data: unknown }[] }>(await api(`/v1/queues/${queue}/pull`, { body: {} }));
    expect(pulled.messages.map((m) => m.data)).toEqual(["x"]);
    const stats = await json<{ name: string; config: { deadLetterQueue: string } }>(await api(`/v1/queues/${queue}`));
    expect(stats).toMatchObject({ name: queue, config: { deadLetterQueue: `${queue}-dlq` } });

    const topic = uniqueName("feed_a");
    expect((await api(`/v1/topics/${topic}/messages`, { body: { data: 1 } })).status).toBe(201);
    const history = await json<{ lastSeq: number }>(await api(`/v1/topics/${topic}/messages?after=0`));
    expect(history.lastSeq).toBe(1);
  });

  it("refuses a name starting with an underscore as 400 invalid_name naming the pattern", async () => {
    const response = await api(`/v1/queues/_hidden/messages`, { body: { data: 1 } });
    expect(response.status).toBe(400);
    const body = await json<{ error: { code: string; message: string } }>(response);
    expect(body.error.code).toBe("invalid_name");
    expect(body.error.message).toContain("[A-Za-z0-9_.:-]");
  });

  it("lets token scopes name underscored queues, exactly and by prefix", async () => {
    const exact = await mint({ publish: ["jobs_exact"] });
    expect((await api(`/v1/queues/jobs_exact/messages`, { body: { data: 1 }, auth: exact })).status).toBe(201);
    expect((await api(`/v1/queues/jobs_other/messages`, { body: { data: 1 }, auth: exact })).status).toBe(403);
    const prefix = await mint({ publish: ["team_a_*"] });
    expect((await api(`/v1/queues/team_a_jobs/messages`, { body: { data: 1 }, auth: prefix })).status).toBe(201);
    expect((await api(`/v1/queues/team_b_jobs/messages`, { body: { data: 1 }, auth: prefix })).status).toBe(403);
  });
});
