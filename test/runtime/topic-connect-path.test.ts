/**
 * The topic's connect path without per-connect scans (issue 11, reconnect storms): a
 * subscriber with nothing to replay is live from its first attachment, one behind is not
 * until its replay catches up, and the subscriber limit is judged by an in-memory bound that
 * a socket reported closed twice does not lower below the truth.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SubscriberState } from "../../src/topic/subscribers";
import type { TopicObject } from "../../src/topic/topic-object";
import { TestSocket, uniqueName } from "./helpers";
import { publishMany } from "./topic-helpers";

interface FanoutView {
  hasRoomFor(limit: number): boolean;
}

const fanoutOf = (instance: TopicObject) => (instance as unknown as { fanout: FanoutView }).fanout;
const states = (state: DurableObjectState) => state.getWebSockets().map((socket) => socket.deserializeAttachment() as SubscriberState);

describe("topic connect path", () => {
  it("a subscriber at the head is live at once; one behind goes live through its replay, with every message once", async () => {
    const topic = uniqueName("connect-live");
    const last = await publishMany(topic, 30);
    const atHead = await TestSocket.open(`/v1/topics/${topic}/subscribe`);
    const resumed = await TestSocket.open(`/v1/topics/${topic}/subscribe?after=${last}`);
    const stub = env.TOPIC.getByName(topic);
    await runInDurableObject(stub, async (_instance, state) => {
      const live = states(state);
      expect(live).toHaveLength(2);
      for (const subscriber of live) expect(subscriber).toMatchObject({ live: true, after: last, cursor: last });
    });

    const behind = await TestSocket.open(`/v1/topics/${topic}/subscribe?after=10`);
    await behind.waitForMessages(20);
    await publishMany(topic, 5, 31);
    for (const client of [atHead, resumed]) await client.waitForMessages(5);
    await behind.waitForMessages(25);
    expect(atHead.messages().map((frame) => frame.seq)).toEqual([31, 32, 33, 34, 35]);
    expect(resumed.messages().map((frame) => frame.seq)).toEqual([31, 32, 33, 34, 35]);
    expect(behind.messages().map((frame) => frame.seq)).toEqual(Array.from({ length: 25 }, (_, index) => 11 + index));
    await runInDurableObject(stub, async (_instance, state) => {
      for (const subscriber of states(state)) expect(subscriber.live).toBe(true);
    });
  });

  it("judges the subscriber limit exactly, and a socket reported closed twice is taken off once", async () => {
    const topic = uniqueName("connect-limit");
    for (let index = 0; index < 3; index++) await TestSocket.open(`/v1/topics/${topic}/subscribe`);
    await runInDurableObject(env.TOPIC.getByName(topic), async (instance, state) => {
      const fanout = fanoutOf(instance);
      expect(fanout.hasRoomFor(4), "3 subscribers, limit 4").toBe(true);
      expect(fanout.hasRoomFor(3), "3 subscribers, limit 3").toBe(false);
      // Close and error for one socket: the bound goes from 3 to 2, not 1.
      const socket = state.getWebSockets()[0]!;
      await instance.webSocketClose(socket, 1000, "test");
      await instance.webSocketError(socket);
      await instance.webSocketClose(socket, 1000, "test");
      expect(fanout.hasRoomFor(3), "2 left, limit 3").toBe(true);
      expect(fanout.hasRoomFor(2), "2 left, limit 2").toBe(false);
    });
  });
});
