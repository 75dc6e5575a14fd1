/**
 * The request shapes of the supported actions (AWS JSON 1.0: PascalCase members). Unknown
 * members are ignored, as SDKs add new optional ones over time; wrong types and missing
 * required members are SQS's MissingParameter / InvalidParameterValue.
 */
import { z } from "zod";
import { ApiError } from "../protocol/errors";
import { fromApiError, SqsError } from "./errors";

const StringMap = z.record(z.string(), z.string());
const WireAttribute = z.object({
  DataType: z.string(),
  StringValue: z.string().optional(),
  BinaryValue: z.string().optional(),
  StringListValues: z.array(z.string()).optional(),
  BinaryListValues: z.array(z.string()).optional(),
});
const MessageAttributes = z.record(z.string(), WireAttribute);

const Queue = z.object({ QueueUrl: z.string() });

export const CreateQueueInput = z.object({ QueueName: z.string(), Attributes: StringMap.optional(), tags: StringMap.optional() });
export const GetQueueUrlInput = z.object({ QueueName: z.string(), QueueOwnerAWSAccountId: z.string().optional() });
export const ListQueuesInput = z.object({
  QueueNamePrefix: z.string().optional(),
  NextToken: z.string().optional(),
  MaxResults: z.number().int().min(1).max(1000).optional(),
});
export const QueueOnlyInput = Queue;
export const GetQueueAttributesInput = Queue.extend({ AttributeNames: z.array(z.string()).optional() });
export const SetQueueAttributesInput = Queue.extend({ Attributes: StringMap });

const MessageFields = {
  MessageBody: z.string(),
  DelaySeconds: z.number().int().optional(),
  MessageAttributes: MessageAttributes.optional(),
  MessageSystemAttributes: z.record(z.string(), WireAttribute).optional(),
  MessageDeduplicationId: z.string().optional(),
  MessageGroupId: z.string().optional(),
};
export const SendMessageInput = Queue.extend(MessageFields);
export type SendFields = z.infer<z.ZodObject<typeof MessageFields>>;

const Id = z.string();
export const SendMessageBatchInput = Queue.extend({ Entries: z.array(z.object({ Id, ...MessageFields })) });

export const ReceiveMessageInput = Queue.extend({
  AttributeNames: z.array(z.string()).optional(),
  MessageSystemAttributeNames: z.array(z.string()).optional(),
  MessageAttributeNames: z.array(z.string()).optional(),
  MaxNumberOfMessages: z.number().int().optional(),
  VisibilityTimeout: z.number().int().optional(),
  WaitTimeSeconds: z.number().int().optional(),
  ReceiveRequestAttemptId: z.string().optional(),
});

export const DeleteMessageInput = Queue.extend({ ReceiptHandle: z.string() });
export const DeleteMessageBatchInput = Queue.extend({ Entries: z.array(z.object({ Id, ReceiptHandle: z.string() })) });
export const ChangeVisibilityInput = Queue.extend({ ReceiptHandle: z.string(), VisibilityTimeout: z.number().int() });
export const ChangeVisibilityBatchInput = Queue.extend({
  Entries: z.array(z.object({ Id, ReceiptHandle: z.string(), VisibilityTimeout: z.number().int() })),
});

/** Parse with SQS's errors: a missing member is MissingParameter, a wrong one InvalidParameterValue. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.join(".") || "request";
  if (issue.code === "invalid_type" && issue.message.includes("received undefined")) {
    throw new SqsError("MissingParameter", `The request must contain the parameter ${path}.`);
  }
  throw new SqsError("InvalidParameterValue", `Value for parameter ${path} is invalid: ${issue.message}`);
}

/** A batch's entries: 1-10, distinct ids of 1-80 letters, digits, `-` and `_`. */
export function checkBatch(entries: readonly { Id: string }[]): void {
  if (entries.length === 0) throw new SqsError("EmptyBatchRequest", "There should be at least one entry in the request.");
  if (entries.length > 10) throw new SqsError("TooManyEntriesInBatchRequest", `Maximum number of entries per request are 10. You have sent ${entries.length}.`);
  const seen = new Set<string>();
  for (const { Id } of entries) {
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(Id)) throw new SqsError("InvalidBatchEntryId", `A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long: ${JSON.stringify(Id.slice(0, 100))}`);
    if (seen.has(Id)) throw new SqsError("BatchEntryIdsNotDistinct", `Id ${Id} repeated.`);
    seen.add(Id);
  }
}

/** A per-entry failure in a batch answer. */
export interface BatchFailure {
  Id: string;
  SenderFault: boolean;
  Code: string;
  Message: string;
}

export function failure(id: string, error: unknown): BatchFailure {
  if (error instanceof ApiError) error = fromApiError(error);
  if (error instanceof SqsError) return { Id: id, SenderFault: error.fault === "Sender", Code: error.kind, Message: error.message };
  return { Id: id, SenderFault: false, Code: "InternalFailure", Message: String(error) };
}

/**
 * A batch's entries in order, each one `check` accepted (with what it returned) or, if it
 * threw, a failure under its Id: as on AWS, one bad entry fails alone.
 */
export async function sortEntries<Entry extends { Id: string }, T>(
  entries: readonly Entry[],
  check: (entry: Entry) => T | Promise<T>,
): Promise<{ accepted: { id: string; value: T }[]; failed: BatchFailure[] }> {
  const accepted: { id: string; value: T }[] = [];
  const failed: BatchFailure[] = [];
  for (const entry of entries) {
    try {
      accepted.push({ id: entry.Id, value: await check(entry) });
    } catch (error) {
      failed.push(failure(entry.Id, error));
    }
  }
  return { accepted, failed };
}
