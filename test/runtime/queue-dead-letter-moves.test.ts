/**
 * Dead-letter moves are numbered (issue 15): each message gets a move number when it dies,
 * persisted, increasing for ever, and moves are sent in that order, so the dead-letter queue
 * keeps the highest number stored per source and recognises a resend however late it comes,
 * not only within its dedup window. The lost reply is real: a trigger in the source's own
 * SQLite refuses to delete the moved rows, as a crash between the target's store and the
 * source's delete would leave them.
 */
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { uniqueName } from "./helpers";
import { configureQueue, enqueue, eventually, FAST, nack, pull, pullEventually, queueStub, runAlarm, sleep, stats } from "./queue-helpers";
import { runInDurableObject } from "cloudflare:test";

/** The source keeps its dead rows after the target stored them: the reply is as good as lost. */
function loseMoveReplies(queue: string): Promise<void> {
  return runInDurableObject(queueStub(queue), (_instance, state) => {
    state.storage.sql.exec("CREATE TRIGGER lose_move_reply BEFORE DELETE ON messages WHEN OLD.state = 1 BEGIN SELECT RAISE(ABORT, 'injected fault: move reply lost'); END");
  });
}

function deliverMoveReplies(queue: string): Promise<void> {
  return runInDurableObject(queueStub(queue), (_instance, state) => {
    state.storage.sql.exec("DROP TRIGGER lose_move_reply");
  });
}

/** Enqueue, lease and nack `id` on its only attempt: it dies. */
async function kill(queue: string, id: string): Promise<void> {
  await enqueue(queue, { data: id, id });
  const [leased] = await pull(queue);
  expect(leased?.id).toBe(id);
  expect((await nack(queue, [leased!.leaseId]))[0]).toMatchObject({ deadLettered: true });
}

describe("dead-letter move numbers", () => {
  it("stores a move once when its reply was lost and it is resent after the dead-letter queue's dedup window", async () => {
    const queue = uniqueName("moves");
    const dlq = uniqueName("moves-dlq");
    await configureQueue(dlq, { dedupWindowSeconds: 1 });
    await configureQueue(queue, { ...FAST, maxAttempts: 1, deadLetterQueue: dlq });
    await loseMoveReplies(queue);

    await kill(queue, "first");
    // The dead-letter queue stores it; the source cannot strike it and keeps it pending.
    await eventually(async () => ((await stats(dlq)).enqueued === 1 ? true : undefined), "the move to reach the dead-letter queue");
    expect(await stats(queue)).toMatchObject({ deadLetterPending: 1, deadLettered: 0 });
    // The window is wall-clock time: let it pass (a pause for time itself, not for a state).
    await sleep(1_500);

    await deliverMoveReplies(queue);
    await eventually(async () => {
      await runAlarm(queue);
      return (await stats(queue)).deadLettered === 1 ? true : undefined;
    }, "the resent move to complete");
    expect(await stats(dlq), "stored once").toMatchObject({ enqueued: 1, ready: 1 });
    expect((await pull(dlq, { max: 10 })).map((message) => message.id)).toEqual(["first"]);
  });

  it("numbers later deaths past earlier ones, across an eviction of the source, so none is taken for a resend", async () => {
    const queue = uniqueName("moves-later");
    const dlq = uniqueName("moves-later-dlq");
    await configureQueue(queue, { ...FAST, maxAttempts: 1, deadLetterQueue: dlq });
    await kill(queue, "a");
    await kill(queue, "b");
    await eventually(async () => ((await stats(queue)).deadLettered === 2 ? true : undefined), "two moves");
    // A fresh instance reads the last number back from storage.
    await evictDurableObject(queueStub(queue));
    await kill(queue, "c");
    await eventually(async () => {
      await runAlarm(queue);
      return (await stats(queue)).deadLettered === 3 ? true : undefined;
    }, "the third move");
    const moved = await pullEventually(dlq, "all three dead letters", { max: 10 });
    expect(moved.map((message) => message.id).sort()).toEqual(["a", "b", "c"]);
    expect(await stats(dlq)).toMatchObject({ enqueued: 3 });
  });
});
