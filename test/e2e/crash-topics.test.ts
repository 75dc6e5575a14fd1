/**
 * Topics under repeated crashes (issue 7): publishers send single and batch publishes to two
 * topics while WebSocket subscribers follow them; the server's process group is SIGKILLed at
 * random moments, several times, and restarted on the same state. Afterwards every
 * acknowledged publish is in its topic's log exactly once and in order, every request that got
 * no answer is there entirely or not at all, and every subscriber, resuming with `after`, has
 * the complete sequence.
 */
import { describe, expect, it } from "vitest";
import { api, call, readHistory, uniqueName, type PublishResult, type StoredMessage } from "./clients";
import { useCrashableServer } from "./chaos";
import { publishLoop, TopicFollower, type PublishRecord } from "./resilient";
import { pollUntil, range } from "./wait";

const KILLS = 4;
const PUBLISHERS = 6;
const FOLLOWERS_PER_TOPIC = 3;
const DELIVERY_TIMEOUT_MS = 60_000;

const server = useCrashableServer("crash-topics");

const messagesPath = (topic: string) => `/v1/topics/${topic}/messages`;

/** The log as a map from id to the stored messages with that id (more than one is a bug). */
function byId(history: readonly StoredMessage[]): Map<string, StoredMessage[]> {
  const map = new Map<string, StoredMessage[]>();
  for (const message of history) map.set(message.id, [...(map.get(message.id) ?? []), message]);
  return map;
}

describe("topics under repeated SIGKILL", () => {
  it("keeps every acknowledged publish exactly once and in order, never half a batch, and resumed subscribers end complete", async () => {
    const topics = [uniqueName("crash-a"), uniqueName("crash-b")];
    const idPrefix = uniqueName("m");
    const followersOf = new Map(topics.map((topic) => [topic, range(1, FOLLOWERS_PER_TOPIC).map((index) => new TopicFollower(server, topic, `${topic} follower ${index}`))]));
    const followers = [...followersOf.values()].flat();
    await Promise.all(followers.map((follower) => follower.socket.start()));

    // Publisher p always writes to topic p % 2, so its own requests have an order to keep.
    const records: PublishRecord[] = [];
    let stopped = false;
    const next = { n: 0 };
    const ackedMessages = () => records.reduce((sum, record) => sum + (record.outcome === "acked" ? record.ids.length : 0), 0);
    const publishers = range(0, PUBLISHERS - 1).map((publisher) =>
      publishLoop(server, {
        publisher,
        pathFor: () => messagesPath(topics[publisher % 2]!),
        next,
        idPrefix,
        // Half single publishes, half batches of 2-20.
        size: () => (server.random() < 0.5 ? 1 : server.between(2, 20)),
        stop: () => stopped,
        record: (record) => records.push(record),
      }),
    );
    await server.crashRepeatedly({ kills: KILLS, progress: ackedMessages, minStep: 200, maxStep: 800, timeoutMs: 60_000 });
    // Some load on the last process too, then stop.
    const settledAt = ackedMessages() + 200;
    await pollUntil(async () => (ackedMessages() >= settledAt ? true : undefined), 60_000, () => `200 more acknowledged after the last kill; have ${ackedMessages()} of ${settledAt}`, 10);
    stopped = true;
    await Promise.all(publishers);

    const outcomes = { acked: 0, refused: 0, unknown: 0 };
    for (const record of records) outcomes[record.outcome]++;
    console.log(`crash-topics: ${server.kills} kills, ${records.length} requests`, outcomes);
    expect(server.kills).toBe(KILLS);
    // Every kill caught requests in flight: the all-or-nothing rule below was really exercised.
    expect(outcomes.unknown, "requests cut off by the kills").toBeGreaterThan(0);
    expect(records.filter((record) => record.status !== undefined).map((record) => `${record.path}: ${record.status}`), "non-2xx answers").toEqual([]);

    const unanswered = { stored: 0, absent: 0 };
    for (const topic of topics) {
      const path = messagesPath(topic);
      const mine = records.filter((record) => record.path === path);
      const { messages: history, lastSeq } = await readHistory(server, topic);
      expect(history.map((message) => message.seq), `${topic}: the log has no holes`).toEqual(range(1, lastSeq));
      const stored = byId(history);
      const sentIds = new Set(mine.flatMap((record) => record.ids));
      expect([...stored.keys()].filter((id) => !sentIds.has(id)), `${topic}: messages nobody sent`).toEqual([]);
      expect([...stored].filter(([, copies]) => copies.length > 1).map(([id]) => id), `${topic}: stored twice`).toEqual([]);

      for (const record of mine) {
        const present = record.ids.map((id) => stored.get(id)?.[0]);
        if (record.outcome === "acked") {
          // Exactly where the acknowledgement said, with the data sent.
          expect(present.map((message) => message?.seq), `${topic}: acknowledged ${record.ids[0]}...`).toEqual(record.seqs);
          present.forEach((message, index) => expect(message?.data).toEqual({ n: record.ns[index] }));
        } else if (record.outcome === "refused") {
          expect(present.filter(Boolean), `${topic}: a refused request left messages`).toEqual([]);
        } else {
          const count = present.filter(Boolean).length;
          unanswered[count > 0 ? "stored" : "absent"]++;
          expect([0, record.ids.length], `${topic}: request without an answer (${record.ids.length} messages) stored ${count}`).toContain(count);
          // When stored, then in order and together, as one append.
          if (count > 0) expect(present.map((message) => message!.seq)).toEqual(range(present[0]!.seq, present[0]!.seq + count - 1));
        }
      }
      // Each publisher's acknowledged requests hold ascending seqs, in the order it sent them.
      for (let publisher = topics.indexOf(topic); publisher < PUBLISHERS; publisher += 2) {
        const seqs = mine.filter((record) => record.publisher === publisher && record.outcome === "acked").flatMap((record) => record.seqs);
        expect(seqs, `publisher ${publisher}: seqs in sending order`).toEqual([...seqs].sort((a, b) => a - b));
      }

      // Followers: once the end marker arrives, each saw 1..end exactly, the same as the log.
      const end = (await call<PublishResult>(server, "POST", path, { data: "end" }, 201)).seq;
      expect(end).toBe(lastSeq + 1);
      for (const follower of followersOf.get(topic)!) {
        await follower.waitForSeq(end, DELIVERY_TIMEOUT_MS);
        expect(follower.seqs, `${follower.socket.label}: complete, in order, no duplicate`).toEqual(range(1, end));
        const wrong = follower.inbox.items.slice(0, -1).filter((frame) => frame.id !== history[frame.seq - 1]!.id);
        expect(wrong.map((frame) => frame.seq), `${follower.socket.label}: frames that differ from the log`).toEqual([]);
        expect(follower.socket.connections, `${follower.socket.label} reconnected after each kill`).toBeGreaterThan(KILLS);
      }
    }

    console.log("crash-topics: requests without an answer", unanswered);

    // A publisher that retries every unanswered request with the same ids ends with each
    // message stored exactly once: the stored ones are recognised, the others stored now.
    for (const record of records.filter((candidate) => candidate.outcome !== "acked")) {
      const messages = record.ids.map((id, index) => ({ id, data: { n: record.ns[index] } }));
      const retry = await api<PublishResult & { messages?: PublishResult[] }>(server, "POST", record.path, record.batch ? { messages } : messages[0]);
      expect([200, 201], `retry of ${record.ids[0]}`).toContain(retry.status);
      const results = record.batch ? retry.body.messages! : [retry.body];
      expect(new Set(results.map((result) => result.duplicate === true)).size, `retry of ${record.ids[0]}: all or none already stored`).toBe(1);
    }
    for (const topic of topics) {
      const stored = byId((await readHistory(server, topic)).messages);
      const sent = records.filter((record) => record.path === messagesPath(topic)).flatMap((record) => record.ids);
      expect(sent.filter((id) => stored.get(id)?.length !== 1), `${topic}: after retries, each message exactly once`).toEqual([]);
    }
    await Promise.all(followers.map((follower) => follower.socket.close()));
  });
});
