/**
 * Queue actions: CreateQueue, GetQueueUrl, ListQueues, GetQueueAttributes, SetQueueAttributes,
 * PurgeQueue, DeleteQueue. Each validates like the HTTP routes (src/http/queues.ts) and calls
 * the same object methods (DeleteQueue: src/lifecycle/delete.ts, as the route); existence is
 * the directory's list of names.
 */
import { DIRECTORY_NAME } from "../../directory/directory-object";
import { maxMessageBytes, parseWith } from "../../http/body";
import { unwrap } from "../../http/errors";
import { deleteQueue } from "../../lifecycle/delete";
import { isValidName } from "../../protocol/names";
import { QueueConfigInput } from "../../protocol/schemas";
import { queueUrl } from "../addressing";
import { authorize, authorizeAny, mayAny, queueRequest, queueStub, type SqsContext } from "../context";
import { SqsError } from "../errors";
import { CreateQueueInput, GetQueueAttributesInput, GetQueueUrlInput, ListQueuesInput, parseInput, QueueOnlyInput, SetQueueAttributesInput } from "../input";
import { readAttributes, sameSettings, toConfigUpdate } from "../queue-attributes";

function directory(ctx: SqsContext) {
  return ctx.env.DIRECTORY.getByName(DIRECTORY_NAME);
}

function checkQueueName(name: string): void {
  if (name.endsWith(".fifo")) throw new SqsError("UnsupportedOperation", "FIFO queues (.fifo names) are not supported by edgepost yet; use a standard queue");
  if (!isValidName(name)) throw new SqsError("InvalidParameterValue", `Queue name ${JSON.stringify(name.slice(0, 200))} must match ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`);
}

async function requireQueue(ctx: SqsContext, queue: string): Promise<number> {
  const entry = await directory(ctx).lookup("queue", queue);
  if (!entry) throw new SqsError("QueueDoesNotExist", "The specified queue does not exist.");
  return entry.createdAt;
}

export async function createQueue(ctx: SqsContext, body: unknown) {
  const input = parseInput(CreateQueueInput, body);
  checkQueueName(input.QueueName);
  authorize(ctx, "admin", input.QueueName);
  const update = parseWith(QueueConfigInput, toConfigUpdate(input.Attributes ?? {}));
  const stub = queueStub(ctx, input.QueueName);
  if (await directory(ctx).lookup("queue", input.QueueName)) {
    // SQS: creating an existing queue is fine unless the attributes differ.
    if (!sameSettings(update, await stub.getConfig())) {
      throw new SqsError("QueueNameExists", `A queue already exists with the same name and a different value for attribute(s) ${Object.keys(input.Attributes ?? {}).join(", ")}`);
    }
    return { QueueUrl: queueUrl(ctx.origin, input.QueueName) };
  }
  unwrap(await stub.configure(update));
  // The object registers itself in the background; listing must see the queue at once.
  await directory(ctx).register("queue", input.QueueName);
  return { QueueUrl: queueUrl(ctx.origin, input.QueueName) };
}

export async function getQueueUrl(ctx: SqsContext, body: unknown) {
  const input = parseInput(GetQueueUrlInput, body);
  if (!isValidName(input.QueueName)) throw new SqsError("QueueDoesNotExist", "The specified queue does not exist.");
  authorizeAny(ctx, input.QueueName);
  await requireQueue(ctx, input.QueueName);
  return { QueueUrl: queueUrl(ctx.origin, input.QueueName) };
}

export async function listQueues(ctx: SqsContext, body: unknown) {
  const input = parseInput(ListQueuesInput, body);
  const prefix = input.QueueNamePrefix ?? "";
  const limit = input.MaxResults ?? 1000;
  const entries = await directory(ctx).list("queue", input.NextToken ?? "", limit, prefix);
  const visible = entries.filter((entry) => mayAny(ctx, entry.name));
  const result: { QueueUrls: string[]; NextToken?: string } = { QueueUrls: visible.map((entry) => queueUrl(ctx.origin, entry.name)) };
  // SQS pages only when MaxResults is given.
  if (input.MaxResults !== undefined && entries.length === limit) result.NextToken = entries[entries.length - 1]!.name;
  return result;
}

export async function getQueueAttributes(ctx: SqsContext, body: unknown) {
  const { input, queue } = queueRequest(ctx, GetQueueAttributesInput, body, "any");
  const createdAt = await requireQueue(ctx, queue);
  const names = input.AttributeNames ?? [];
  if (names.length === 0) return {};
  const stats = await queueStub(ctx, queue).stats();
  return { Attributes: readAttributes(names, { stats, createdAt, region: ctx.region, maxMessageBytes: maxMessageBytes(ctx.env) }) };
}

export async function setQueueAttributes(ctx: SqsContext, body: unknown) {
  const { input, queue } = queueRequest(ctx, SetQueueAttributesInput, body, "admin");
  const update = parseWith(QueueConfigInput, toConfigUpdate(input.Attributes));
  unwrap(await queueStub(ctx, queue).configure(update));
  return {};
}

/** The same deletion as DELETE /v1/queues/{queue}: state, links and the listing go (404 -> QueueDoesNotExist). */
export async function deleteQueueAction(ctx: SqsContext, body: unknown) {
  const { input, queue } = queueRequest(ctx, QueueOnlyInput, body, "admin");
  await deleteQueue(ctx.env, queue);
  return {};
}

export async function purgeQueue(ctx: SqsContext, body: unknown) {
  const { input, queue } = queueRequest(ctx, QueueOnlyInput, body, "admin");
  await queueStub(ctx, queue).purge();
  return {};
}
