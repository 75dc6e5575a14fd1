/**
 * The transport-free paths of publishing, enqueueing and reading history: validation of the
 * body (the contract's schemas), preparation (serialised once, size checked) and the call to
 * the object. The HTTP routes and the service binding (src/service) both call these, so the two
 * accept and answer exactly the same; errors are thrown as ApiError with the contract's codes.
 */
import type { Env } from "../env";
import { ApiError } from "../protocol/errors";
import type { MessageRow } from "../protocol/frames";
import { DEFAULT_HISTORY_LIMIT } from "../protocol/limits";
import { isValidName, NAME_PATTERN_SOURCE } from "../protocol/names";
import { QueueMessageInput, TopicMessageInput } from "../protocol/schemas";
import type { EnqueueMessage } from "../queue/requests";
import { maxMessageBytes, parsePublishBody, prepareMessage } from "../http/body";
import { publishByPartition } from "../partition/publish";
import { readPartitionHistory, type PartitionHistory } from "../partition/history";

export interface PublishOutcome {
  batch: boolean;
  /** `partition` on topics of more than one partition. */
  results: { seq: number; id: string; duplicate?: true; partition?: number }[];
}

/** Throw 400 `invalid_name` unless `name` is a valid topic or queue name. */
export function checkName(kind: "topic" | "queue", name: unknown): string {
  if (typeof name !== "string" || !isValidName(name)) {
    throw new ApiError(400, "invalid_name", `${kind} name must match ${NAME_PATTERN_SOURCE}`);
  }
  return name;
}

/**
 * One message or `{"messages": [...]}` to a topic: all or nothing, in order (per partition on
 * a partitioned topic: partition/publish.ts).
 */
export async function publishToTopic(env: Env, topic: string, body: unknown): Promise<PublishOutcome> {
  const { batch, messages } = parsePublishBody(TopicMessageInput, body);
  const limit = maxMessageBytes(env);
  const items = messages.map((message, index) => ({ message: prepareMessage(message, limit, batch ? index : undefined), key: message.key }));
  return { batch, results: await publishByPartition(env, topic, items) };
}

/** One message or `{"messages": [...]}` to a queue, each with an optional `delaySeconds` (else the queue's). */
export async function enqueueToQueue(env: Env, queue: string, body: unknown): Promise<PublishOutcome> {
  const { batch, messages } = parsePublishBody(QueueMessageInput, body);
  const limit = maxMessageBytes(env);
  const prepared: EnqueueMessage[] = messages.map((message, index) => ({
    ...prepareMessage(message, limit, batch ? index : undefined),
    // null: the queue's own delaySeconds.
    delayMs: message.delaySeconds === undefined ? null : message.delaySeconds * 1000,
  }));
  return { batch, results: await env.QUEUE.getByName(queue).enqueue(prepared) };
}

/** The HTTP answer of a publish or enqueue: its status and body. */
export function publishAnswer(outcome: PublishOutcome): { status: 200 | 201; body: PublishOutcome["results"][number] | { messages: PublishOutcome["results"] } } {
  const status = outcome.results.every((result) => result.duplicate) ? 200 : 201;
  return { status, body: outcome.batch ? { messages: outcome.results } : outcome.results[0]! };
}

/**
 * A page of a topic's retained log, oldest first (the rows' JSON as stored); of one partition,
 * which a topic of more than one requires (400 `invalid_query` otherwise).
 */
export async function readHistory(env: Env, topic: string, after: number | undefined, limit: number | undefined, partition?: number): Promise<PartitionHistory> {
  return readPartitionHistory(env, topic, after ?? 0, limit ?? DEFAULT_HISTORY_LIMIT, partition);
}
