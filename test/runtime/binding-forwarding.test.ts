/** Topic-to-queue bindings: every message published after the bind reaches the queue, in order, once. */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { QueueObject } from "../../src/queue/queue-object";
import { api, json, uniqueName } from "./helpers";
import {
  acceptInserts,
  bindQueue,
  eventually,
  expectError,
  pull,
  publish,
  queueStub,
  refuseInserts,
  stats,
  topicStub,
  unbindQueue,
  waitForEnqueued,
  type LeasedMessage,
  type TopicMessageBody,
} from "./queue-helpers";

/** Everything ready on the queue, oldest first (forwarded messages are never delayed). */
async function drain(queue: string): Promise<LeasedMessage[]> {
  const all: LeasedMessage[] = [];
  for (;;) {
    const batch = await pull(queue, { max: 100 });
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

describe("topic-to-queue bindings", () => {
  it("forwards every message to each bound queue, in order, with the topic's ids", async () => {
    const topic = uniqueName("bind-topic");
    const orders = uniqueName("bind-orders");
    const audit = uniqueName("bind-audit");
    const bound = await bindQueue(topic, orders);
    expect(bound).toMatchObject({ topic, queue: orders, fromSeq: 1 });
    await bindQueue(topic, audit);

    const published = [
      ...(await publish(topic, [{ data: { n: 0 }, id: "first", attributes: { kind: "a" } }])),
      ...(await publish(
        topic,
        Array.from({ length: 20 }, (_, n) => ({ data: { n: n + 1 } })),
      )),
      ...(await publish(topic, [{ data: { n: 21 } }])),
    ];
    expect(published).toHaveLength(22);

    for (const queue of [orders, audit]) {
      await waitForEnqueued(queue, 22);
      const received = await drain(queue);
      expect(received.map((message) => message.id)).toEqual(published.map((result) => result.id));
      expect(received.map((message) => message.data)).toEqual(Array.from({ length: 22 }, (_, n) => ({ n })));
      expect(received[0]).toMatchObject({ id: "first", attributes: { kind: "a" }, attempt: 1 });
    }
    const topicStats = await json<{ subscriptions: { queue: string }[] }>(await api(`/v1/topics/${topic}`));
    expect(topicStats.subscriptions.map((subscription) => subscription.queue).sort()).toEqual([orders, audit].sort());
  });

  it("forwards only messages whose attributes match the filter", async () => {
    const topic = uniqueName("bind-filter");
    const onlyA = uniqueName("bind-only-a");
    const everything = uniqueName("bind-all");
    await bindQueue(topic, onlyA, { kind: "a" });
    await bindQueue(topic, everything);
    const messages: TopicMessageBody[] = [
      { data: 1, attributes: { kind: "a" } },
      { data: 2, attributes: { kind: "b" } },
      { data: 3 },
      { data: 4, attributes: { kind: "a", extra: "yes" } },
      { data: 5, attributes: { kind: "A" } },
    ];
    await publish(topic, messages);
    await waitForEnqueued(everything, 5);
    await waitForEnqueued(onlyA, 2);
    expect((await drain(onlyA)).map((message) => message.data)).toEqual([1, 4]);
  });

  it("does not forward messages published before the bind", async () => {
    const topic = uniqueName("bind-late");
    const queue = uniqueName("bind-late-queue");
    await publish(topic, [{ data: "old 1" }, { data: "old 2" }]);
    expect(await bindQueue(topic, queue)).toMatchObject({ fromSeq: 3 });
    await publish(topic, [{ data: "new 1" }, { data: "new 2" }]);
    await waitForEnqueued(queue, 2, { topic });
    expect((await drain(queue)).map((message) => message.data)).toEqual(["new 1", "new 2"]);
  });

  it("stops forwarding after DELETE unbinds the queue", async () => {
    const topic = uniqueName("unbind");
    const leaving = uniqueName("unbind-leaving");
    const staying = uniqueName("unbind-staying");
    await bindQueue(topic, leaving);
    await bindQueue(topic, staying);
    await publish(topic, [{ data: "before" }]);
    await waitForEnqueued(leaving, 1);

    const removed = await unbindQueue(topic, leaving);
    expect(removed.status).toBe(200);
    expect(await json(removed)).toEqual({ topic, queue: leaving, removed: true });
    await expectError(await unbindQueue(topic, leaving), 404, "not_found");

    await publish(topic, [{ data: "after" }]);
    // The queue still bound received it, and the topic's alarm has nothing owed to the other.
    await waitForEnqueued(staying, 2, { topic });
    await runDurableObjectAlarm(topicStub(topic));
    expect((await stats(leaving)).enqueued).toBe(1);
    expect((await drain(leaving)).map((message) => message.data)).toEqual(["before"]);
    const owed = await runInDurableObject(topicStub(topic), (_instance, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").one().n,
    );
    expect(owed).toBe(0);
  });

  it("retries forwarding a queue that failed, in order, and stores each message once however often the alarm runs", async () => {
    const topic = uniqueName("bind-retry");
    const queue = uniqueName("bind-retry-queue");
    await bindQueue(topic, queue);
    await refuseInserts(queue);
    const published = await publish(
      topic,
      Array.from({ length: 5 }, (_, n) => ({ data: n })),
    );
    // The immediate send fails; the outbox keeps the messages for the alarm.
    await eventually(
      async () => {
        const attempts = await runInDurableObject(topicStub(topic), (_instance, state) =>
          state.storage.sql.exec<{ attempts: number | null }>("SELECT MAX(attempts) AS attempts FROM outbox").one().attempts,
        );
        return attempts !== null && attempts >= 1 ? true : undefined;
      },
      "a failed forwarding attempt to be recorded",
    );
    expect((await stats(queue)).enqueued).toBe(0);

    await acceptInserts(queue);
    await waitForEnqueued(queue, 5, { topic, timeoutMs: 8000 });
    for (let run = 0; run < 3; run++) await runDurableObjectAlarm(topicStub(topic));
    await publish(topic, [{ data: "after the retry" }]);
    await waitForEnqueued(queue, 6, { topic });

    const received = await drain(queue);
    expect(received.map((message) => message.data)).toEqual([0, 1, 2, 3, 4, "after the retry"]);
    expect(received.slice(0, 5).map((message) => message.id)).toEqual(published.map((result) => result.id));
  });

  it("stores a repeated forward of the same topic seq once (queue-side deduplication)", async () => {
    const queue = uniqueName("bind-dedup");
    const stub = queueStub(queue) as unknown as DurableObjectStub<QueueObject>;
    const forwarded = { key: "t:some-topic:1", id: "topic-message-1", data: "{}", attributes: null, source: null };
    expect(await stub.transfer([forwarded])).toEqual({ ok: true, value: 1 });
    expect(await stub.transfer([forwarded, { ...forwarded, key: "t:some-topic:2", id: "topic-message-2" }])).toEqual({ ok: true, value: 1 });
    expect((await drain(queue)).map((message) => message.id)).toEqual(["topic-message-1", "topic-message-2"]);
  });

  it("answers a transfer its queue cannot store as a value with the cause, not a rejection (issue 15)", async () => {
    const queue = uniqueName("bind-refused");
    const stub = queueStub(queue) as unknown as DurableObjectStub<QueueObject>;
    await refuseInserts(queue);
    const refused = await stub.transfer([{ key: "t:some-topic:1", id: "topic-message-1", data: "{}", attributes: null, source: null }]);
    expect(refused).toMatchObject({ ok: false, status: 500, code: "internal_error" });
    expect(refused.ok ? "" : refused.message).toContain("queue refuses messages");
    expect((await stats(queue)).enqueued).toBe(0);
    // Nothing was claimed: the same message is stored once the queue accepts it.
    await acceptInserts(queue);
    expect(await stub.transfer([{ key: "t:some-topic:1", id: "topic-message-1", data: "{}", attributes: null, source: null }])).toEqual({ ok: true, value: 1 });
  });
});
