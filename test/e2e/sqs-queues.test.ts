/**
 * SQS queues and credentials end to end (issue 13) with the real AWS SDK: create with a redrive
 * policy, URLs, attributes, delay, purge, list with a prefix, FIFO and unsupported actions
 * refused, SigV4 (wrong secret, unknown key, expired signature) and scoped SQS credentials.
 */
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListDeadLetterSourceQueuesCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  TagQueueCommand,
} from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { call, uniqueName } from "./clients";
import { ROOT_KEY, useServer } from "./server";
import { REGION, sqsClient, sqsError, useSqsClient } from "./sqs-client";

const server = useServer();
const sqs = useSqsClient(server);

const name = (prefix: string) => uniqueName(prefix).replace(/-/g, "_");
const arn = (queue: string) => `arn:aws:sqs:${REGION}:000000000000:${queue}`;

describe("queues", () => {
  it("creates a queue with a redrive policy and settings, reads them back and edgepost's API agrees", async () => {
    const queue = name("orders");
    const attributes = {
      VisibilityTimeout: "45",
      DelaySeconds: "0",
      MessageRetentionPeriod: "3600",
      ReceiveMessageWaitTimeSeconds: "2",
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn(`${queue}_dead`), maxReceiveCount: 3 }),
    };
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queue, Attributes: attributes }));
    expect(QueueUrl).toBe(`${server.url}/sqs/000000000000/${queue}`);
    expect((await sqs.send(new GetQueueUrlCommand({ QueueName: queue }))).QueueUrl).toBe(QueueUrl);
    // Creating it again with the same settings is fine; with others it is not.
    expect((await sqs.send(new CreateQueueCommand({ QueueName: queue, Attributes: attributes }))).QueueUrl).toBe(QueueUrl);
    expect((await sqsError(sqs.send(new CreateQueueCommand({ QueueName: queue, Attributes: { VisibilityTimeout: "46" } })))).name).toBe("QueueNameExists");

    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }));
    expect(Attributes).toMatchObject({ ...attributes, QueueArn: arn(queue), ApproximateNumberOfMessages: "0", MaximumMessageSize: "262144" });
    expect(JSON.parse(Attributes!.RedrivePolicy!)).toEqual({ deadLetterTargetArn: arn(`${queue}_dead`), maxReceiveCount: 3 });
    const native = await call<{ config: Record<string, unknown> }>(server, "GET", `/v1/queues/${queue}`, undefined, 200);
    expect(native.config).toMatchObject({ visibilityTimeoutSeconds: 45, maxAttempts: 3, deadLetterQueue: `${queue}_dead`, retentionSeconds: 3600, receiveWaitSeconds: 2 });

    await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: { RedrivePolicy: "", VisibilityTimeout: "5" } }));
    const after = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["VisibilityTimeout", "RedrivePolicy"] }));
    expect(after.Attributes).toEqual({ VisibilityTimeout: "5" });
  });

  it("refuses what it does not support with SQS errors: FIFO, unknown attributes, bad values, missing queues", async () => {
    expect((await sqsError(sqs.send(new CreateQueueCommand({ QueueName: "jobs.fifo" })))).name).toBe("UnsupportedOperation");
    expect((await sqsError(sqs.send(new CreateQueueCommand({ QueueName: name("f"), Attributes: { FifoQueue: "true" } })))).name).toBe("UnsupportedOperation");
    expect((await sqsError(sqs.send(new CreateQueueCommand({ QueueName: name("k"), Attributes: { KmsMasterKeyId: "x" } })))).name).toBe("InvalidAttributeName");
    const invalid = await sqsError(sqs.send(new CreateQueueCommand({ QueueName: name("v"), Attributes: { VisibilityTimeout: "99999999" } })));
    expect(invalid).toMatchObject({ name: "InvalidAttributeValue", status: 400 });
    const redrive = await sqsError(sqs.send(new CreateQueueCommand({ QueueName: name("r"), Attributes: { RedrivePolicy: "{not json" } })));
    expect(redrive.name).toBe("InvalidAttributeValue");
    const missing = await sqsError(sqs.send(new GetQueueUrlCommand({ QueueName: name("never") })));
    expect(missing).toMatchObject({ name: "QueueDoesNotExist", status: 400, code: "AWS.SimpleQueueService.NonExistentQueue" });
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name("unsup") }));
    expect((await sqsError(sqs.send(new TagQueueCommand({ QueueUrl, Tags: { a: "b" } })))).name).toBe("UnsupportedOperation");
    expect((await sqsError(sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl })))).name).toBe("UnsupportedOperation");
  });

  it("delays messages by the queue's DelaySeconds, purges, and lists by prefix a page at a time", async () => {
    const prefix = name("listing");
    const urls: string[] = [];
    for (const suffix of ["a", "b", "c"]) urls.push((await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}_${suffix}` }))).QueueUrl!);
    await sqs.send(new CreateQueueCommand({ QueueName: name("other") }));
    expect((await sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix }))).QueueUrls).toEqual(urls);
    const first = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 2 }));
    expect(first.QueueUrls).toEqual(urls.slice(0, 2));
    const second = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 2, NextToken: first.NextToken }));
    expect(second.QueueUrls).toEqual(urls.slice(2));

    const url = urls[0]!;
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { DelaySeconds: "600" } }));
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "later" }));
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "now", DelaySeconds: 0 }));
    const counts = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"] }));
    expect(counts.Attributes).toEqual({ ApproximateNumberOfMessages: "1", ApproximateNumberOfMessagesDelayed: "1" });
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    const purged = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }));
    expect(purged.Attributes).toMatchObject({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesDelayed: "0", ApproximateNumberOfMessagesNotVisible: "0" });
  });

  it("deletes a queue: its messages go, it leaves the listing, and the name starts afresh", async () => {
    const queue = name("doomed");
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queue, Attributes: { VisibilityTimeout: "7" } }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "gone soon" }));
    await sqs.send(new DeleteQueueCommand({ QueueUrl }));
    expect((await sqsError(sqs.send(new GetQueueUrlCommand({ QueueName: queue })))).name).toBe("QueueDoesNotExist");
    expect((await sqs.send(new ListQueuesCommand({ QueueNamePrefix: queue }))).QueueUrls ?? []).toEqual([]);
    expect((await sqsError(sqs.send(new DeleteQueueCommand({ QueueUrl })))).name).toBe("QueueDoesNotExist");
    await sqs.send(new CreateQueueCommand({ QueueName: queue }));
    const fresh = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["ApproximateNumberOfMessages", "VisibilityTimeout"] }));
    expect(fresh.Attributes).toEqual({ ApproximateNumberOfMessages: "0", VisibilityTimeout: "30" });
  });

  it("answers SDKs pointed at the origin (POST /) as at /sqs, and still serves the console on GET /", async () => {
    const origin = sqsClient(server, { path: "" });
    try {
      const queue = name("origin");
      const { QueueUrl } = await origin.send(new CreateQueueCommand({ QueueName: queue }));
      await origin.send(new SendMessageCommand({ QueueUrl, MessageBody: "via /" }));
      const { Messages } = await origin.send(new ReceiveMessageCommand({ QueueUrl }));
      expect(Messages?.map((message) => message.Body)).toEqual(["via /"]);
    } finally {
      origin.destroy();
    }
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<html");
    // A POST to / that is not SQS is what it was before: not the worker's business.
    expect((await fetch(`${server.url}/`, { method: "POST", body: "x" })).status).toBe(405);
  });
});

describe("credentials", () => {
  it("refuses a wrong secret, an unknown key id and an expired signature with SQS's 403s", async () => {
    const wrong = sqsClient(server, { secretAccessKey: "not-the-root-key" });
    const unknown = sqsClient(server, { accessKeyId: "AKIAEXAMPLE", secretAccessKey: ROOT_KEY });
    // The SDK corrects its clock from a skew error's Date header only when retrying; one attempt.
    const late = sqsClient(server, { extra: { systemClockOffset: -20 * 60 * 1000 } });
    try {
      expect(await sqsError(wrong.send(new ListQueuesCommand({})))).toMatchObject({ name: "SignatureDoesNotMatch", status: 403 });
      expect(await sqsError(unknown.send(new ListQueuesCommand({})))).toMatchObject({ name: "InvalidClientTokenId", status: 403 });
      const expired = await sqsError(late.send(new ListQueuesCommand({})));
      expect(expired).toMatchObject({ name: "SignatureDoesNotMatch", status: 403 });
      expect(expired.message).toContain("Signature expired");
    } finally {
      for (const client of [wrong, unknown, late]) client.destroy();
    }
    const unsigned = await fetch(`${server.url}/sqs`, { method: "POST", headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.ListQueues" }, body: "{}" });
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get("x-amzn-query-error")).toBe("MissingAuthenticationToken;Sender");
    expect(await unsigned.json()).toMatchObject({ __type: "com.amazonaws.sqs#MissingAuthenticationToken" });
  });

  it("mints scoped SQS credentials from the root key and from a scoped token, and enforces their scopes", async () => {
    const team = name("team");
    const work = `${team}_work`;
    const other = name("elsewhere");
    for (const queue of [work, other]) await sqs.send(new CreateQueueCommand({ QueueName: queue }));
    const minted = await call<{ accessKeyId: string; secretAccessKey: string; expiresAt: number }>(
      server,
      "POST",
      "/v1/tokens/sqs",
      { scopes: { publish: [`${team}_*`], consume: [`${team}_*`] }, ttlSeconds: 600 },
      201,
    );
    expect(minted.expiresAt).toBeGreaterThan(Date.now());
    // The access key id is not a bearer token for the HTTP API.
    const bearer = await fetch(`${server.url}/v1/queues/${work}`, { headers: { authorization: `Bearer ${minted.accessKeyId}` } });
    expect(bearer.status).toBe(401);

    const scoped = sqsClient(server, { accessKeyId: minted.accessKeyId, secretAccessKey: minted.secretAccessKey });
    try {
      const workUrl = `${server.url}/sqs/000000000000/${work}`;
      await scoped.send(new SendMessageCommand({ QueueUrl: workUrl, MessageBody: "in scope" }));
      const { Messages } = await scoped.send(new ReceiveMessageCommand({ QueueUrl: workUrl }));
      expect(Messages?.map((message) => message.Body)).toEqual(["in scope"]);
      expect((await scoped.send(new ListQueuesCommand({}))).QueueUrls).toEqual([workUrl]);
      const denied = await sqsError(scoped.send(new SendMessageCommand({ QueueUrl: `${server.url}/sqs/000000000000/${other}`, MessageBody: "x" })));
      expect(denied).toMatchObject({ name: "AccessDenied", status: 403 });
      expect((await sqsError(scoped.send(new PurgeQueueCommand({ QueueUrl: workUrl })))).name).toBe("AccessDenied");
      const forged = sqsClient(server, { accessKeyId: minted.accessKeyId, secretAccessKey: `${minted.secretAccessKey}x` });
      expect((await sqsError(forged.send(new ListQueuesCommand({})))).name).toBe("SignatureDoesNotMatch");
      forged.destroy();
    } finally {
      scoped.destroy();
    }

    // A holder of a scoped token mints SQS credentials with its scopes, never wider.
    const { token } = await call<{ token: string }>(server, "POST", "/v1/tokens", { scopes: { consume: [work] }, ttlSeconds: 300 }, 201);
    const asToken = (body: unknown) => fetch(`${server.url}/v1/tokens/sqs`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    expect((await asToken({ scopes: { publish: [work] } })).status).toBe(403);
    const fromToken = (await (await asToken({})).json()) as { accessKeyId: string; secretAccessKey: string; expiresAt: number };
    const consumer = sqsClient(server, { accessKeyId: fromToken.accessKeyId, secretAccessKey: fromToken.secretAccessKey });
    try {
      const workUrl = `${server.url}/sqs/000000000000/${work}`;
      await sqs.send(new SendMessageCommand({ QueueUrl: workUrl, MessageBody: "for the token's consumer" }));
      const { Messages } = await consumer.send(new ReceiveMessageCommand({ QueueUrl: workUrl }));
      expect(Messages?.map((message) => message.Body)).toEqual(["for the token's consumer"]);
      expect((await sqsError(consumer.send(new SendMessageCommand({ QueueUrl: workUrl, MessageBody: "x" })))).name).toBe("AccessDenied");
    } finally {
      consumer.destroy();
    }
  });
});
