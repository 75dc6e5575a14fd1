import { describe, expect, it } from "vitest";
import { api, json, TestSocket, uniqueName } from "./helpers";

describe("smoke", () => {
  it("publishes, reads history and subscribes", async () => {
    const topic = uniqueName("smoke");
    const first = await api(`/v1/topics/${topic}/messages`, { body: { data: { hello: 1 } } });
    expect(first.status).toBe(201);
    expect(await json(first)).toMatchObject({ seq: 1 });
    const socket = await TestSocket.open(`/v1/topics/${topic}/subscribe?after=0`);
    await socket.waitForMessages(1);
    await api(`/v1/topics/${topic}/messages`, { body: { data: "two" } });
    await socket.waitForMessages(2);
    expect(socket.messages().map((frame) => frame.seq)).toEqual([1, 2]);
    const history = await json<{ messages: { seq: number }[]; lastSeq: number }>(await api(`/v1/topics/${topic}/messages?after=0`));
    expect(history.lastSeq).toBe(2);
    socket.close();
  });
});
