/**
 * Helpers for the queue runtime tests: typed calls to the queue routes through the real
 * worker, access to a queue's Durable Object (alarm, storage), and condition polling with
 * explicit timeouts.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Env } from "../../src/env";
import type {
  LeasedMessage,
  LeaseResult,
  PublishResult,
  QueueConfig,
  QueueConfigInput,
  QueueMessageInput,
  QueueStats,
} from "../../src/protocol/schemas";
import { api, json } from "./helpers";

export type { LeasedMessage, LeaseResult, QueueConfig, QueueStats };

/** Short leases and backoff so expiry and retries happen within a test (backoff.ts ranges). */
export const FAST = {
  visibilityTimeoutSeconds: 1,
  backoff: { minSeconds: 0.1, maxSeconds: 0.4 },
} as const;

export type QueueConfigBody = QueueConfigInput;
export type QueueMessageBody = QueueMessageInput;
export type EnqueueResult = PublishResult;

export interface ErrorBody {
  error: { code: string; message: string };
}

const bindings: Env = env;

/** The queue's Durable Object stub, for alarms, eviction and storage inspection. */
export function queueStub(name: string): DurableObjectStub {
  return bindings.QUEUE.getByName(name) as unknown as DurableObjectStub;
}

/** Fail with the response body in the message when the status is not the expected one. */
export async function expectStatus(response: Response, status: number, what: string): Promise<void> {
  if (response.status !== status) throw new Error(`${what}: expected ${status}, got ${response.status}: ${await response.text()}`);
}

export async function configureQueue(name: string, config: QueueConfigBody): Promise<QueueConfig> {
  const response = await api(`/v1/queues/${name}`, { method: "PUT", body: config });
  await expectStatus(response, 200, `configure ${name}`);
  return json<QueueConfig>(response);
}

export async function enqueue(name: string, message: QueueMessageBody): Promise<EnqueueResult> {
  const response = await api(`/v1/queues/${name}/messages`, { body: message });
  await expectStatus(response, 201, `enqueue to ${name}`);
  return json<EnqueueResult>(response);
}

export async function enqueueBatch(name: string, messages: QueueMessageBody[]): Promise<EnqueueResult[]> {
  const response = await api(`/v1/queues/${name}/messages`, { body: { messages } });
  await expectStatus(response, 201, `enqueue batch to ${name}`);
  return (await json<{ messages: EnqueueResult[] }>(response)).messages;
}

export async function pull(name: string, options: { max?: number; visibilityTimeoutSeconds?: number } = {}): Promise<LeasedMessage[]> {
  const response = await api(`/v1/queues/${name}/pull`, { body: options });
  await expectStatus(response, 200, `pull from ${name}`);
  return (await json<{ messages: LeasedMessage[] }>(response)).messages;
}

async function leaseOp(name: string, op: "ack" | "nack" | "extend", body: Record<string, unknown>): Promise<LeaseResult[]> {
  const response = await api(`/v1/queues/${name}/${op}`, { body });
  await expectStatus(response, 200, `${op} on ${name}`);
  return (await json<{ results: LeaseResult[] }>(response)).results;
}

export const ack = (name: string, leaseIds: string[]) => leaseOp(name, "ack", { leaseIds });

export const nack = (name: string, leaseIds: string[], delaySeconds?: number) =>
  leaseOp(name, "nack", delaySeconds === undefined ? { leaseIds } : { leaseIds, delaySeconds });

export const extend = (name: string, leaseIds: string[], visibilityTimeoutSeconds: number) => leaseOp(name, "extend", { leaseIds, visibilityTimeoutSeconds });

export async function stats(name: string): Promise<QueueStats> {
  const response = await api(`/v1/queues/${name}`);
  await expectStatus(response, 200, `stats of ${name}`);
  return json<QueueStats>(response);
}

export async function expectError(response: Response, status: number, code: string): Promise<ErrorBody> {
  await expectStatus(response, status, `expected error ${code}`);
  const body = await json<ErrorBody>(response);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
  return body;
}

/** The queue object's platform alarm (ms since epoch), or null when none is set. */
export function alarmOf(name: string): Promise<number | null> {
  return runInDurableObject(queueStub(name), (_instance, state) => state.storage.getAlarm());
}

/** Run the queue's alarm now, if one is set (the platform may also have run it already). */
export function runAlarm(name: string): Promise<boolean> {
  return runDurableObjectAlarm(queueStub(name));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Poll `probe` until it returns a value that is not undefined, or fail after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 5000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Pull until something comes back, running the queue's alarm before each try so expired
 * leases are retired without waiting for the platform's own alarm timing.
 */
export function pullEventually(name: string, what: string, options: { max?: number; timeoutMs?: number; runAlarms?: boolean } = {}): Promise<LeasedMessage[]> {
  return eventually(
    async () => {
      if (options.runAlarms !== false) await runAlarm(name);
      const messages = await pull(name, { max: options.max ?? 10 });
      return messages.length > 0 ? messages : undefined;
    },
    what,
    options.timeoutMs ?? 5000,
  );
}

/** Raw rows of the queue's messages table, read inside the object (for state the API hides). */
export function storedMessages(name: string): Promise<{ seq: number; id: string; attempt: number; visible_at: number; lease_id: string | null; state: number }[]> {
  return runInDurableObject(queueStub(name), (_instance, state) =>
    state.storage.sql
      .exec<{ seq: number; id: string; attempt: number; visible_at: number; lease_id: string | null; state: number }>(
        "SELECT seq, id, attempt, visible_at, lease_id, state FROM messages ORDER BY seq",
      )
      .toArray(),
  );
}

/**
 * Make the queue's own SQLite refuse new messages (a trigger), as a full or broken target
 * would: moves into it (dead letters, forwarding) then really fail, with no mock involved.
 */
export function refuseInserts(queue: string): Promise<void> {
  return runInDurableObject(queueStub(queue), (_instance, state) => {
    state.storage.sql.exec("CREATE TRIGGER refuse_messages BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'injected fault: queue refuses messages'); END");
  });
}

export function acceptInserts(queue: string): Promise<void> {
  return runInDurableObject(queueStub(queue), (_instance, state) => {
    state.storage.sql.exec("DROP TRIGGER refuse_messages");
  });
}

// ---- Topic bindings (topic-to-queue forwarding) ------------------------------------------

export interface TopicMessageBody {
  data: unknown;
  id?: string;
  attributes?: Record<string, string>;
}

/** The topic's Durable Object stub, for running its forwarding alarm. */
export function topicStub(name: string): DurableObjectStub {
  return bindings.TOPIC.getByName(name) as unknown as DurableObjectStub;
}

/** Publish to a topic, single or batch; returns the topic's {seq, id} per message. */
export async function publish(topic: string, messages: TopicMessageBody[]): Promise<EnqueueResult[]> {
  const single = messages.length === 1;
  const response = await api(`/v1/topics/${topic}/messages`, { body: single ? messages[0] : { messages } });
  await expectStatus(response, 201, `publish to ${topic}`);
  return single ? [await json<EnqueueResult>(response)] : (await json<{ messages: EnqueueResult[] }>(response)).messages;
}

export async function bindQueue(topic: string, queue: string, filter?: Record<string, string>): Promise<{ topic: string; queue: string; fromSeq: number }> {
  const response = await api(`/v1/topics/${topic}/subscriptions/${queue}`, { method: "PUT", body: filter === undefined ? {} : { filter } });
  await expectStatus(response, 200, `bind ${queue} to ${topic}`);
  return json(response);
}

export function unbindQueue(topic: string, queue: string): Promise<Response> {
  return api(`/v1/topics/${topic}/subscriptions/${queue}`, { method: "DELETE" });
}

/** Wait until the queue has stored `count` messages in all (forwarded ones included). */
export function waitForEnqueued(queue: string, count: number, options: { topic?: string; timeoutMs?: number } = {}): Promise<QueueStats> {
  return eventually(
    async () => {
      if (options.topic !== undefined) await runDurableObjectAlarm(topicStub(options.topic));
      const current = await stats(queue);
      if (current.enqueued > count) throw new Error(`${queue} stored ${current.enqueued} messages, more than the ${count} expected`);
      return current.enqueued === count ? current : undefined;
    },
    `${count} messages stored in ${queue}`,
    options.timeoutMs ?? 5000,
  );
}
