/**
 * SQS messages end to end (issue 13) with the real AWS SDK, MD5 checks on: send and batch,
 * receive with system and typed message attributes, visibility changes, delete and batch
 * delete, stale receipt handles, dead letters after maxReceiveCount, and the same messages
 * through edgepost's own HTTP API (one queue, both APIs).
 */
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  type Message,
} from "@aws-sdk/client-sqs";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { call, uniqueName, type LeasedMessage } from "./clients";
import { useServer } from "./server";
import { REGION, sqsError, useSqsClient } from "./sqs-client";
import { pollUntil } from "./wait";

const server = useServer();
const sqs = useSqsClient(server);

const md5 = (data: string | Uint8Array) => createHash("md5").update(data).digest("hex");
const stats = (queue: string) => call<{ ready: number; inFlight: number; delayed: number; acked: number; pullsWaiting: number }>(server, "GET", `/v1/queues/${queue}`, undefined, 200);

async function createQueue(prefix: string, attributes: Record<string, string> = {}): Promise<{ name: string; url: string }> {
  const name = uniqueName(prefix).replace(/-/g, "_");
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  expect(QueueUrl).toBe(`${server.url}/sqs/000000000000/${name}`);
  return { name, url: QueueUrl! };
}

/** Receive until `count` messages came back (each receive is a short poll). */
async function receiveAll(url: string, count: number, extra: Partial<ConstructorParameters<typeof ReceiveMessageCommand>[0]> = {}): Promise<Message[]> {
  const got: Message[] = [];
  await pollUntil(
    async () => {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, ...extra }));
      got.push(...Messages);
      return got.length >= count ? true : undefined;
    },
    20_000,
    () => `${count} messages from ${url}; have ${got.length}`,
  );
  return got;
}

describe("send and receive", () => {
  it("keeps bodies byte-exact, answers every digest right and returns typed attributes and system attributes", async () => {
    const queue = await createQueue("sqs_send");
    const bodies = ['{"order": 1, "note": "quoted \\"x\\""}', "line one\r\nline two\ttab", "emoji 🦀 and ünïcödé", "  spaces kept  ", "<xml attr='1'/>&amp;"];
    const binary = Uint8Array.from([0, 1, 2, 250, 255]);
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: bodies[0],
        MessageAttributes: {
          color: { DataType: "String", StringValue: "red" },
          count: { DataType: "Number", StringValue: "42.5" },
          blob: { DataType: "Binary", BinaryValue: binary },
          kind: { DataType: "String.custom", StringValue: "k" },
        },
      }),
    );
    // The SDK already checked MD5OfMessageBody; the attribute digest is AWS's algorithm.
    expect(sent.MD5OfMessageBody).toBe(md5(bodies[0]!));
    expect(sent.MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
    const batch = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: bodies.slice(1).map((body, index) => ({ Id: `m${index}`, MessageBody: body })) }));
    expect(batch.Failed ?? []).toEqual([]);
    expect(batch.Successful!.map((entry) => entry.Id)).toEqual(["m0", "m1", "m2", "m3"]);
    for (const [index, entry] of batch.Successful!.entries()) expect(entry.MD5OfMessageBody).toBe(md5(bodies[index + 1]!));

    const before = Date.now();
    const received = await receiveAll(queue.url, 5, { MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"] });
    expect(received.map((message) => message.Body).sort()).toEqual([...bodies].sort());
    for (const message of received) expect(message.MD5OfBody).toBe(md5(message.Body!));
    const first = received.find((message) => message.MessageId === sent.MessageId)!;
    expect(first.MessageAttributes).toEqual({
      color: { DataType: "String", StringValue: "red" },
      count: { DataType: "Number", StringValue: "42.5" },
      blob: { DataType: "Binary", BinaryValue: binary },
      kind: { DataType: "String.custom", StringValue: "k" },
    });
    // All attributes returned: the receive digest equals the send digest.
    expect(first.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
    expect(first.Attributes!.ApproximateReceiveCount).toBe("1");
    expect(Number(first.Attributes!.SentTimestamp)).toBeLessThanOrEqual(before + 1000);
    expect(Number(first.Attributes!.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(Number(first.Attributes!.SentTimestamp));
  });

  it("selects message attributes by name and prefix, and system attributes by the older AttributeNames too", async () => {
    const queue = await createQueue("sqs_select");
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: "x",
        MessageAttributes: { "a.one": { DataType: "String", StringValue: "1" }, "a.two": { DataType: "String", StringValue: "2" }, b: { DataType: "String", StringValue: "3" } },
      }),
    );
    const [message] = await receiveAll(queue.url, 1, { MessageAttributeNames: ["a.*"], AttributeNames: ["All"] });
    expect(Object.keys(message!.MessageAttributes!).sort()).toEqual(["a.one", "a.two"]);
    expect(message!.MD5OfMessageAttributes).toBe(
      // Only the returned attributes are digested.
      md5(
        Buffer.concat(
          ["a.one", "a.two"].flatMap((name, index) => {
            const field = (text: string) => {
              const bytes = Buffer.from(text, "utf8");
              const length = Buffer.alloc(4);
              length.writeUInt32BE(bytes.length);
              return [length, bytes];
            };
            return [...field(name), ...field("String"), Buffer.from([1]), ...field(String(index + 1))];
          }),
        ),
      ),
    );
    expect(Object.keys(message!.Attributes!).sort()).toEqual(["ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount", "SentTimestamp"]);
  });

  it("answers per-entry failures in a batch and refuses what SQS refuses", async () => {
    const queue = await createQueue("sqs_refuse");
    const batch = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: [
          { Id: "ok", MessageBody: "fine" },
          { Id: "bad_char", MessageBody: "nul \u0000 here" },
          { Id: "bad_delay", MessageBody: "late", DelaySeconds: 901 },
          { Id: "bad_attr", MessageBody: "x", MessageAttributes: { "AWS.reserved": { DataType: "String", StringValue: "v" } } },
        ],
      }),
    );
    expect(batch.Successful!.map((entry) => entry.Id)).toEqual(["ok"]);
    expect(Object.fromEntries(batch.Failed!.map((entry) => [entry.Id, [entry.Code, entry.SenderFault]]))).toEqual({
      bad_char: ["InvalidMessageContents", true],
      bad_delay: ["InvalidParameterValue", true],
      bad_attr: ["InvalidParameterValue", true],
    });
    const tooMany = Array.from({ length: 11 }, (_, index) => ({ Id: `e${index}`, MessageBody: "x" }));
    expect((await sqsError(sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: tooMany })))).name).toBe("TooManyEntriesInBatchRequest");
    expect((await sqsError(sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: [] })))).name).toBe("EmptyBatchRequest");
    const twice = [{ Id: "same", MessageBody: "1" }, { Id: "same", MessageBody: "2" }];
    expect((await sqsError(sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: twice })))).name).toBe("BatchEntryIdsNotDistinct");
    expect((await stats(queue.name)).ready).toBe(1);
  });
});

describe("long polling", () => {
  it("answers a waiting ReceiveMessage as soon as a message is sent, and an idle one after WaitTimeSeconds", async () => {
    const queue = await createQueue("sqs_poll");
    const waiting = sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 15, MaxNumberOfMessages: 10 }));
    // Sent once the receive is known to wait in the queue, however long it took to get there.
    await pollUntil(async () => ((await stats(queue.name)).pullsWaiting === 1 ? true : undefined), 30_000, () => "the ReceiveMessage to wait in the queue");
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: "wake up" }));
    const { Messages } = await waiting;
    // Woken by the send: a wait that runs out is answered empty, so the message proves it.
    expect(Messages?.map((message) => message.Body)).toEqual(["wake up"]);

    const idleStart = Date.now();
    const idle = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 1 }));
    expect(idle.Messages ?? []).toEqual([]);
    expect(Date.now() - idleStart, "an idle long poll waits its time").toBeGreaterThanOrEqual(900);
  });

  it("waits by the queue's ReceiveMessageWaitTimeSeconds when a receive gives none", async () => {
    const queue = await createQueue("sqs_poll_default", { ReceiveMessageWaitTimeSeconds: "1" });
    const started = Date.now();
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url }));
    expect(Messages ?? []).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    // A queue default far longer than any slow request, so a short poll is told by time alone.
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: queue.url, Attributes: { ReceiveMessageWaitTimeSeconds: "20" } }));
    const now = Date.now();
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 0 }));
    expect(Date.now() - now, "WaitTimeSeconds 0 is a short poll, not the queue's 20 s").toBeLessThan(10_000);
  });
});

describe("one queue, both APIs", () => {
  it("shows SQS messages through the HTTP API and HTTP messages through SQS", async () => {
    const queue = await createQueue("sqs_both");
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: "from sqs", MessageAttributes: { n: { DataType: "Number", StringValue: "7" } } }));
    const pulled = await call<{ messages: LeasedMessage[] }>(server, "POST", `/v1/queues/${queue.name}/pull`, { max: 10 }, 200);
    expect(pulled.messages).toHaveLength(1);
    expect(pulled.messages[0]!.data).toBe("from sqs");
    expect(pulled.messages[0]!.attributes).toEqual({ n: "7", "sqs:type:n": "Number" });
    await call(server, "POST", `/v1/queues/${queue.name}/ack`, { leaseIds: [pulled.messages[0]!.leaseId] }, 200);

    await call(server, "POST", `/v1/queues/${queue.name}/messages`, { messages: [{ data: "text", attributes: { k: "v" } }, { data: { json: [1, 2] } }] }, 201);
    const received = await receiveAll(queue.url, 2, { MessageAttributeNames: ["All"] });
    const byBody = new Map(received.map((message) => [message.Body, message]));
    expect(byBody.get("text")!.MessageAttributes).toEqual({ k: { DataType: "String", StringValue: "v" } });
    // Non-string data is delivered as its JSON text.
    expect(byBody.has('{"json":[1,2]}')).toBe(true);
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queue.url, Entries: received.map((message, index) => ({ Id: `d${index}`, ReceiptHandle: message.ReceiptHandle! })) }));
    expect(await stats(queue.name)).toMatchObject({ ready: 0, inFlight: 0, acked: 3 });
  });
});

describe("leases", () => {
  it("changes visibility (extend, give back, batch) and keeps stale handles from changing anything", async () => {
    const queue = await createQueue("sqs_vis", { VisibilityTimeout: "30" });
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: [{ Id: "a", MessageBody: "a" }, { Id: "b", MessageBody: "b" }] }));
    const [a, b] = (await receiveAll(queue.url, 2, { MessageSystemAttributeNames: ["All"] })).sort((x, y) => x.Body!.localeCompare(y.Body!));
    expect((await stats(queue.name)).inFlight).toBe(2);

    // Give a back now: it is received again with a new handle and a higher receive count.
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queue.url, ReceiptHandle: a!.ReceiptHandle, VisibilityTimeout: 0 }));
    const [again] = await receiveAll(queue.url, 1, { MessageSystemAttributeNames: ["All"] });
    expect(again!.MessageId).toBe(a!.MessageId);
    expect(again!.ReceiptHandle).not.toBe(a!.ReceiptHandle);
    expect(again!.Attributes!.ApproximateReceiveCount).toBe("2");
    expect(again!.Attributes!.ApproximateFirstReceiveTimestamp).toBe(a!.Attributes!.ApproximateFirstReceiveTimestamp);

    // The old handle is stale: deleting with it deletes nothing, changing it is refused.
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: a!.ReceiptHandle }));
    expect((await stats(queue.name)).inFlight).toBe(2);
    expect((await sqsError(sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queue.url, ReceiptHandle: a!.ReceiptHandle, VisibilityTimeout: 10 })))).name).toBe("MessageNotInflight");
    expect((await sqsError(sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: "not-a-handle" })))).name).toBe("ReceiptHandleIsInvalid");

    const changed = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queue.url,
        Entries: [
          { Id: "live", ReceiptHandle: b!.ReceiptHandle, VisibilityTimeout: 600 },
          { Id: "stale", ReceiptHandle: a!.ReceiptHandle, VisibilityTimeout: 600 },
          { Id: "garbage", ReceiptHandle: "zzz", VisibilityTimeout: 600 },
        ],
      }),
    );
    expect(changed.Successful!.map((entry) => entry.Id)).toEqual(["live"]);
    expect(Object.fromEntries(changed.Failed!.map((entry) => [entry.Id, entry.Code]))).toEqual({ stale: "MessageNotInflight", garbage: "ReceiptHandleIsInvalid" });

    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: queue.url, Entries: [{ Id: "b", ReceiptHandle: b!.ReceiptHandle }, { Id: "again", ReceiptHandle: again!.ReceiptHandle }, { Id: "bad", ReceiptHandle: "%%%" }] }),
    );
    expect(deleted.Successful!.map((entry) => entry.Id).sort()).toEqual(["again", "b"]);
    expect(deleted.Failed!.map((entry) => [entry.Id, entry.Code])).toEqual([["bad", "ReceiptHandleIsInvalid"]]);
    expect(await stats(queue.name)).toMatchObject({ ready: 0, inFlight: 0, delayed: 0, acked: 2 });
  });

  it("moves a message to the dead-letter queue after maxReceiveCount receives, keeping its id", async () => {
    const dlq = await createQueue("sqs_dead");
    const queue = await createQueue("sqs_redrive", {
      VisibilityTimeout: "1",
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: `arn:aws:sqs:${REGION}:000000000000:${dlq.name}`, maxReceiveCount: 2 }),
    });
    const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: "poison", MessageAttributes: { why: { DataType: "String", StringValue: "bad" } } }));
    for (let receive = 1; receive <= 2; receive++) {
      const [message] = await receiveAll(queue.url, 1, { MessageSystemAttributeNames: ["ApproximateReceiveCount"] });
      expect(message!.Attributes!.ApproximateReceiveCount).toBe(String(receive));
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queue.url, ReceiptHandle: message!.ReceiptHandle, VisibilityTimeout: 0 }));
    }
    const [dead] = await receiveAll(dlq.url, 1, { MessageAttributeNames: ["All"] });
    expect(dead!.MessageId).toBe(MessageId);
    expect(dead!.Body).toBe("poison");
    expect(dead!.MessageAttributes).toEqual({ why: { DataType: "String", StringValue: "bad" } });
    expect(await stats(queue.name)).toMatchObject({ ready: 0, inFlight: 0, delayed: 0 });
  });
});
