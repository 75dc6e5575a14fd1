/**
 * Group commit (src/commit/): publishes, enqueues, acks and nacks that reach an object
 * together share one transaction, yet each request stays all or nothing, in order, with its
 * own answer. Calls made in one turn of the object's event loop are one group for certain;
 * concurrent HTTP requests through the worker are grouped as they happen to arrive.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { GroupCommit } from "../../src/commit/group-commit";
import type { PreparedMessage } from "../../src/protocol/frames";
import type { AppendResult } from "../../src/topic/log";
import type { EnqueueResult, LeaseResult, PreparedQueueMessage } from "../../src/queue/store";
import { api, json, uniqueName } from "./helpers";
import { fullHistory, type PublishResult } from "./topic-helpers";
import { ack, enqueue, pull, stats as queueStats, storedMessages } from "./queue-helpers";

/**
 * Make an object's SQLite refuse messages whose data is the JSON string "poison": a real failure
 * inside the object. Called inside the object, its publish rejects; over RPC (publishRouted) the
 * object logs it (console.error: one "injected fault" line a poisoned request) and answers
 * `internal_error` as a value, since workerd logs every exception that leaves a Durable
 * Object's RPC method as "uncaught exception", even when the caller catches it (checked
 * 2026-12-02 on plain workerd through Miniflare; issue 15).
 */
function poison(stub: DurableObjectStub): Promise<void> {
  return runInDurableObject(stub, (_instance, state) => {
    state.storage.sql.exec(`CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.data = '"poison"' BEGIN SELECT RAISE(ABORT, 'injected fault: poisoned message'); END`);
  });
}

function prepared(data: unknown, id?: string): PreparedMessage {
  const text = JSON.stringify(data);
  return { ...(id === undefined ? {} : { id }), data: text, attributes: null, size: text.length };
}

interface Grouped {
  publishes: { commits: number; requests: number };
  publish(messages: PreparedMessage[]): Promise<AppendResult[]>;
}

interface GroupedQueue {
  writes: { stats: { commits: number; requests: number } };
  enqueue(messages: PreparedQueueMessage[]): Promise<EnqueueResult[]>;
  ack(leaseIds: string[]): Promise<LeaseResult[]>;
  nack(leaseIds: string[], delaySeconds: number | null): Promise<LeaseResult[]>;
}

describe("group commit: topics", () => {
  it("writes publishes made in one turn in one commit, each with its own answer, in order", async () => {
    const topic = uniqueName("gc-turn");
    const stub = env.TOPIC.getByName(topic);
    const { answers, commits } = await runInDurableObject(stub, async (instance) => {
      const object = instance as unknown as Grouped;
      const before = object.publishes.commits;
      const calls = [
        object.publish([prepared("a")]),
        object.publish([prepared("b"), prepared("c"), prepared("d")]),
        object.publish([prepared("e", "key-1")]),
        object.publish([prepared("e-again", "key-1")]),
        object.publish([prepared("f"), prepared("f-again", "key-1")]),
      ];
      const answers = await Promise.all(calls);
      return { answers, commits: object.publishes.commits - before };
    });
    expect(commits, "five publishes in one turn are one transaction").toBe(1);
    expect(answers.map((results) => results.map((result) => result.seq))).toEqual([[1], [2, 3, 4], [5], [5], [6, 5]]);
    expect(answers[3]![0]).toEqual({ seq: 5, id: "key-1", duplicate: true });
    expect(answers[4]![1]).toEqual({ seq: 5, id: "key-1", duplicate: true });
    const stored = await fullHistory(topic);
    expect(stored.messages.map((message) => [message.seq, message.data])).toEqual([
      [1, "a"],
      [2, "b"],
      [3, "c"],
      [4, "d"],
      [5, "e"],
      [6, "f"],
    ]);
  });

  it("fails a bad request alone: the rest of its group commits, its own messages are not stored", async () => {
    const topic = uniqueName("gc-poison");
    const stub = env.TOPIC.getByName(topic);
    await poison(stub);
    const outcomes = await runInDurableObject(stub, async (instance) => {
      const object = instance as unknown as Grouped;
      const before = object.publishes.commits;
      const settled = await Promise.allSettled([
        object.publish([prepared("one")]),
        object.publish([prepared("two"), prepared("poison"), prepared("three")]),
        object.publish([prepared("four", "id-4")]),
        object.publish([prepared("poison", "id-p")]),
        object.publish([prepared("five")]),
      ]);
      return { settled: settled.map((outcome) => (outcome.status === "fulfilled" ? outcome.value.map((r) => r.seq) : String(outcome.reason))), commits: object.publishes.commits - before };
    });
    expect(outcomes.commits).toBe(1);
    expect(outcomes.settled[0]).toEqual([1]);
    expect(outcomes.settled[1]).toMatch(/poisoned message/);
    expect(outcomes.settled[2]).toEqual([2]);
    expect(outcomes.settled[3]).toMatch(/poisoned message/);
    expect(outcomes.settled[4]).toEqual([3]);
    const stored = await fullHistory(topic);
    expect(stored.messages.map((message) => [message.seq, message.data])).toEqual([
      [1, "one"],
      [2, "four"],
      [3, "five"],
    ]);
    // The failed request's id was not kept either: publishing it again stores it.
    const retried = await api(`/v1/topics/${topic}/messages`, { body: { data: "now fine", id: "id-p" } });
    expect(retried.status).toBe(201);
    expect(await json<PublishResult>(retried)).toEqual({ seq: 4, id: "id-p" });
  });

  it("answers a failure inside the object over RPC as a value, not a rejection (issue 15)", async () => {
    const topic = uniqueName("gc-rpc");
    const stub = env.TOPIC.getByName(topic);
    await poison(stub);
    expect(await stub.publishRouted([prepared("poison")], 1)).toEqual({ ok: false, status: 500, code: "internal_error", message: "internal error" });
    expect(await stub.publishRouted([prepared("fine")], 1)).toEqual({ ok: true, value: { ok: true, results: [{ seq: 1, id: expect.any(String) }] } });
    // A stale route is still refused as before, storing nothing.
    expect(await stub.publishRouted([prepared("stale")], 2)).toEqual({ ok: true, value: { ok: false, partitions: 1 } });
    expect((await fullHistory(topic)).messages.map((message) => message.data)).toEqual(["fine"]);
  });

  it("concurrent single and batch publishes through the worker: every 2xx stored once, in order, batches contiguous", async () => {
    const topic = uniqueName("gc-http");
    await poison(env.TOPIC.getByName(topic));
    type Sent = { data: string[]; batch: boolean; id?: string; poisoned: boolean };
    const sent: Sent[] = [];
    for (let i = 0; i < 60; i++) {
      if (i % 3 === 0) sent.push({ data: [`b${i}-0`, `b${i}-1`, `b${i}-2`], batch: true, poisoned: false });
      else if (i % 11 === 0) sent.push({ data: [`b${i}-0`, "poison"], batch: true, poisoned: true });
      else if (i % 7 === 0) sent.push({ data: ["poison"], batch: false, poisoned: true });
      else sent.push({ data: [`s${i}`], batch: false, id: i % 5 === 0 ? `dup-${i % 2}` : undefined, poisoned: false });
    }
    const responses = await Promise.all(
      sent.map((request) =>
        api(`/v1/topics/${topic}/messages`, {
          body: request.batch ? { messages: request.data.map((data) => ({ data })) } : { data: request.data[0], ...(request.id ? { id: request.id } : {}) },
        }),
      ),
    );
    const seqOf = new Map<string, number>();
    const stored = await fullHistory(topic);
    const bySeq = new Map(stored.messages.map((message) => [message.seq, message.data]));
    for (const [index, response] of responses.entries()) {
      const request = sent[index]!;
      if (request.poisoned) {
        expect(response.status, `request ${index} holds a poisoned message`).toBe(500);
        expect(await json(response), "the worker's JSON error, the cause kept out of it").toEqual({ error: { code: "internal_error", message: "internal error" } });
        continue;
      }
      expect([200, 201], `request ${index}`).toContain(response.status);
      const body = await json<PublishResult & { messages?: PublishResult[] }>(response);
      const results = request.batch ? body.messages! : [body];
      const seqs = results.map((result) => result.seq);
      if (request.batch) expect(seqs, `batch ${index} is contiguous and in order`).toEqual(seqs.map((_, k) => seqs[0]! + k));
      for (const [k, result] of results.entries()) {
        if (result.duplicate) continue;
        expect(bySeq.get(result.seq), `seq ${result.seq} holds what request ${index} sent`).toBe(request.data[k]);
        expect(seqOf.has(request.data[k]!), `${request.data[k]} stored once`).toBe(false);
        seqOf.set(request.data[k]!, result.seq);
      }
    }
    // Nothing else was stored: no poisoned batch's good half, no duplicate of an id.
    expect(stored.messages.length).toBe(seqOf.size);
    expect(stored.messages.map((message) => message.seq)).toEqual(stored.messages.map((_, k) => k + 1));
    const poisonedParts = sent.filter((request) => request.poisoned).flatMap((request) => request.data);
    expect(stored.messages.filter((message) => poisonedParts.includes(String(message.data))), "no part of a failed request is stored").toEqual([]);
  });
});

describe("group commit: queues", () => {
  it("enqueues, acks and nacks in one turn are one commit, each with its own results", async () => {
    const queue = uniqueName("gc-queue");
    await enqueue(queue, { data: "first" });
    await enqueue(queue, { data: "second" });
    const leased = await pull(queue, { max: 2 });
    expect(leased.map((message) => message.data)).toEqual(["first", "second"]);
    const stub = env.QUEUE.getByName(queue);
    await poison(stub);
    const foreign = crypto.randomUUID();
    const outcome = await runInDurableObject(stub, async (instance) => {
      const object = instance as unknown as GroupedQueue;
      const before = object.writes.stats.commits;
      const settled = await Promise.allSettled([
        object.enqueue([{ ...prepared("third", "q-1"), delayMs: 0 }]),
        object.ack([leased[0]!.leaseId, foreign]),
        object.enqueue([{ ...prepared("fourth"), delayMs: 0 }, { ...prepared("poison"), delayMs: 0 }]),
        object.ack([leased[0]!.leaseId]),
        object.nack([leased[1]!.leaseId], 0),
        object.enqueue([{ ...prepared("third again", "q-1"), delayMs: 0 }]),
      ]);
      return {
        commits: object.writes.stats.commits - before,
        settled: settled.map((result) => (result.status === "fulfilled" ? result.value : String(result.reason))),
      };
    });
    expect(outcome.commits).toBe(1);
    expect(outcome.settled[0]).toEqual([{ seq: 3, id: "q-1" }]);
    expect(outcome.settled[1]).toEqual([
      { leaseId: leased[0]!.leaseId, ok: true, status: "acked" },
      { leaseId: foreign, ok: false, status: "stale" },
    ]);
    expect(outcome.settled[2]).toMatch(/poisoned message/);
    // The same lease acked again later in the same group is stale: order holds inside a group.
    expect(outcome.settled[3]).toEqual([{ leaseId: leased[0]!.leaseId, ok: false, status: "stale" }]);
    expect(outcome.settled[4]).toEqual([{ leaseId: leased[1]!.leaseId, ok: true, status: "nacked" }]);
    expect(outcome.settled[5]).toEqual([{ seq: 3, id: "q-1", duplicate: true }]);
    const rows = await storedMessages(queue);
    expect(rows.map((row) => row.seq)).toEqual([2, 3]);
    const counters = await queueStats(queue);
    expect(counters.enqueued).toBe(3);
    expect(counters.acked).toBe(1);
    expect(counters.lastSeq).toBe(3);
    // The failed enqueue's seq was not used: the next message continues at 4.
    expect(await enqueue(queue, { data: "fifth" })).toEqual({ seq: 4, id: expect.any(String) });
    expect(await ack(queue, [leased[1]!.leaseId])).toEqual([{ leaseId: leased[1]!.leaseId, ok: false, status: "stale" }]);
  });
});

describe("group commit: a failure outside any one request", () => {
  it("answers every caller of the group with the error (logged), and the next group commits", async () => {
    const stub = env.QUEUE.getByName(uniqueName("gc-outside"));
    const outcome = await runInDurableObject(stub, async (_instance, state) => {
      let captures = 0;
      const commit = new GroupCommit<number, number>(state.storage, {
        apply: (input) => input * 2,
        // The first capture of a flush is the group's own, outside every request's savepoint.
        checkpoint: () => {
          if (++captures === 1) throw new Error("cannot capture the state");
          return () => {};
        },
        afterCommit: () => {},
      });
      // A deadline only to fail clearly: unanswered callers would otherwise wait forever.
      const answered = <T>(promise: Promise<T>) =>
        Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("caller still waiting after 5 s")), 5_000))]);
      const first = await Promise.allSettled([answered(commit.submit(1)), answered(commit.submit(2))]);
      const next = await answered(commit.submit(3));
      return { first: first.map((result) => (result.status === "rejected" ? String(result.reason) : result.value)), next, commits: commit.commits };
    });
    expect(outcome.first).toEqual(["Error: cannot capture the state", "Error: cannot capture the state"]);
    expect(outcome.next).toBe(6);
    expect(outcome.commits).toBe(1);
  });
});
