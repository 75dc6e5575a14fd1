/**
 * Partition 0's side of a partitioned topic (issue 11). Partition 0 holds the topic's settings
 * and its queue bindings; it pushes them to partitions 1..P-1 (so each partition trims, dedups
 * and forwards like the topic), binds and unbinds queues on every partition, and deletes the
 * partitions with the topic. Pushes are idempotent: a PUT retried after a failure heals.
 */
import type { Env } from "../env";
import { fail, type Outcome } from "../protocol/errors";
import type { TopicConfig, TopicConfigInput } from "../protocol/schemas";
import { mergeTopicConfig } from "../topic/config";
import type { Subscription } from "../topic/forwarding";
import { partitionObjectName } from "./names";

/** What partition 0 pushes: the whole settings and the whole list of bound queues. */
export interface PartitionState {
  config: TopicConfig;
  subscriptions: Subscription[];
}

export interface PartitionBinding {
  partition: number;
  /** The first seq of that partition the queue receives. */
  fromSeq: number;
}

/** A topic object's answer to bindQueue. */
export interface QueueBinding {
  queue: string;
  filter: Record<string, string> | null;
  /** The first seq the queue receives (of partition 0 on a partitioned topic). */
  fromSeq: number;
  /** On partition 0 of a topic of more than one partition: every partition's first seq. */
  partitions?: PartitionBinding[];
}

/** Partitions 1..count-1: the ones partition 0 speaks for. */
export function otherPartitions(count: number): number[] {
  return Array.from({ length: Math.max(0, count - 1) }, (_, index) => index + 1);
}

export class PartitionPeers {
  /** Changes of settings and bindings run one at a time: each pushes a state built on the last. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly env: Env,
    private readonly topic: () => string,
  ) {}

  serial<T>(run: () => Promise<T>): Promise<T> {
    const next = this.tail.then(run, run);
    this.tail = next.catch(() => undefined);
    return next;
  }

  private stub(partition: number) {
    return this.env.TOPIC.getByName(partitionObjectName(this.topic(), partition));
  }

  /** Settings and bindings to partitions 1..P-1, before partition 0 keeps them (see TopicObject.configure). */
  async push(state: PartitionState): Promise<void> {
    await Promise.all(otherPartitions(state.config.partitions).map((partition) => this.stub(partition).configurePartition(state)));
  }

  /**
   * Partition 0's next settings: a shrink refused (409), else pushed to partitions 1..P-1
   * (every time, so a retried PUT heals an earlier failed push) for partition 0 to save.
   */
  async reconfigure(current: TopicConfig, update: TopicConfigInput, subscriptions: Subscription[]): Promise<Outcome<TopicConfig>> {
    const topic = this.topic();
    if (update.partitions !== undefined && update.partitions < current.partitions) {
      return fail(409, "partitions_shrink", `topic ${topic} has ${current.partitions} partitions; partitions may grow but never shrink (asked for ${update.partitions})`);
    }
    const next = mergeTopicConfig(current, update);
    try {
      await this.push({ config: next, subscriptions });
    } catch (error) {
      console.warn(`topic ${topic}: pushing settings to its partitions failed`, error);
      return fail(503, "unavailable", `topic ${topic}: a partition could not be reached; nothing changed, retry`);
    }
    return { ok: true, value: next };
  }

  /**
   * Partition 0 binds a queue here (`bindHere`, its first seq) and on partitions 1..P-1.
   * Serial with settings changes, so a grow pushes a list that has it.
   */
  bindAll(partitions: () => number, queue: string, filter: Record<string, string> | null, bindHere: () => number): Promise<QueueBinding> {
    return this.serial(async () => {
      const count = partitions();
      const fromSeq = bindHere();
      if (count === 1) return { queue, filter, fromSeq };
      const others = await Promise.all(
        otherPartitions(count).map(async (partition) => ({ partition, fromSeq: (await this.stub(partition).bindQueue(queue, filter)).fromSeq })),
      );
      return { queue, filter, fromSeq, partitions: [{ partition: 0, fromSeq }, ...others] };
    });
  }

  async unbind(count: number, queue: string): Promise<void> {
    await Promise.all(otherPartitions(count).map((partition) => this.stub(partition).unbindQueue(queue)));
  }

  /** Delete partitions 1..P-1 (each ends its own bindings and wipes itself); partition 0 goes last. */
  async destroy(count: number): Promise<void> {
    await Promise.all(otherPartitions(count).map((partition) => this.stub(partition).destroy()));
  }
}
