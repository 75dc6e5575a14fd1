/**
 * Credentials on open sockets: a subscriber whose token expires is closed with 4401 at its
 * next delivery or frame; a token frame renews it in band; a token out of scope closes 4403.
 * Frame limits: too many frames per second close 4429, oversized frames 4400.
 */
import { describe, expect, it } from "vitest";
import { beforeExpiry, mint, untilExpired } from "./auth-helpers";
import { api, TestSocket, uniqueName } from "./helpers";

async function publish(topic: string, data: unknown): Promise<void> {
  expect((await api(`/v1/topics/${topic}/messages`, { body: { data } })).status).toBe(201);
}

describe("credentials on open sockets", () => {
  it("closes a subscriber with 4401 once its token has expired", async () => {
    const topic = uniqueName("sock.expire");
    let published = 0;
    let previous: TestSocket | undefined;
    const { result: socket, expiresAt } = await beforeExpiry({ subscribe: [topic] }, async (token) => {
      previous?.close();
      const socket = (previous = await TestSocket.open(`/v1/topics/${topic}/subscribe?after=${published}`, token));
      await publish(topic, "before expiry");
      published++;
      await socket.waitForMessages(1);
      return socket;
    });
    await untilExpired(expiresAt);
    await publish(topic, "after expiry");
    await socket.waitFor((s) => s.closed !== null, "the socket to close", 5000);
    expect(socket.closed!.code).toBe(4401);
    expect(socket.messages().map((frame) => frame.data)).toEqual(["before expiry"]);
  });

  it("keeps a subscriber that renews its token in band", async () => {
    const topic = uniqueName("sock.renew");
    const renewal = await mint({ subscribe: ["sock.*"] }, 60);
    const { result: socket, expiresAt } = await beforeExpiry({ subscribe: [topic] }, async (token) => {
      const socket = await TestSocket.open(`/v1/topics/${topic}/subscribe?after=0`, token);
      socket.send({ type: "token", token: renewal });
      await socket.waitFor((s) => s.frames.some((frame) => frame.type === "token" && frame.ok === true), "the renewal to be confirmed");
      return socket;
    });
    await untilExpired(expiresAt);
    await publish(topic, "after the first token expired");
    await socket.waitForMessages(1);
    expect(socket.closed).toBeNull();
    socket.close();
  });

  it("closes with 4403 when the renewal token does not cover the topic, and 4401 when it is not valid", async () => {
    const topic = uniqueName("sock.scope");
    const outOfScope = await TestSocket.open(`/v1/topics/${topic}/subscribe`, await mint({ subscribe: [topic] }, 60));
    outOfScope.send({ type: "token", token: await mint({ subscribe: ["elsewhere"] }, 60) });
    await outOfScope.waitFor((s) => s.closed !== null, "close for out of scope");
    expect(outOfScope.closed!.code).toBe(4403);
    const invalid = await TestSocket.open(`/v1/topics/${topic}/subscribe`, await mint({ subscribe: [topic] }, 60));
    invalid.send({ type: "token", token: "garbage" });
    await invalid.waitFor((s) => s.closed !== null, "close for an invalid token");
    expect(invalid.closed!.code).toBe(4401);
  });
});

describe("frame limits", () => {
  it("closes a socket that sends too many frames per second with 4429", async () => {
    const topic = uniqueName("sock.flood");
    const socket = await TestSocket.open(`/v1/topics/${topic}/subscribe`);
    for (let index = 0; index < 400; index++) socket.send({ type: "hello", index });
    await socket.waitFor((s) => s.closed !== null, "close for flooding", 10_000);
    expect(socket.closed!.code).toBe(4429);
  });

  it("never cuts off a consumer for acking fast: frames that settle a live lease do not count", async () => {
    const queue = uniqueName("sock.fast");
    const count = 600;
    await api(`/v1/queues/${queue}/messages`, { body: { messages: Array.from({ length: 100 }, (_, index) => ({ data: index })) } });
    for (let batch = 1; batch < count / 100; batch++) {
      await api(`/v1/queues/${queue}/messages`, { body: { messages: Array.from({ length: 100 }, (_, index) => ({ data: batch * 100 + index })) } });
    }
    const consumer = await TestSocket.open(`/v1/queues/${queue}/consume?prefetch=${count}`);
    await consumer.waitForMessages(count, 10_000);
    // Well over the 200 frames a second allowed for frames that do no work.
    for (const frame of consumer.messages()) consumer.send({ type: "ack", leaseId: frame.leaseId });
    await consumer.waitFor((s) => s.frames.filter((frame) => frame.type === "result").length >= count || s.closed !== null, "every ack answered", 15_000);
    expect(consumer.closed).toBeNull();
    expect(consumer.frames.filter((frame) => frame.type === "result" && frame.status === "acked")).toHaveLength(count);
    consumer.close();
  });

  it("closes a socket that sends an oversized frame with 4400, and the topic keeps serving", async () => {
    const topic = uniqueName("sock.big");
    const socket = await TestSocket.open(`/v1/topics/${topic}/subscribe`);
    socket.send({ type: "token", token: "x".repeat(20_000) });
    await socket.waitFor((s) => s.closed !== null, "close for a big frame");
    expect(socket.closed!.code).toBe(4400);
    await publish(topic, "still here");
    const fresh = await TestSocket.open(`/v1/topics/${topic}/subscribe?after=0`);
    await fresh.waitForMessages(1);
    fresh.close();
  });
});

describe("credentials on consumer sockets", () => {
  it("closes an expired consumer with 4401 and gives its leases to others", async () => {
    const queue = uniqueName("sock.q");
    await api(`/v1/queues/${queue}`, { method: "PUT", body: { backoff: { minSeconds: 0.1, maxSeconds: 0.2 } } });
    let enqueued = false;
    let previous: TestSocket | undefined;
    const { result: consumer, expiresAt } = await beforeExpiry({ consume: [queue] }, async (token) => {
      // A consumer from a missed attempt gives its lease back as it goes.
      previous?.close();
      const consumer = (previous = await TestSocket.open(`/v1/queues/${queue}/consume?prefetch=1`, token));
      if (!enqueued) expect((await api(`/v1/queues/${queue}/messages`, { body: { data: "job" } })).status).toBe(201);
      enqueued = true;
      await consumer.waitForMessages(1);
      return consumer;
    });
    await untilExpired(expiresAt);
    // Any change to the queue notices the expiry: here a second enqueue.
    await api(`/v1/queues/${queue}/messages`, { body: { data: "job 2" } });
    await consumer.waitFor((s) => s.closed !== null, "the consumer to be closed");
    expect(consumer.closed!.code).toBe(4401);
    const other = await TestSocket.open(`/v1/queues/${queue}/consume?prefetch=5`);
    await other.waitForMessages(2, 5000);
    expect(other.messages().map((frame) => frame.data).sort()).toEqual(["job", "job 2"]);
    other.close();
  });

  it("keeps a consumer that renews its token, and refuses a renewal for another queue", async () => {
    const queue = uniqueName("sock.qr");
    const renewal = await mint({ consume: [queue] }, 60);
    const { result: consumer, expiresAt } = await beforeExpiry({ consume: [queue] }, async (token) => {
      const consumer = await TestSocket.open(`/v1/queues/${queue}/consume?prefetch=1`, token);
      consumer.send({ type: "token", token: renewal });
      await consumer.waitFor((s) => s.frames.some((frame) => frame.type === "token" && frame.ok === true), "renewal confirmed");
      return consumer;
    });
    await untilExpired(expiresAt);
    await api(`/v1/queues/${queue}/messages`, { body: { data: "after renewal" } });
    await consumer.waitForMessages(1);
    consumer.send({ type: "token", token: await mint({ consume: ["other"] }, 60) });
    await consumer.waitFor((s) => s.closed !== null, "close for out of scope");
    expect(consumer.closed!.code).toBe(4403);
  });
});
