/**
 * ReceiveMessage: a pull from the queue's object (as POST /v1/queues/{queue}/pull), each
 * leased message answered the SQS way: the body byte-exact, a receipt handle that encodes the
 * lease, the system attributes asked for and the message attributes asked for, with digests.
 */
import type { LeasedRow } from "../../protocol/frames";
import * as L from "../../protocol/limits";
import { receiptHandle } from "../addressing";
import { queueRequest, queueStub, type SqsContext } from "../context";
import { SqsError } from "../errors";
import { ReceiveMessageInput } from "../input";
import { md5Hex } from "../md5";
import { fromEdgepostAttributes, md5OfWireAttributes, selectAttributes } from "../message-attributes";
import { unwrap } from "../../http/errors";

const SYSTEM_ATTRIBUTES = ["ApproximateReceiveCount", "SentTimestamp", "ApproximateFirstReceiveTimestamp"] as const;

function range(name: string, value: number | undefined, min: number, max: number): void {
  if (value !== undefined && (value < min || value > max)) {
    throw new SqsError("InvalidParameterValue", `Value ${value} for parameter ${name} is invalid. Reason: Must be between ${min} and ${max}, if provided.`);
  }
}

/** The message's body: `data` stored as a JSON string is the body; other JSON is its text. */
function bodyOf(data: string): string {
  if (data.startsWith('"')) return JSON.parse(data) as string;
  return data;
}

async function toSqsMessage(queue: string, row: LeasedRow, systemNames: readonly string[], attributeNames: readonly string[] | undefined) {
  const body = bodyOf(row.data);
  const message: Record<string, unknown> = {
    MessageId: row.id,
    ReceiptHandle: receiptHandle(queue, row.leaseId),
    MD5OfBody: await md5Hex(body),
    Body: body,
  };
  const wantsAll = systemNames.includes("All");
  const system: Record<string, string> = {};
  const values = { ApproximateReceiveCount: row.attempt, SentTimestamp: row.publishedAt, ApproximateFirstReceiveTimestamp: row.firstLeasedAt };
  for (const name of SYSTEM_ATTRIBUTES) if (wantsAll || systemNames.includes(name)) system[name] = String(values[name]);
  if (Object.keys(system).length > 0) message.Attributes = system;
  const selected = selectAttributes(fromEdgepostAttributes(row.attributes === null ? null : (JSON.parse(row.attributes) as Record<string, string>)), attributeNames);
  if (Object.keys(selected).length > 0) {
    message.MessageAttributes = selected;
    message.MD5OfMessageAttributes = await md5OfWireAttributes(selected);
  }
  return message;
}

export async function receiveMessage(ctx: SqsContext, body: unknown) {
  const { input, queue } = queueRequest(ctx, ReceiveMessageInput, body, "consume");
  range("MaxNumberOfMessages", input.MaxNumberOfMessages, 1, 10);
  range("VisibilityTimeout", input.VisibilityTimeout, 0, L.MAX_VISIBILITY_TIMEOUT_SECONDS);
  range("WaitTimeSeconds", input.WaitTimeSeconds, 0, L.MAX_WAIT_SECONDS);
  // Edgepost leases last at least a second: a VisibilityTimeout of 0 is served as 1.
  const visibility = input.VisibilityTimeout === undefined ? null : Math.max(L.MIN_VISIBILITY_TIMEOUT_SECONDS, input.VisibilityTimeout);
  // The object's long poll (queue/waiters.ts): answered as soon as a message is ready, else
  // after WaitTimeSeconds; without one (null), after the queue's ReceiveMessageWaitTimeSeconds.
  // pull answers an Outcome (409 push_queue on a push queue); its ApiError maps to SQS's errors.
  const leased = unwrap(await queueStub(ctx, queue).pull(input.MaxNumberOfMessages ?? 1, visibility, input.WaitTimeSeconds ?? null));
  // Newer SDKs send MessageSystemAttributeNames, older ones AttributeNames: both count.
  const systemNames = [...(input.MessageSystemAttributeNames ?? []), ...(input.AttributeNames ?? [])];
  return { Messages: await Promise.all(leased.map((row) => toSqsMessage(queue, row, systemNames, input.MessageAttributeNames))) };
}
