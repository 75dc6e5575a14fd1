/**
 * Stats of a topic across its partitions (issue 11): partition 0 answers for the topic
 * (settings, subscribers, bindings); the logs of partitions 1..P-1 are added to its
 * `partitionStats`. With more than one partition the top-level `lastSeq`, `retainedMessages`
 * and `retainedBytes` are sums (lastSeq: messages ever published to the topic),
 * `oldestRetainedAt` is the oldest, and `firstRetainedSeq` is null: a seq means something only
 * within its partition (README "Partitioned topics").
 */
import type { Env } from "../env";
import type { TopicStats } from "../protocol/schemas";
import { partitionObjectName } from "./names";
import { otherPartitions } from "./peers";

export async function topicStats(env: Env, topic: string): Promise<TopicStats> {
  const first = await env.TOPIC.getByName(topic).stats();
  if (first.partitions <= 1) return first;
  const others = await Promise.all(otherPartitions(first.partitions).map((partition) => env.TOPIC.getByName(partitionObjectName(topic, partition)).stats()));
  const partitionStats = [first, ...others].flatMap((stats) => stats.partitionStats);
  const sum = (pick: (entry: (typeof partitionStats)[number]) => number) => partitionStats.reduce((total, entry) => total + pick(entry), 0);
  const oldest = partitionStats.map((entry) => entry.oldestRetainedAt).filter((at): at is number => at !== null);
  return {
    ...first,
    lastSeq: sum((entry) => entry.lastSeq),
    retainedMessages: sum((entry) => entry.retainedMessages),
    retainedBytes: sum((entry) => entry.retainedBytes),
    firstRetainedSeq: null,
    oldestRetainedAt: oldest.length > 0 ? Math.min(...oldest) : null,
    partitionStats,
  };
}
