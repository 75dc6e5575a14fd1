/**
 * Binding a queue to a topic (PUT/DELETE /v1/topics/{t}/subscriptions/{q}). Partition 0 binds
 * every partition (TopicObject.bindQueue); each partition forwards its own messages in its own
 * order through its own outbox, under its own origin at the queue (`t:<topic>#<i>`), so the
 * queue records a link per partition object: deleting the queue then unbinds each.
 */
import type { Env } from "../env";
import { ApiError } from "../protocol/errors";
import { partitionObjectName } from "./names";

export interface BindingAnswer {
  topic: string;
  queue: string;
  filter: Record<string, string> | null;
  /** The first seq the queue receives (of partition 0 on a partitioned topic). */
  fromSeq: number;
  /** On a topic of more than one partition: each partition's first seq. */
  partitions?: { partition: number; fromSeq: number }[];
}

export async function bindQueueToTopic(env: Env, topic: string, queue: string, filter: Record<string, string> | null): Promise<BindingAnswer> {
  const binding = await env.TOPIC.getByName(topic).bindQueue(queue, filter);
  const links = binding.partitions ?? [{ partition: 0, fromSeq: binding.fromSeq }];
  // The queue records the binding, so deleting the queue can end it (lifecycle/links.ts).
  const stub = env.QUEUE.getByName(queue);
  await Promise.all(links.map((link) => stub.linkTopic(partitionObjectName(topic, link.partition), link.fromSeq)));
  return { topic, ...binding };
}

export async function unbindQueueFromTopic(env: Env, topic: string, queue: string): Promise<void> {
  const removed = await env.TOPIC.getByName(topic).unbindQueue(queue);
  if (!removed) throw new ApiError(404, "not_found", `queue ${queue} is not bound to topic ${topic}`);
  // Unlinks the topic's partitions too (lifecycle/links.ts).
  await env.QUEUE.getByName(queue).unlinkTopic(topic);
}
