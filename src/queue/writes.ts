/**
 * The queue's writes that callers wait on, group-committed (commit/group-commit.ts):
 * enqueues, acks and nacks that reach the queue together are applied in arrival order in one
 * transaction. Each keeps its own answer: a result per message or per lease id, and a
 * request that fails is undone alone.
 */
import { GroupCommit } from "../commit/group-commit";
import type { QueueConfig } from "../protocol/schemas";
import type { EnqueueResult, LeaseResult, PreparedQueueMessage, QueueStore } from "./store";

type QueueWrite =
  | { kind: "enqueue"; messages: readonly PreparedQueueMessage[] }
  | { kind: "ack"; leaseIds: readonly string[] }
  | { kind: "nack"; leaseIds: readonly string[]; delayMs: number | null };

type WriteResult = { kind: "enqueue"; results: EnqueueResult[] } | { kind: "lease"; results: LeaseResult[] };

export interface CommittedWrites {
  /** Some message was stored (not only duplicates). */
  enqueued: boolean;
  now: number;
}

export class QueueWrites {
  private readonly group: GroupCommit<QueueWrite, WriteResult>;

  constructor(
    storage: DurableObjectStorage,
    /** Read at each flush: a group still waiting when the queue is deleted and re-opened writes to the fresh queue, after the delete. */
    private readonly store: () => QueueStore,
    private readonly config: () => QueueConfig,
    /** After each group's transaction, before its answers: push to consumers, wake waiters, alarm. */
    afterCommit: (committed: CommittedWrites) => Promise<void>,
  ) {
    this.group = new GroupCommit(storage, {
      apply: (write, now) => store().foldCounterWrites(() => this.apply(write, now)),
      checkpoint: () => store().checkpoint(),
      afterCommit: (applied, now) =>
        afterCommit({ enqueued: applied.some(({ result }) => result.kind === "enqueue" && result.results.some((item) => !item.duplicate)), now }),
      weigh: (write) => (write.kind === "enqueue" ? write.messages.length : write.leaseIds.length),
    });
  }

  /** Transactions committed and the requests they held (stats, tests). */
  get stats(): { commits: number; requests: number } {
    return { commits: this.group.commits, requests: this.group.requests };
  }

  async enqueue(messages: readonly PreparedQueueMessage[]): Promise<EnqueueResult[]> {
    return (await this.group.submit({ kind: "enqueue", messages })).results as EnqueueResult[];
  }

  async ack(leaseIds: readonly string[]): Promise<LeaseResult[]> {
    return (await this.group.submit({ kind: "ack", leaseIds })).results as LeaseResult[];
  }

  async nack(leaseIds: readonly string[], delayMs: number | null): Promise<LeaseResult[]> {
    return (await this.group.submit({ kind: "nack", leaseIds, delayMs })).results as LeaseResult[];
  }

  private apply(write: QueueWrite, now: number): WriteResult {
    const config = this.config();
    const store = this.store();
    switch (write.kind) {
      case "enqueue":
        return { kind: "enqueue", results: store.enqueue(write.messages, now, config.dedupWindowSeconds * 1000) };
      case "ack":
        return { kind: "lease", results: write.leaseIds.map((leaseId) => store.ack(leaseId, now)) };
      case "nack":
        return { kind: "lease", results: write.leaseIds.map((leaseId) => store.nack(leaseId, now, write.delayMs, config)) };
    }
  }
}
