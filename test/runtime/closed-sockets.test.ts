/**
 * An object never throws on a socket that has closed (issue 15): a frame that arrives after the
 * object closed the socket (a bad frame, a rate limit) or after the client hung up is answered
 * by nothing. (Fan-out and consumer dispatch already skip sockets that are not open.) Each case
 * closes the real hibernatable socket inside the real object, then drives the object's own
 * handler on it.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { QueueObject } from "../../src/queue/queue-object";
import type { TopicObject } from "../../src/topic/topic-object";
import { TestSocket, api, uniqueName } from "./helpers";

/** Close every socket the object holds from its side, then run `act` with the first of them. */
async function onClosedSocket<T extends TopicObject | QueueObject>(stub: DurableObjectStub<T>, act: (instance: T, socket: WebSocket) => Promise<unknown>): Promise<void> {
  await runInDurableObject(stub, async (instance, state) => {
    const sockets = state.getWebSockets();
    expect(sockets.length, "the object holds the test's socket").toBe(1);
    const socket = sockets[0]!;
    socket.close(4000, "closed by the test");
    expect(socket.readyState, "closed").not.toBe(WebSocket.READY_STATE_OPEN);
    await act(instance, socket);
  });
}

describe("frames on a closed socket", () => {
  it("topic: an invalid frame, an unsupported frame and a token renewal after close resolve without throwing", async () => {
    const topic = uniqueName("closed-sub");
    await api(`/v1/topics/${topic}/messages`, { body: { data: 1 } });
    const client = await TestSocket.open(`/v1/topics/${topic}/subscribe?after=0`);
    await client.waitFor((socket) => socket.messages().length === 1, "the first message");
    await onClosedSocket(env.TOPIC.getByName(topic), async (instance, socket) => {
      await expect(instance.webSocketMessage(socket, "not json")).resolves.toBeUndefined();
      await expect(instance.webSocketMessage(socket, JSON.stringify({ type: "hello" }))).resolves.toBeUndefined();
      await expect(instance.webSocketMessage(socket, JSON.stringify({ type: "token", token: "test-root-key" }))).resolves.toBeUndefined();
    });
  });

  it("queue: an ack, an invalid frame and a bad consumer frame after close resolve without throwing", async () => {
    const queue = uniqueName("closed-consumer");
    await api(`/v1/queues/${queue}/messages`, { body: { data: 1 } });
    const client = await TestSocket.open(`/v1/queues/${queue}/consume?prefetch=1`);
    await client.waitFor((socket) => socket.messages().length === 1, "the leased message");
    const leaseId = String(client.messages()[0]!.leaseId);
    await onClosedSocket(env.QUEUE.getByName(queue), async (instance, socket) => {
      await expect(instance.webSocketMessage(socket, JSON.stringify({ type: "ack", leaseId }))).resolves.toBeUndefined();
      await expect(instance.webSocketMessage(socket, "not json")).resolves.toBeUndefined();
      await expect(instance.webSocketMessage(socket, JSON.stringify({ type: "ack" }))).resolves.toBeUndefined();
    });
  });
});
