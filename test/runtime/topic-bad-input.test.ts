/**
 * Bad input to the topic routes: each gets its documented status and the contract's JSON
 * error body, stores nothing, and leaves the topic serving (the next good publish gets the
 * next seq; earlier messages are intact).
 */
import { describe, expect, it } from "vitest";
import { api, uniqueName } from "./helpers";
import { expectError, fullHistory, publishOk } from "./topic-helpers";

const KIB = 1024;
const MAX_MESSAGE_BYTES = 256 * KIB;
const MAX_REQUEST_BYTES = 1024 * KIB;

/** A topic holding two messages, to check nothing changed after a bad request. */
async function seededTopic(prefix: string): Promise<string> {
  const topic = uniqueName(prefix);
  await publishOk(topic, { data: "one" });
  await publishOk(topic, { data: "two", id: "two" });
  return topic;
}

/** The topic still holds its two messages and the next publish is seq 3. */
async function expectStillServing(topic: string): Promise<void> {
  const before = await fullHistory(topic);
  expect(before.lastSeq).toBe(2);
  expect(before.messages.map((message) => message.data)).toEqual(["one", "two"]);
  expect((await publishOk(topic, { data: "three" })).seq).toBe(3);
}

/** A JSON string `data` whose serialised form is exactly `bytes` long (ASCII: quotes + chars). */
const dataOfBytes = (bytes: number) => "x".repeat(bytes - 2);

describe("topic bad input", () => {
  const badBodies: { what: string; rawBody: string; status: number; code: string }[] = [
    { what: "malformed JSON", rawBody: '{"data": 1', status: 400, code: "invalid_json" },
    { what: "an empty body", rawBody: "", status: 400, code: "invalid_json" },
    { what: "a blank body", rawBody: "  \n", status: 400, code: "invalid_json" },
    { what: "a JSON array", rawBody: "[1, 2]", status: 400, code: "invalid_request" },
    { what: "a JSON number", rawBody: "42", status: 400, code: "invalid_request" },
    { what: "data missing", rawBody: JSON.stringify({ id: "x" }), status: 400, code: "invalid_request" },
    { what: "attributes with a number value", rawBody: JSON.stringify({ data: 1, attributes: { n: 1 } }), status: 400, code: "invalid_request" },
    { what: "attributes as an array", rawBody: JSON.stringify({ data: 1, attributes: ["a"] }), status: 400, code: "invalid_request" },
    { what: "attributes as a string", rawBody: JSON.stringify({ data: 1, attributes: "a=b" }), status: 400, code: "invalid_request" },
    { what: "id a number", rawBody: JSON.stringify({ data: 1, id: 7 }), status: 400, code: "invalid_request" },
    { what: "id empty", rawBody: JSON.stringify({ data: 1, id: "" }), status: 400, code: "invalid_request" },
    { what: "id of 129 characters", rawBody: JSON.stringify({ data: 1, id: "i".repeat(129) }), status: 400, code: "invalid_request" },
    { what: "an unknown field", rawBody: JSON.stringify({ data: 1, delay: 5 }), status: 400, code: "invalid_request" },
    { what: "messages not an array", rawBody: JSON.stringify({ messages: "x" }), status: 400, code: "invalid_request" },
    { what: "an empty batch", rawBody: JSON.stringify({ messages: [] }), status: 400, code: "invalid_request" },
    {
      what: "a batch of 101",
      rawBody: JSON.stringify({ messages: Array.from({ length: 101 }, (_, n) => ({ data: n })) }),
      status: 400,
      code: "invalid_request",
    },
    { what: "a batch with an unknown field beside messages", rawBody: JSON.stringify({ messages: [{ data: 1 }], extra: true }), status: 400, code: "invalid_request" },
    { what: "a message one byte over 256 KiB", rawBody: JSON.stringify({ data: dataOfBytes(MAX_MESSAGE_BYTES + 1) }), status: 413, code: "message_too_large" },
    {
      what: "a body over 1 MiB",
      rawBody: JSON.stringify({ messages: Array.from({ length: 5 }, () => ({ data: dataOfBytes(MAX_MESSAGE_BYTES - 10) })) }),
      status: 413,
      code: "payload_too_large",
    },
  ];

  it.each(badBodies)("rejects $what with $status $code", async ({ rawBody, status, code }) => {
    const topic = await seededTopic("bad-body");
    await expectError(await api(`/v1/topics/${topic}/messages`, { method: "POST", rawBody }), status, code);
    await expectStillServing(topic);
  });

  it("accepts a message of exactly 256 KiB and a 128-character id (the limits themselves)", async () => {
    const topic = uniqueName("bad-limits");
    expect((await publishOk(topic, { data: dataOfBytes(MAX_MESSAGE_BYTES) })).seq).toBe(1);
    expect((await publishOk(topic, { data: 1, id: "i".repeat(128) })).seq).toBe(2);
    const body = JSON.stringify({ messages: [{ data: dataOfBytes(MAX_MESSAGE_BYTES) }, { data: dataOfBytes(MAX_MESSAGE_BYTES) }] });
    expect(body.length).toBeLessThan(MAX_REQUEST_BYTES);
    const batch = await api(`/v1/topics/${topic}/messages`, { method: "POST", rawBody: body });
    expect(batch.status).toBe(201);
  });

  const badNames = [
    { what: "a leading dash", name: "-x" },
    { what: "129 characters", name: "n".repeat(129) },
    { what: "an encoded slash", name: "a%2Fb" },
    { what: "an encoded space", name: "a%20b" },
    { what: "a leading dot", name: ".hidden" },
  ];

  it.each(badNames)("rejects a topic name with $what as 400 invalid_name on every route", async ({ name }) => {
    await expectError(await api(`/v1/topics/${name}/messages`, { body: { data: 1 } }), 400, "invalid_name");
    await expectError(await api(`/v1/topics/${name}/messages`), 400, "invalid_name");
    await expectError(await api(`/v1/topics/${name}/subscribe`, { headers: { upgrade: "websocket" } }), 400, "invalid_name");
    await expectError(await api(`/v1/topics/${name}`), 400, "invalid_name");
    await expectError(await api(`/v1/topics/${name}`, { method: "PUT", body: { retentionMessages: 5 } }), 400, "invalid_name");
  });

  it("accepts a name of 128 characters with every allowed character", async () => {
    const name = `A0._:-${"z".repeat(122)}`;
    expect(name).toHaveLength(128);
    expect((await publishOk(name, { data: 1 })).seq).toBe(1);
  });

  const badQueries = ["after=-1", "after=abc", "after=1.5", "after=", "limit=0", "limit=5000", "limit=abc", "limit=-1", "after=1&limit=1001"];

  it.each(badQueries)("rejects history ?%s as 400 invalid_query", async (query) => {
    const topic = await seededTopic("bad-query");
    await expectError(await api(`/v1/topics/${topic}/messages?${query}`), 400, "invalid_query");
    await expectStillServing(topic);
  });

  it.each(["after=-1", "after=abc"])("rejects subscribe ?%s as 400 invalid_query", async (query) => {
    const topic = await seededTopic("bad-sub-query");
    await expectError(await api(`/v1/topics/${topic}/subscribe?${query}`, { headers: { upgrade: "websocket" } }), 400, "invalid_query");
    await expectError(await api(`/v1/topics/${topic}/subscribe?${query}`, { headers: { accept: "text/event-stream" } }), 400, "invalid_query");
    await expectStillServing(topic);
  });

  it("rejects a Last-Event-ID that is not a seq", async () => {
    const topic = await seededTopic("bad-last-event-id");
    const response = await api(`/v1/topics/${topic}/subscribe`, { headers: { accept: "text/event-stream", "last-event-id": "abc" } });
    await expectError(response, 400, "invalid_query");
    await expectStillServing(topic);
  });

  it("answers a subscribe with neither a WebSocket upgrade nor SSE Accept with 426", async () => {
    const topic = await seededTopic("bad-sub-426");
    await expectError(await api(`/v1/topics/${topic}/subscribe?after=0`), 426, "websocket_required");
    await expectError(await api(`/v1/topics/${topic}/subscribe`, { headers: { accept: "application/json" } }), 426, "websocket_required");
    await expectStillServing(topic);
  });

  it("rejects bad topic settings with 400 and keeps the old ones", async () => {
    const topic = await seededTopic("bad-config");
    await expectError(await api(`/v1/topics/${topic}`, { method: "PUT", body: { retentionMessages: 0 } }), 400, "invalid_request");
    await expectError(await api(`/v1/topics/${topic}`, { method: "PUT", body: { dedupWindowSeconds: "60" } }), 400, "invalid_request");
    await expectError(await api(`/v1/topics/${topic}`, { method: "PUT", body: { retention: 5 } }), 400, "invalid_request");
    await expectError(await api(`/v1/topics/${topic}`, { method: "PUT", rawBody: "{" }), 400, "invalid_json");
    // The dedup window is still the default: "two" is still a duplicate.
    const repeat = await api(`/v1/topics/${topic}/messages`, { body: { data: "again", id: "two" } });
    expect(repeat.status).toBe(200);
    await expectStillServing(topic);
  });

  it("answers missing or wrong credentials with 401 and stores nothing", async () => {
    const topic = await seededTopic("bad-auth");
    const path = `/v1/topics/${topic}/messages`;
    await expectError(await api(path, { body: { data: 1 }, auth: null }), 401, "unauthorized");
    await expectError(await api(path, { body: { data: 1 }, auth: "wrong-key" }), 401, "unauthorized");
    await expectError(await api(path, { body: { data: 1 }, auth: null, headers: { authorization: "Basic dGVzdA==" } }), 401, "unauthorized");
    await expectError(await api(path, { auth: null }), 401, "unauthorized");
    await expectError(await api(`/v1/topics/${topic}/subscribe?token=wrong`, { auth: null, headers: { upgrade: "websocket" } }), 401, "unauthorized");
    await expectError(await api(`/v1/topics/${topic}`, { auth: "test-root-key-but-longer" }), 401, "unauthorized");
    await expectStillServing(topic);
  });

  it("answers unknown routes with a JSON 404", async () => {
    const topic = await seededTopic("bad-route");
    await expectError(await api(`/v1/topics/${topic}/nope`), 404, "not_found");
    await expectError(await api(`/v1/topics/${topic}/messages/1`), 404, "not_found");
    await expectError(await api(`/v1/topics/${topic}/messages`, { method: "DELETE" }), 404, "not_found");
    await expectError(await api("/v1/nothing-here"), 404, "not_found");
    await expectStillServing(topic);
  });
});
