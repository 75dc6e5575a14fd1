/**
 * The SDK's resume position (src/client/cursor.ts) on its own: a pure class, fed the frames a
 * partitioned topic's subscriber gets (DESIGN.md "Partitioned topics": a cursor frame first,
 * then messages carrying `partition`), and the SSE parser on such a stream. No server: the
 * end-to-end behaviour is in sdk-partitions.test.ts.
 */
import { describe, expect, it } from "vitest";
import { afterProblem, formatCursor, parseCursor, ResumePosition } from "../../src/client/cursor";
import { parseEventStream, type SseEvent } from "../../src/client/sse";

/** The frames exactly as the server writes them, parsed the way the SDK parses them. */
const frames = (...texts: string[]) => texts.map((text) => JSON.parse(text) as { seq: number; partition?: number });

describe("cursor strings", () => {
  it("parses and formats one seq per partition", () => {
    expect(parseCursor("12,40,7")).toEqual([12, 40, 7]);
    expect(parseCursor("0")).toEqual([0]);
    expect(formatCursor([12, 40, 7])).toBe("12,40,7");
    expect(parseCursor(formatCursor(Array.from({ length: 64 }, (_, i) => i * 1000)))).toHaveLength(64);
  });

  it("refuses what the server would refuse", () => {
    for (const bad of ["", "1,", ",1", "1,,2", "-1", "1.5", "a", "1 ,2", "1234567890123456", Array.from({ length: 65 }, () => "1").join(",")]) {
      expect(parseCursor(bad), JSON.stringify(bad)).toBeNull();
      expect(afterProblem(bad), JSON.stringify(bad)).toMatch(/after must be/);
    }
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 60]) expect(afterProblem(bad), String(bad)).toMatch(/after must be/);
    expect(afterProblem(0)).toBeNull();
    expect(afterProblem("12,40,7")).toBeNull();
    expect(() => new ResumePosition("12,x")).toThrow(TypeError);
  });
});

describe("the resume position", () => {
  it("an unpartitioned topic resumes after the last seq, and drops replayed seqs", () => {
    const position = new ResumePosition(0);
    const accepted = frames('{"type":"message","topic":"t","seq":1}', '{"type":"message","topic":"t","seq":2}', '{"type":"message","topic":"t","seq":2}', '{"type":"message","topic":"t","seq":1}').map((m) => position.accept(m));
    expect(accepted).toEqual([true, true, false, false]);
    expect(position.after).toBe(2);
    expect(position.cursor).toBe("2");
    expect(position.partitioned).toBe(false);
  });

  it("without after: unknown until the topic's end is found", () => {
    const position = new ResumePosition();
    expect(position.known).toBe(false);
    expect(position.after).toBeUndefined();
    expect(position.cursor).toBeNull();
    position.startAt(17);
    expect(position.after).toBe(17);
    expect(position.accept({ seq: 17 })).toBe(false);
    expect(position.accept({ seq: 18 })).toBe(true);
  });

  it("a partitioned topic: the cursor frame sets the start, each message moves its partition, replays are dropped", () => {
    const position = new ResumePosition();
    position.onCursor(JSON.parse('{"type":"cursor","topic":"t","cursor":"12,40,7"}').cursor);
    expect(position.partitioned).toBe(true);
    expect(position.after).toBe("12,40,7");
    const batch = JSON.parse(
      '{"type":"messages","topic":"t","messages":[{"seq":41,"partition":1},{"seq":13,"partition":0},{"seq":8,"partition":2},{"seq":40,"partition":1},{"seq":42,"partition":1}]}',
    ) as { messages: Array<{ seq: number; partition: number }> };
    expect(batch.messages.map((message) => position.accept(message))).toEqual([true, true, true, false, true]);
    expect(position.cursor).toBe("13,42,8");
  });

  it("a reconnect's cursor frame echoes ours, padded for new partitions; ours stays where it is ahead", () => {
    const position = new ResumePosition("13,42,8");
    position.onCursor("13,42,8,0,0");
    expect(position.after).toBe("13,42,8,0,0");
    expect(position.accept({ seq: 1, partition: 4 })).toBe(true);
    // The server started partition 1 later (retention removed 43-49): nothing between can come.
    position.onCursor("13,49,8,0,1");
    expect(position.after).toBe("13,49,8,0,1");
    // An older echo cannot move the position back.
    position.onCursor("0,0,0");
    expect(position.after).toBe("13,49,8,0,1");
  });

  it("a plain seq on a topic that turns out partitioned is partition 0's; missing partitions are 0", () => {
    const position = new ResumePosition("5");
    expect(position.after).toBe(5);
    expect(position.accept({ seq: 3, partition: 2 })).toBe(true);
    expect(position.accept({ seq: 5, partition: 0 })).toBe(false);
    expect(position.accept({ seq: 6, partition: 0 })).toBe(true);
    expect(position.after).toBe("6,0,3");
  });

  it("an unpartitioned topic that grows: the first cursor frame turns the seq into partition 0's", () => {
    const position = new ResumePosition(0);
    for (const seq of [1, 2, 3]) position.accept({ seq });
    position.onCursor("3,0,0,0");
    expect(position.after).toBe("3,0,0,0");
    expect(position.accept({ seq: 1, partition: 3 })).toBe(true);
    expect(position.accept({ seq: 3 })).toBe(false);
    expect(position.after).toBe("3,0,0,1");
  });

  it("ignores a partition outside 0-63", () => {
    const position = new ResumePosition(0);
    expect(position.accept({ seq: 1, partition: 64 })).toBe(false);
    expect(position.accept({ seq: 1, partition: -1 })).toBe(false);
    expect(position.after).toBe(0);
  });
});

describe("SSE on a partitioned topic", () => {
  it("the cursor event comes first, each message's id is the cursor after it", async () => {
    const stream =
      'event: cursor\nid: 12,40,7\ndata: {"type":"cursor","topic":"t","cursor":"12,40,7"}\n\n' +
      ": keep-alive\n\n" +
      'id: 12,41,7\nevent: message\ndata: {"type":"message","topic":"t","seq":41,"partition":1,"id":"a","data":1,"attributes":{},"publishedAt":1}\n\n';
    const body = new Response(stream).body!;
    const events: SseEvent[] = [];
    for await (const event of parseEventStream(body)) events.push(event);
    expect(events.map((event) => [event.event, event.id])).toEqual([
      ["cursor", "12,40,7"],
      ["message", "12,41,7"],
    ]);
    const position = new ResumePosition();
    position.onCursor((JSON.parse(events[0]!.data) as { cursor: string }).cursor);
    position.accept(JSON.parse(events[1]!.data) as { seq: number; partition: number });
    expect(position.cursor).toBe(events[1]!.id);
  });
});
