/**
 * Retention: the topic's alarm trims the log by count and by age; publishing never trims.
 * Trimming keeps lastSeq, so seqs are never reused, and running the alarm again is harmless.
 */
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sleep, uniqueName } from "./helpers";
import { configure, fullHistory, publishMany, publishOk, range, stats } from "./topic-helpers";

const DAY_MS = 24 * 60 * 60 * 1000;

/** When the topic's alarm is set for, or null. */
function alarmOf(topic: string): Promise<number | null> {
  return runInDurableObject(env.TOPIC.getByName(topic), (_instance, state) => state.storage.getAlarm());
}

describe("topic retention", () => {
  it("trims to retentionMessages in the alarm, not on publish", async () => {
    const topic = uniqueName("ret-count");
    await configure(topic, { retentionMessages: 5 });
    for (let n = 1; n <= 12; n++) await publishOk(topic, { data: n });

    // Publishing stored all 12 and only scheduled the trim.
    const untrimmed = await fullHistory(topic);
    expect(untrimmed.messages.map((message) => message.seq)).toEqual(range(1, 12));
    const alarm = await alarmOf(topic);
    expect(alarm, "a trim alarm is scheduled").not.toBeNull();
    expect(alarm!).toBeLessThan(Date.now() + DAY_MS);

    expect(await runDurableObjectAlarm(env.TOPIC.getByName(topic))).toBe(true);
    const trimmed = await fullHistory(topic);
    expect(trimmed.messages.map((message) => message.seq)).toEqual(range(8, 12));
    expect(trimmed.messages.map((message) => message.data)).toEqual(range(8, 12));
    expect(trimmed.lastSeq).toBe(12);
    const after = await stats(topic);
    expect(after).toMatchObject({ lastSeq: 12, retainedMessages: 5, firstRetainedSeq: 8 });

    // Once trimmed, the alarm waits for the oldest message to age out (7 days by default).
    expect(await alarmOf(topic)).toBeGreaterThan(Date.now() + DAY_MS);
    expect((await publishOk(topic, { data: 13 })).seq).toBe(13);
    await runDurableObjectAlarm(env.TOPIC.getByName(topic));
    expect((await fullHistory(topic)).messages.map((message) => message.seq)).toEqual(range(9, 13));
  });

  it("is harmless to run twice", async () => {
    const topic = uniqueName("ret-twice");
    await configure(topic, { retentionMessages: 5 });
    await publishMany(topic, 12);
    const stub = env.TOPIC.getByName(topic);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const once = await fullHistory(topic);
    // The first run re-armed for the age limit; a second run (early) must change nothing.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await fullHistory(topic)).toEqual(once);
    expect(once.messages.map((message) => message.seq)).toEqual(range(8, 12));
    expect(await stats(topic)).toMatchObject({ lastSeq: 12, retainedMessages: 5 });
  });

  it("trims a count overflow larger than one batch of work, over several alarm runs if needed", async () => {
    const topic = uniqueName("ret-large");
    await configure(topic, { retentionMessages: 10 });
    await publishMany(topic, 700);
    const stub = env.TOPIC.getByName(topic);
    for (let runs = 0; runs < 5 && (await stats(topic)).retainedMessages > 10; runs++) await runDurableObjectAlarm(stub);
    expect(await stats(topic)).toMatchObject({ lastSeq: 700, retainedMessages: 10, firstRetainedSeq: 691 });
  });

  it("trims by age, keeps lastSeq through an empty log, and continues the seqs", async () => {
    const topic = uniqueName("ret-age");
    await configure(topic, { retentionSeconds: 1 });
    await publishMany(topic, 3);
    expect((await stats(topic)).retainedMessages).toBe(3);

    // Age is the clock: wait past the 1 s retention, then run the alarm (the platform may
    // already have run it on time; running it again must be harmless).
    await sleep(1100);
    await runDurableObjectAlarm(env.TOPIC.getByName(topic));

    const emptied = await fullHistory(topic);
    expect(emptied).toEqual({ messages: [], lastSeq: 3 });
    expect(await stats(topic)).toMatchObject({ lastSeq: 3, retainedMessages: 0, firstRetainedSeq: null });
    // Nothing retained: nothing is due for retention.
    expect(await alarmOf(topic)).toBeNull();

    // A retention the next steps cannot outlast however slow they are: the new message is young.
    await configure(topic, { retentionSeconds: 60 });
    expect((await publishOk(topic, { data: "next" })).seq).toBe(4);
    const resumed = await fullHistory(topic);
    expect(resumed.messages.map((message) => [message.seq, message.data])).toEqual([[4, "next"]]);
    expect(resumed.lastSeq).toBe(4);
    await runDurableObjectAlarm(env.TOPIC.getByName(topic));
    // Trimming only messages older than the retention: the new one is still there.
    expect((await stats(topic)).retainedMessages).toBe(1);
  });

  it("keeps the last seq across an eviction, with messages retained and with the log trimmed to empty", async () => {
    const topic = uniqueName("ret-evict");
    await publishMany(topic, 5);
    await evictDurableObject(env.TOPIC.getByName(topic));
    expect((await publishOk(topic, { data: "after eviction" })).seq).toBe(6);

    await configure(topic, { retentionSeconds: 1 });
    await sleep(1100);
    await runDurableObjectAlarm(env.TOPIC.getByName(topic));
    expect((await stats(topic)).retainedMessages).toBe(0);
    await evictDurableObject(env.TOPIC.getByName(topic));
    expect((await publishOk(topic, { data: "after an empty log and an eviction" })).seq).toBe(7);
  });
});
