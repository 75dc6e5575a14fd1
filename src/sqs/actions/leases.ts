/**
 * DeleteMessage(+Batch) and ChangeMessageVisibility(+Batch): a receipt handle names one lease,
 * and these are the object's ack, extend and nack (visibility 0) of it, as the HTTP routes'.
 * As on AWS, deleting with a stale handle succeeds and deletes nothing; changing the
 * visibility of a message not in flight under that handle is MessageNotInflight.
 */
import * as L from "../../protocol/limits";
import type { LeaseResult } from "../../protocol/schemas";
import { leaseOf } from "../addressing";
import { queueRequest, queueStub, type SqsContext } from "../context";
import { SqsError } from "../errors";
import { ChangeVisibilityBatchInput, ChangeVisibilityInput, checkBatch, DeleteMessageBatchInput, DeleteMessageInput, failure, sortEntries } from "../input";

function checkVisibility(value: number): void {
  if (value < 0 || value > L.MAX_VISIBILITY_TIMEOUT_SECONDS) {
    throw new SqsError("InvalidParameterValue", `Value ${value} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and ${L.MAX_VISIBILITY_TIMEOUT_SECONDS}.`);
  }
}

/** Visibility 0 gives the message back now (a nack without delay); more extends the lease. */
function changeVisibility(ctx: SqsContext, queue: string, leaseIds: string[], seconds: number): Promise<LeaseResult[]> {
  const stub = queueStub(ctx, queue);
  return seconds === 0 ? stub.nack(leaseIds, 0) : stub.extend(leaseIds, seconds);
}

const notInflight = () => new SqsError("MessageNotInflight", "The message referred to is not in flight (its receipt handle is stale).");

export async function deleteMessage(ctx: SqsContext, body: unknown) {
  const { input, queue } = queueRequest(ctx, DeleteMessageInput, body, "consume");
  await queueStub(ctx, queue).ack([leaseOf(input.ReceiptHandle, queue)]);
  return {};
}

export async function deleteMessageBatch(ctx: SqsContext, body: unknown) {
  const { input, queue } = queueRequest(ctx, DeleteMessageBatchInput, body, "consume");
  checkBatch(input.Entries);
  const { accepted, failed } = await sortEntries(input.Entries, (entry) => leaseOf(entry.ReceiptHandle, queue));
  if (accepted.length > 0) await queueStub(ctx, queue).ack(accepted.map((entry) => entry.value));
  return { Successful: accepted.map((entry) => ({ Id: entry.id })), Failed: failed };
}

export async function changeMessageVisibility(ctx: SqsContext, body: unknown) {
  const { input, queue } = queueRequest(ctx, ChangeVisibilityInput, body, "consume");
  checkVisibility(input.VisibilityTimeout);
  const [result] = await changeVisibility(ctx, queue, [leaseOf(input.ReceiptHandle, queue)], input.VisibilityTimeout);
  if (!result!.ok) throw notInflight();
  return {};
}

export async function changeMessageVisibilityBatch(ctx: SqsContext, body: unknown) {
  const { input, queue } = queueRequest(ctx, ChangeVisibilityBatchInput, body, "consume");
  checkBatch(input.Entries);
  const { accepted, failed } = await sortEntries(input.Entries, (entry) => {
    checkVisibility(entry.VisibilityTimeout);
    return { seconds: entry.VisibilityTimeout, leaseId: leaseOf(entry.ReceiptHandle, queue) };
  });
  const successful: { Id: string }[] = [];
  // One call per distinct timeout (the object's extend takes one for a list of leases).
  const byTimeout = new Map<number, { id: string; leaseId: string }[]>();
  for (const { id, value } of accepted) byTimeout.set(value.seconds, [...(byTimeout.get(value.seconds) ?? []), { id, leaseId: value.leaseId }]);
  for (const [seconds, group] of byTimeout) {
    const results = await changeVisibility(ctx, queue, group.map((entry) => entry.leaseId), seconds);
    group.forEach((entry, index) => (results[index]!.ok ? successful.push({ Id: entry.id }) : failed.push(failure(entry.id, notInflight()))));
  }
  return { Successful: successful, Failed: failed };
}
