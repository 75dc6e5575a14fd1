/**
 * Push deliveries across crashes: the server's process group is SIGKILLed while requests to
 * the receiver are open, and restarted on the same state. Nothing is lost: every message is
 * delivered and acked in the end, and each request that was open when the server died is sent
 * again (at least once) under the same webhook-id.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, uniqueName } from "./clients";
import { useCrashableServer } from "./chaos";
import { Receiver } from "./receiver";
import { pollUntil, range } from "./wait";

const MESSAGES = 40;
const KILLS = 2;

const server = useCrashableServer("crash-push", { vars: { PUSH_ALLOW_HTTP: "true" } });
let receiver: Receiver;

beforeAll(async () => {
  // Each request is held a while, so kills land with several open.
  receiver = await Receiver.start("crash-push", () => ({ status: 200, delayMs: 300 }));
});

afterAll(async () => {
  await receiver?.close();
});

interface Stats {
  ready: number;
  inFlight: number;
  delayed: number;
  acked: number;
  enqueued: number;
  deadLettered: number;
}

describe("push deliveries under SIGKILL", () => {
  it("loses nothing: requests open at a crash are sent again with the same webhook-id, and every message is acked", async () => {
    const queue = uniqueName("crash-push");
    const answer = await call<{ push: { secret: string } }>(
      server,
      "PUT",
      `/v1/queues/${queue}`,
      { maxAttempts: 100, backoff: { minSeconds: 0.2, maxSeconds: 0.4 }, push: { url: receiver.url, maxConcurrency: 5, timeoutSeconds: 5 } },
      200,
    );
    receiver.useSecret(answer.push.secret);
    await call(server, "POST", `/v1/queues/${queue}/messages`, { messages: range(1, MESSAGES).map((n) => ({ data: n, id: `m-${n}` })) }, 201);

    const started = Date.now();
    const cutShort: string[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      await server.killWhen(() => receiver.open >= 3, 30_000, "three push requests are open");
      cutShort.push(...receiver.deliveries.items.filter((delivery) => delivery.answered === null).map((delivery) => delivery.webhookId));
      await server.revive();
      // Wake the queue now rather than when the cut-short leases expire (timeoutSeconds + 5 s):
      // its restart releases them for a retry after the backoff.
      await call(server, "GET", `/v1/queues/${queue}`, undefined, 200);
    }
    expect(cutShort.length).toBeGreaterThanOrEqual(3);

    console.log(`crash-push: ${KILLS} kills done after ${Date.now() - started} ms`);
    let last: Stats | undefined;
    await pollUntil(
      async () => {
        last = await call<Stats>(server, "GET", `/v1/queues/${queue}`, undefined, 200);
        return last.acked === MESSAGES && last.ready + last.inFlight + last.delayed === 0 ? last : undefined;
      },
      60_000,
      () => `all ${MESSAGES} acked; last stats ${JSON.stringify(last)}`,
    );
    console.log(`crash-push: all acked after ${Date.now() - started} ms`);
    expect(last).toMatchObject({ enqueued: MESSAGES, deadLettered: 0 });

    const deliveries = receiver.deliveries.items;
    // Every message reached the receiver and was answered 2xx at least once.
    const answeredIds = new Set(deliveries.filter((delivery) => delivery.answered === 200).map((delivery) => delivery.body.id));
    expect([...answeredIds].sort()).toEqual(range(1, MESSAGES).map((n) => `m-${n}`).sort());
    // Each request cut short by a crash came again under the same webhook-id, with a later attempt.
    for (const webhookId of cutShort) {
      const attempts = deliveries.filter((delivery) => delivery.webhookId === webhookId);
      expect(attempts.length, `deliveries of ${webhookId}`).toBeGreaterThanOrEqual(2);
      expect(attempts.at(-1)!.body.attempt).toBeGreaterThan(attempts[0]!.body.attempt);
    }
    expect(receiver.rejected).toEqual([]);
    expect(receiver.maxOpen).toBeLessThanOrEqual(5);
  });
});
