/** Redrive: a dead-letter queue's messages go back to the queue they came from (or to `to`), once each. */
import { describe, expect, it } from "vitest";
import { api, json, uniqueName } from "./helpers";
import { acceptInserts, ack, configureQueue, enqueue, enqueueBatch, eventually, expectError, expectStatus, FAST, nack, pull, refuseInserts, runAlarm, stats, type QueueMessageBody } from "./queue-helpers";

interface RedriveResult {
  moved: number;
  skipped: number;
}

async function redrive(dlq: string, body: { to?: string; max?: number } = {}): Promise<RedriveResult> {
  const response = await api(`/v1/queues/${dlq}/redrive`, { body });
  await expectStatus(response, 200, `redrive ${dlq}`);
  return json<RedriveResult>(response);
}

/** Enqueue a message to `source` (maxAttempts 1) and fail it once; wait until its dead-letter queue has it. */
async function deadLetter(source: string, dlq: string, data: QueueMessageBody["data"], id: string): Promise<void> {
  const arrived = (await stats(dlq)).enqueued + 1;
  await enqueue(source, { data, id });
  const [message] = await pull(source);
  expect(message, `the message ${id} in ${source}`).toBeDefined();
  expect((await nack(source, [message!.leaseId]))[0]).toMatchObject({ deadLettered: true });
  await eventually(async () => {
    await runAlarm(source);
    return (await stats(dlq)).enqueued === arrived ? true : undefined;
  }, `dead letter ${id} to arrive in ${dlq}`);
}

describe("queue redrive", () => {
  it("redrives dead letters back to their source, where attempts start again at 1", async () => {
    const queue = uniqueName("redrive");
    const dlq = `${queue}-dlq`;
    await configureQueue(queue, { ...FAST, maxAttempts: 1 });
    await deadLetter(queue, dlq, "second chance", "job-9");

    expect(await redrive(dlq)).toEqual({ moved: 1, skipped: 0 });
    expect(await stats(dlq)).toMatchObject({ ready: 0, inFlight: 0, delayed: 0 });
    const [back] = await pull(queue);
    expect(back).toMatchObject({ id: "job-9", data: "second chance", attempt: 1 });
    expect((await ack(queue, [back!.leaseId]))[0]!.status).toBe("acked");
    // Nothing left to move: a second redrive is a no-op.
    expect(await redrive(dlq)).toEqual({ moved: 0, skipped: 0 });
  });

  it("redrives to another queue with `to`, and skips messages with no source", async () => {
    const dlq = uniqueName("redrive-to-dlq");
    const target = uniqueName("redrive-target");
    // Enqueued directly, this message has no source queue to go back to.
    await enqueue(dlq, { data: "orphan" });
    expect(await redrive(dlq)).toEqual({ moved: 0, skipped: 1 });
    expect((await stats(dlq)).ready).toBe(1);

    expect(await redrive(dlq, { to: target })).toEqual({ moved: 1, skipped: 0 });
    expect((await pull(target))[0]).toMatchObject({ data: "orphan", attempt: 1 });
    expect((await stats(dlq)).ready).toBe(0);
  });

  it("counts each skipped message once when skipped and moved messages are mixed", async () => {
    const source = uniqueName("redrive-mixed");
    const dlq = `${source}-dlq`;
    await configureQueue(source, { ...FAST, maxAttempts: 1 });
    await enqueue(dlq, { data: "orphan" });
    await deadLetter(source, dlq, "returning", "back-1");

    expect(await redrive(dlq)).toEqual({ moved: 1, skipped: 1 });
    expect((await pull(source))[0]).toMatchObject({ id: "back-1", data: "returning" });
    expect((await pull(dlq))[0]).toMatchObject({ data: "orphan" });
  });

  it("moves dead letters that sit behind a full batch of messages it must skip", async () => {
    const source = uniqueName("redrive-behind");
    const dlq = `${source}-dlq`;
    await configureQueue(source, { ...FAST, maxAttempts: 1 });
    // 100 orphans fill the first redrive batch; the dead letter comes after them.
    await enqueueBatch(
      dlq,
      Array.from({ length: 100 }, (_, n) => ({ data: `orphan ${n}` })),
    );
    await deadLetter(source, dlq, "behind the orphans", "late-1");

    expect(await redrive(dlq)).toEqual({ moved: 1, skipped: 100 });
    expect((await pull(source))[0]).toMatchObject({ id: "late-1", data: "behind the orphans", attempt: 1 });
    expect((await stats(dlq)).ready).toBe(100);
  });

  it("moves at most `max` messages and leaves leased ones", async () => {
    const source = uniqueName("redrive-max");
    const dlq = `${source}-dlq`;
    await configureQueue(source, { ...FAST, maxAttempts: 1 });
    for (const n of [1, 2, 3]) await deadLetter(source, dlq, n, `m-${n}`);
    // One dead letter is being inspected (leased) on the DLQ: it stays.
    const [inspected] = await pull(dlq);
    expect(inspected).toMatchObject({ id: "m-1" });

    expect(await redrive(dlq, { max: 1 })).toEqual({ moved: 1, skipped: 0 });
    expect(await redrive(dlq)).toEqual({ moved: 1, skipped: 0 });
    expect((await pull(source, { max: 10 })).map((message) => message.id)).toEqual(["m-2", "m-3"]);
    expect(await stats(dlq)).toMatchObject({ inFlight: 1, ready: 0 });
  });

  it("answers 503 with the cause when the target cannot store the messages, and keeps them", async () => {
    const dlq = uniqueName("redrive-refused-dlq");
    const target = uniqueName("redrive-refused");
    await enqueue(dlq, { data: "stays", id: "stays-1" });
    await refuseInserts(target);
    const refused = await expectError(await api(`/v1/queues/${dlq}/redrive`, { body: { to: target } }), 503, "internal_error");
    expect(refused.error.message).toContain(`redrive to ${target} failed`);
    expect(refused.error.message).toContain("queue refuses messages");
    expect(await stats(dlq)).toMatchObject({ ready: 1, inFlight: 0 });
    await acceptInserts(target);
    expect(await redrive(dlq, { to: target })).toEqual({ moved: 1, skipped: 0 });
    expect((await pull(target))[0]).toMatchObject({ id: "stays-1", data: "stays" });
  });
});
