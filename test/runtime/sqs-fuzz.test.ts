/**
 * Fuzzing the SQS endpoint's JSON bodies (fast-check): whatever a signed request carries, the
 * answer is below 500 and, when an error, SQS-shaped (`__type` and `x-amzn-query-error`), and
 * the queue keeps its messages and keeps serving. Unsigned and mangled requests likewise.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { SELF } from "cloudflare:test";
import { api, json, uniqueName } from "./helpers";
import { ORIGIN, queueUrlOf, sqsRequest } from "./sqs-helpers";

const queue = uniqueName("sqs_fuzz");
const SEEDED = 10;
const RUNS = 300;

const ACTIONS = [
  "CreateQueue",
  "GetQueueUrl",
  "ListQueues",
  "GetQueueAttributes",
  "SetQueueAttributes",
  "SendMessage",
  "SendMessageBatch",
  "ReceiveMessage",
  "DeleteMessage",
  "DeleteMessageBatch",
  "ChangeMessageVisibility",
  "ChangeMessageVisibilityBatch",
  "TagQueue",
  "NoSuchAction",
  "",
];

async function expectSqsSafe(response: Response, what: string): Promise<void> {
  expect(response.status, `${what} -> ${response.status}`).toBeLessThan(500);
  const text = await response.text();
  if (response.status >= 400) {
    expect(response.headers.get("x-amzn-query-error"), `${what}: query error header`).toMatch(/;Sender$/);
    const body = JSON.parse(text) as { __type?: unknown; message?: unknown };
    expect(String(body.__type), `${what}: __type`).toMatch(/^com\.amazonaws\.sqs#[A-Za-z]+$/);
    expect(typeof body.message).toBe("string");
  } else {
    expect(() => JSON.parse(text), `${what}: JSON answer`).not.toThrow();
  }
}

/** A value of any shape, or one shaped like what SQS members take. */
const member = fc.oneof(
  fc.jsonValue(),
  fc.string({ maxLength: 300 }),
  fc.integer({ min: -10, max: 100_000 }),
  fc.constantFrom(queueUrlOf(queue), "http://x/sqs/000000000000/bad name", "not a url", "", "All", ".*"),
);
const wireAttribute = fc.record(
  { DataType: fc.constantFrom("String", "Number", "Binary", "Number.int", "Bogus", ""), StringValue: fc.string({ maxLength: 40 }), BinaryValue: fc.oneof(fc.base64String({ maxLength: 40 }), fc.string()) },
  { requiredKeys: [] },
);
const entry = fc.record(
  {
    Id: fc.oneof(fc.constantFrom("a", "b", "a"), fc.string({ maxLength: 90 })),
    MessageBody: fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: "grapheme", maxLength: 50 }), member),
    ReceiptHandle: fc.oneof(fc.base64String({ maxLength: 120 }), fc.string({ maxLength: 60 }), member),
    VisibilityTimeout: fc.oneof(fc.integer({ min: -5, max: 50_000 }), member),
    DelaySeconds: fc.oneof(fc.integer({ min: -5, max: 1000 }), member),
    MessageAttributes: fc.oneof(fc.dictionary(fc.string({ maxLength: 20 }), wireAttribute, { maxKeys: 12 }), member),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 200 }),
  fc
    .record(
      {
        QueueUrl: fc.oneof(fc.constant(queueUrlOf(queue)), member),
        QueueName: fc.oneof(fc.constantFrom(queue, `${queue}.fifo`, "_bad"), member),
        Entries: fc.oneof(fc.array(entry, { maxLength: 12 }), member),
        Attributes: fc.oneof(fc.dictionary(fc.constantFrom("VisibilityTimeout", "DelaySeconds", "RedrivePolicy", "FifoQueue", "Policy", "x"), fc.oneof(fc.string({ maxLength: 40 }), member)), member),
        AttributeNames: fc.oneof(fc.array(fc.oneof(fc.constantFrom("All", "QueueArn", "Nope"), fc.string()), { maxLength: 4 }), member),
        MessageAttributeNames: fc.oneof(fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }), member),
        MaxNumberOfMessages: fc.oneof(fc.integer({ min: -2, max: 12 }), member),
        // Never a real wait: an empty queue would hold each run for up to 20 s.
        WaitTimeSeconds: fc.oneof(fc.integer({ min: -1, max: 0 }), fc.constantFrom(21, "5", null, [1])),
        MaxResults: member,
        NextToken: member,
      },
      { requiredKeys: [] },
    )
    .chain((base) => entry.map((one) => JSON.stringify({ ...one, ...base }))),
);

beforeAll(async () => {
  await api(`/v1/queues/${queue}/messages`, { body: { messages: Array.from({ length: SEEDED }, (_, index) => ({ data: `seed ${index}` })) } });
});

describe("sqs fuzzing", () => {
  it("signed requests with any JSON body never answer 5xx and always answer SQS-shaped", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ACTIONS), body, async (action, text) => {
        await expectSqsSafe(await sqsRequest(action, text), `${action} ${text.slice(0, 120)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it("unsigned, mangled and wrongly signed requests are SQS errors too", async () => {
    const header = fc.oneof(fc.string({ maxLength: 120 }), fc.constant("AWS4-HMAC-SHA256 Credential=root/2026/x/sqs/aws4_request, SignedHeaders=host, Signature=00"));
    await fc.assert(
      fc.asyncProperty(header, fc.string({ maxLength: 60 }), async (authorization, target) => {
        const response = await SELF.fetch(`${ORIGIN}/sqs`, {
          method: "POST",
          headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": target, authorization, "x-amz-date": "20261202T000000Z" },
          body: "{}",
        });
        await expectSqsSafe(response, `authorization ${authorization.slice(0, 60)}`);
        expect(response.status).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: 100 },
    );
    const wrong = await sqsRequest("ListQueues", "{}", { secret: "wrong" });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toMatchObject({ __type: "com.amazonaws.sqs#SignatureDoesNotMatch" });
    const late = await sqsRequest("ListQueues", "{}", { now: Date.now() - 16 * 60 * 1000 });
    expect(late.status).toBe(403);
  });

  it("keeps the queue's messages and keeps serving afterwards", async () => {
    const stats = await json<{ ready: number; inFlight: number; delayed: number }>(await api(`/v1/queues/${queue}`));
    // Fuzzed sends may have added messages and receives leased some: none of the seeded ones is lost.
    expect(stats.ready + stats.inFlight + stats.delayed).toBeGreaterThanOrEqual(SEEDED);
    const response = await sqsRequest("GetQueueAttributes", JSON.stringify({ QueueUrl: queueUrlOf(queue), AttributeNames: ["ApproximateNumberOfMessages"] }));
    expect(response.status).toBe(200);
  });
});
