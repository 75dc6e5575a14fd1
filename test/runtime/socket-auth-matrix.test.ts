/**
 * Authorization matrix for WebSocket frames. Frames ride on the credential checked at connect;
 * the token frame brings a new one. For each kind of credential in a token frame, on subscriber
 * and consumer sockets: invalid ones close 4401, out of scope 4403, valid ones renew. And every
 * consumer frame type on a socket whose credential has expired closes 4401 without acting.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { beforeExpiry, credentials, untilExpired } from "./auth-helpers";
import { api, json, TestSocket, uniqueName } from "./helpers";

const topic = uniqueName("fmx.t");
const queue = uniqueName("fmx.q");
let creds: Awaited<ReturnType<typeof credentials>>;

beforeAll(async () => {
  const mine = [topic, queue];
  creds = await credentials({ subscribe: mine, consume: mine }, { subscribe: ["other.*"], consume: ["other.*"] });
});

const expectedClose = { garbage: 4401, wrongSignature: 4401, algNone: 4401, expired: 4401, outOfScope: 4403 } as const;

describe.each([
  { socket: "subscriber", path: () => `/v1/topics/${topic}/subscribe` },
  { socket: "consumer", path: () => `/v1/queues/${queue}/consume?prefetch=1` },
])("token frame on a $socket socket", ({ path }) => {
  it.each(Object.keys(expectedClose) as (keyof typeof expectedClose)[])("with %s credentials closes the socket", async (kind) => {
    const socket = await TestSocket.open(path());
    socket.send({ type: "token", token: creds[kind] });
    await socket.waitFor((s) => s.closed !== null, `close after a ${kind} token`);
    expect(socket.closed!.code).toBe(expectedClose[kind]);
  });

  it.each(["inScope", "root"] as const)("with %s credentials renews", async (kind) => {
    const socket = await TestSocket.open(path());
    socket.send({ type: "token", token: creds[kind] });
    await socket.waitFor((s) => s.frames.some((frame) => frame.type === "token"), "the renewal answer");
    expect(socket.frames.find((frame) => frame.type === "token")).toMatchObject({ ok: true });
    expect(socket.closed).toBeNull();
    socket.close();
  });
});

describe("consumer frames after the credential expired", () => {
  it.each(["ack", "nack", "extend"] as const)("%s closes 4401 and changes nothing", async (type) => {
    const name = uniqueName("fmx.exp");
    let enqueued = false;
    let previous: TestSocket | undefined;
    const { result: consumer, expiresAt } = await beforeExpiry({ consume: [name] }, async (token) => {
      // A consumer from a missed attempt gives its lease back as it goes.
      previous?.close();
      const consumer = (previous = await TestSocket.open(`/v1/queues/${name}/consume?prefetch=1`, token));
      if (!enqueued) expect((await api(`/v1/queues/${name}/messages`, { body: { data: type } })).status).toBe(201);
      enqueued = true;
      await consumer.waitForMessages(1);
      return consumer;
    });
    const leaseId = consumer.messages()[0]!.leaseId as string;
    await untilExpired(expiresAt);
    consumer.send({ type, leaseId, visibilityTimeoutSeconds: 60 });
    await consumer.waitFor((s) => s.closed !== null, "the consumer to be closed");
    expect(consumer.closed!.code).toBe(4401);
    expect(consumer.frames.some((frame) => frame.type === "result")).toBe(false);
    // The message was not acked: it is still in the queue (released to be delivered again).
    const stats = await json<{ acked: number; ready: number; inFlight: number; delayed: number }>(await api(`/v1/queues/${name}`));
    expect(stats.acked).toBe(0);
    expect(stats.ready + stats.inFlight + stats.delayed).toBe(1);
  });
});
