/**
 * History of a topic by partition (issue 11): with more than one partition a read names its
 * partition (`?partition=i`) and goes to that partition's object, which checks the number
 * against the count it holds (so no route lookup is needed); rows then carry `partition`.
 */
import type { Env } from "../env";
import { unwrap } from "../http/errors";
import type { MessageRow } from "../protocol/frames";
import { partitionObjectName } from "./names";

export interface PartitionHistory {
  messages: MessageRow[];
  lastSeq: number;
  /** The partition read, when the topic has more than one (rows then show it); else undefined. */
  partition: number | undefined;
}

export async function readPartitionHistory(env: Env, topic: string, after: number, limit: number, partition: number | undefined): Promise<PartitionHistory> {
  const page = unwrap(await env.TOPIC.getByName(partitionObjectName(topic, partition ?? 0)).readPartition(after, limit, partition ?? null));
  return { messages: page.messages, lastSeq: page.lastSeq, partition: page.partitions > 1 ? (partition ?? 0) : undefined };
}

/** The `"partition":i,` put before a row's fields, or nothing on a topic of one partition. */
export function partitionPrefix(partition: number | undefined): string {
  return partition === undefined ? "" : `"partition":${partition},`;
}
