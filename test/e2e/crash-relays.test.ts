/**
 * Relays under SIGKILL (issue 11): subscribers held by a topic's relays follow it while
 * publishers keep publishing and the server's process group is killed mid-stream, twice, and
 * restarted on the same state. A kill takes the relays down with everything else; their
 * subscribers reconnect with `after` (to whichever relay the worker picks) and the relay
 * catches up from the topic's log: each ends with 1..end, no gap, no duplicate, in order.
 */
import { describe, expect, it } from "vitest";
import { call, uniqueName, type PublishResult } from "./clients";
import { useCrashableServer } from "./chaos";
import { publishLoop, TopicFollower, type PublishRecord } from "./resilient";
import { pollUntil, range } from "./wait";

const KILLS = 2;
const FOLLOWERS = 12;
const server = useCrashableServer("crash-relays");

describe("relays under repeated SIGKILL", () => {
  it("bring every subscriber back to the complete sequence after each kill", { timeout: 180_000 }, async () => {
    const topic = uniqueName("crash-relayed");
    await call(server, "PUT", `/v1/topics/${topic}`, { relays: 3 }, 200);
    const followers = range(1, FOLLOWERS).map((index) => new TopicFollower(server, topic, `relay follower ${index}`));
    await Promise.all(followers.map((follower) => follower.socket.start()));
    const records: PublishRecord[] = [];
    let stopped = false;
    const next = { n: 0 };
    const acked = () => records.reduce((sum, record) => sum + (record.outcome === "acked" ? record.ids.length : 0), 0);
    const publishers = range(0, 1).map((publisher) =>
      publishLoop(server, {
        publisher,
        pathFor: () => `/v1/topics/${topic}/messages`,
        next,
        idPrefix: uniqueName("r"),
        size: () => (server.random() < 0.5 ? 1 : server.between(2, 10)),
        stop: () => stopped,
        record: (record) => records.push(record),
      }),
    );
    await server.crashRepeatedly({ kills: KILLS, progress: acked, minStep: 100, maxStep: 400, timeoutMs: 60_000 });
    const settledAt = acked() + 100;
    await pollUntil(async () => (acked() >= settledAt ? true : undefined), 60_000, () => `100 more acknowledged after the last kill; have ${acked()} of ${settledAt}`, 10);
    stopped = true;
    await Promise.all(publishers);
    expect(server.kills).toBe(KILLS);

    const end = (await call<PublishResult>(server, "POST", `/v1/topics/${topic}/messages`, { data: "end" }, 201)).seq;
    for (const follower of followers) {
      await follower.waitForSeq(end, 60_000);
      expect(follower.seqs, `${follower.socket.label}: complete, in order, no duplicate`).toEqual(range(1, end));
      expect(follower.socket.connections, `${follower.socket.label} reconnected after each kill`).toBeGreaterThan(KILLS);
    }
    await Promise.all(followers.map((follower) => follower.socket.close()));
  });
});
