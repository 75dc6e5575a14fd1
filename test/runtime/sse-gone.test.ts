/**
 * A Server-Sent Events subscriber that went away stops counting promptly (issue 15): the object
 * notices the stream's cancellation itself, not at its next write (a publish or the 25 s
 * keep-alive), so GET /v1/topics/{t} and the console show only streams someone reads.
 */
import { describe, expect, it } from "vitest";
import { uniqueName } from "./helpers";
import { SseStream, stats, waitUntil } from "./topic-helpers";

/** Well under the keep-alive interval (25 s), the only write an idle topic makes. */
const NOTICE_MS = 5_000;

describe("SSE subscribers that go away", () => {
  it("stop counting in stats within seconds of the client cancelling, with nothing published", async () => {
    const topic = uniqueName("sse-gone");
    const streams = await Promise.all([SseStream.open(`/v1/topics/${topic}/subscribe?after=0`), SseStream.open(`/v1/topics/${topic}/subscribe?after=0`)]);
    expect(await stats(topic)).toMatchObject({ subscribers: 2, sseSubscribers: 2 });
    await streams[0]!.cancel();
    const cancelledAt = Date.now();
    await waitUntil(async () => (await stats(topic)).sseSubscribers === 1, `the cancelled stream to stop counting (within ${NOTICE_MS} ms)`, NOTICE_MS);
    console.log(`sse-gone: the cancelled stream stopped counting after ${Date.now() - cancelledAt} ms`);
    // The other stream still counts and still receives.
    expect(await stats(topic)).toMatchObject({ subscribers: 1, sseSubscribers: 1 });
    await streams[1]!.cancel();
    await waitUntil(async () => (await stats(topic)).sseSubscribers === 0, "the second stream to stop counting", NOTICE_MS);
  });
});
