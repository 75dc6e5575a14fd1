/**
 * DELETE of topics and queues: state, alarm and sockets go, bindings end both ways, the name
 * leaves the listings and starts afresh; 404 when there was nothing.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { mint } from "./auth-helpers";
import { api, json, TestSocket, uniqueName } from "./helpers";
import { bindQueue, configureQueue, enqueue, eventually, expectError, expectStatus, FAST, publish, pull, queueStub, stats, topicStub, waitForEnqueued } from "./queue-helpers";
import { publishOk, stats as topicStats } from "./topic-helpers";

async function listed(kind: "topics" | "queues", name: string): Promise<boolean> {
  const response = await api(`/v1/${kind}?limit=1000`);
  await expectStatus(response, 200, `list ${kind}`);
  const body = await json<Record<string, { name: string }[]>>(response);
  return (body[kind] ?? []).some((entry) => entry.name === name);
}

function remove(kind: "topics" | "queues", name: string, auth?: string): Promise<Response> {
  return api(`/v1/${kind}/${name}`, { method: "DELETE", ...(auth === undefined ? {} : { auth }) });
}

describe("deleting a queue", () => {
  it("removes messages, settings, counters and the alarm; the name starts afresh with seq 1", async () => {
    const queue = uniqueName("del-q");
    await configureQueue(queue, { maxAttempts: 3, visibilityTimeoutSeconds: 7 });
    await enqueue(queue, { data: 1, id: "same-id" });
    await enqueue(queue, { data: 2, delaySeconds: 600 });
    await pull(queue);
    await eventually(async () => ((await listed("queues", queue)) ? true : undefined), `${queue} listed`);

    const response = await remove("queues", queue);
    await expectStatus(response, 200, "delete queue");
    expect(await json(response)).toEqual({ name: queue, deleted: true });
    expect(await listed("queues", queue)).toBe(false);
    const alarm = await runInDurableObject(queueStub(queue), (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBeNull();

    // The same in-memory object instance answers: nothing of the old state may survive in it.
    const fresh = await stats(queue);
    expect(fresh).toMatchObject({ ready: 0, inFlight: 0, delayed: 0, enqueued: 0, acked: 0, lastSeq: 0 });
    expect(fresh.config).toMatchObject({ maxAttempts: 5, visibilityTimeoutSeconds: 30, deadLetterQueue: `${queue}-dlq` });
    // The old idempotency key is gone too: the same id is a new message.
    const again = await enqueue(queue, { data: "new", id: "same-id" });
    expect(again.seq).toBe(1);
    expect((await pull(queue)).map((message) => message.data)).toEqual(["new"]);
    await eventually(async () => ((await listed("queues", queue)) ? true : undefined), `${queue} listed again`);
  });

  it("answers 404 when there is nothing, and for a second delete", async () => {
    const queue = uniqueName("del-q-none");
    await expectError(await remove("queues", queue), 404, "not_found");
    await enqueue(queue, { data: 1 });
    await expectStatus(await remove("queues", queue), 200, "first delete");
    await expectError(await remove("queues", queue), 404, "not_found");
  });

  it("needs the admin scope", async () => {
    const queue = uniqueName("del-q-auth");
    await enqueue(queue, { data: 1 });
    const token = await mint({ consume: ["*"], publish: ["*"] });
    await expectError(await remove("queues", queue, token), 403, "forbidden");
    await expectError(await remove("queues", queue, "wrong"), 401, "unauthorized");
    expect((await stats(queue)).ready).toBe(1);
  });

  it("closes consumer sockets with 1001 and answers waiting pulls empty", async () => {
    const queue = uniqueName("del-q-sockets");
    await enqueue(queue, { data: 1 });
    const consumer = await TestSocket.open(`/v1/queues/${queue}/consume?prefetch=1`);
    await consumer.waitForMessages(1);
    const waiting = api(`/v1/queues/${queue}/pull`, { body: { waitSeconds: 15 } });
    await eventually(async () => ((await stats(queue)).pullsWaiting === 1 ? true : undefined), "a waiting pull");
    await expectStatus(await remove("queues", queue), 200, "delete");
    await consumer.waitFor((socket) => socket.closed !== null, "the consumer socket to close");
    expect(consumer.closed!.code).toBe(1001);
    const answer = await waiting;
    await expectStatus(answer, 200, "the waiting pull");
    expect(await json(answer)).toEqual({ messages: [] });
  });

  it("ends topic bindings to it: the topic stops forwarding", async () => {
    const topic = uniqueName("del-q-topic");
    const queue = uniqueName("del-q-bound");
    await bindQueue(topic, queue);
    await publish(topic, [{ data: "before" }]);
    await waitForEnqueued(queue, 1, { topic });

    await expectStatus(await remove("queues", queue), 200, "delete bound queue");
    expect((await topicStats(topic)) as unknown).toMatchObject({ subscriptions: [] });
    await publish(topic, [{ data: "after" }]);
    await runInDurableObject(topicStub(topic), async (_instance, state) => {
      expect(state.storage.sql.exec("SELECT COUNT(*) AS n FROM outbox").one().n).toBe(0);
    });
    expect((await stats(queue)).enqueued).toBe(0);
  });
});

describe("deleting a topic", () => {
  it("removes the log, settings and alarm; closes subscribers with 1001; seq starts at 1 again", async () => {
    const topic = uniqueName("del-t");
    await api(`/v1/topics/${topic}`, { method: "PUT", body: { retentionMessages: 5 } });
    for (let n = 1; n <= 3; n++) await publishOk(topic, { data: n, id: `m${n}` });
    const subscriber = await TestSocket.open(`/v1/topics/${topic}/subscribe?after=0`);
    await subscriber.waitForMessages(3);
    await eventually(async () => ((await listed("topics", topic)) ? true : undefined), `${topic} listed`);

    const response = await remove("topics", topic);
    await expectStatus(response, 200, "delete topic");
    expect(await json(response)).toEqual({ name: topic, deleted: true });
    await subscriber.waitFor((socket) => socket.closed !== null, "the subscriber to close");
    expect(subscriber.closed!.code).toBe(1001);
    expect(await listed("topics", topic)).toBe(false);
    const alarm = await runInDurableObject(topicStub(topic), (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBeNull();

    const fresh = await topicStats(topic);
    expect(fresh).toMatchObject({ lastSeq: 0, retainedMessages: 0, subscribers: 0 });
    expect(fresh.config.retentionMessages).not.toBe(5);
    expect(await publishOk(topic, { data: "new", id: "m1" })).toMatchObject({ seq: 1 });
    const history = await json<{ messages: { data: unknown }[] }>(await api(`/v1/topics/${topic}/messages?after=0`));
    expect(history.messages.map((message) => message.data)).toEqual(["new"]);
    await expectStatus(await remove("topics", topic), 200, "delete again");
    await expectError(await remove("topics", topic), 404, "not_found");
  });

  it("ends its bindings; a topic created afresh under the name forwards from seq 1 to a queue bound again", async () => {
    const topic = uniqueName("del-t-bound");
    const queue = uniqueName("del-t-queue");
    await configureQueue(queue, FAST);
    await bindQueue(topic, queue);
    await publish(topic, [{ data: "a" }, { data: "b" }, { data: "c" }]);
    await waitForEnqueued(queue, 3, { topic });

    await expectStatus(await remove("topics", topic), 200, "delete topic");
    expect((await topicStats(topic)) as unknown).toMatchObject({ subscriptions: [] });
    // The queue forgot the old topic's forwarding mark: seqs 1.. of the new topic are new.
    await bindQueue(topic, queue);
    await publish(topic, [{ data: "new-1" }, { data: "new-2" }]);
    await waitForEnqueued(queue, 5, { topic });
    const got = await pull(queue, { max: 10 });
    expect(got.map((message) => message.data)).toEqual(["a", "b", "c", "new-1", "new-2"]);
  });

  it("answers 404 for a topic that never existed", async () => {
    await expectError(await remove("topics", uniqueName("del-t-none")), 404, "not_found");
  });
});
