/**
 * Object names of a topic's partitions (issue 11). Partition 0 is the object named `<topic>`,
 * so a topic of one partition is exactly the topic it always was; partition i > 0 is the
 * object `<topic>#<i>` in the same TOPIC namespace. `#` cannot occur in a topic name
 * (protocol/names.ts), so these names never collide with a topic's own.
 */

export const PARTITION_SEPARATOR = "#";

export interface PartitionName {
  /** The topic's name as clients know it. */
  topic: string;
  /** 0 for the topic's own object. */
  partition: number;
}

export function partitionObjectName(topic: string, partition: number): string {
  return partition === 0 ? topic : `${topic}${PARTITION_SEPARATOR}${partition}`;
}

/**
 * The topic and partition an object name stands for. A name without `#` (or with a suffix
 * that is not a partition number, which the worker never creates) is partition 0 of itself.
 */
export function parsePartitionObjectName(objectName: string): PartitionName {
  const at = objectName.indexOf(PARTITION_SEPARATOR);
  if (at < 0) return { topic: objectName, partition: 0 };
  const suffix = objectName.slice(at + 1);
  if (!/^[1-9]\d{0,3}$/.test(suffix)) return { topic: objectName, partition: 0 };
  return { topic: objectName.slice(0, at), partition: Number(suffix) };
}
