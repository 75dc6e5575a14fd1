/** Helpers for the partitioned-topic runtime tests (issue 11): typed calls through the worker. */
import { env } from "cloudflare:test";
import { expect } from "vitest";
import { partitionObjectName } from "../../src/partition/names";
import { api, json } from "./helpers";

export interface PublishAnswer {
  seq: number;
  id: string;
  duplicate?: true;
  partition?: number;
}

export interface Row {
  partition?: number;
  seq: number;
  id: string;
  data: unknown;
}

export interface MessageBody {
  data: unknown;
  id?: string;
  key?: string;
  attributes?: Record<string, string>;
}

/** PUT the topic's settings; expects 200. */
export async function setPartitions(topic: string, partitions: number, extra: Record<string, unknown> = {}): Promise<void> {
  const response = await api(`/v1/topics/${topic}`, { method: "PUT", body: { partitions, ...extra } });
  expect(response.status, `PUT ${topic} partitions=${partitions}: ${response.status === 200 ? "" : await response.clone().text()}`).toBe(200);
}

/** Publish one message or a batch and expect `status`; the answers, in input order. */
export async function publishAll(topic: string, messages: MessageBody[], status = 201): Promise<PublishAnswer[]> {
  const single = messages.length === 1;
  const response = await api(`/v1/topics/${topic}/messages`, { body: single ? messages[0] : { messages } });
  const text = await response.text();
  expect(response.status, `publish to ${topic}: ${text}`).toBe(status);
  const body = JSON.parse(text) as PublishAnswer | { messages: PublishAnswer[] };
  return "messages" in body ? body.messages : [body];
}

/** Every retained row of one partition, page by page. */
export async function partitionHistory(topic: string, partition: number | null): Promise<{ rows: Row[]; lastSeq: number }> {
  const rows: Row[] = [];
  let after = 0;
  for (;;) {
    const query = `after=${after}&limit=1000${partition === null ? "" : `&partition=${partition}`}`;
    const response = await api(`/v1/topics/${topic}/messages?${query}`);
    expect(response.status, `history of ${topic}?${query}`).toBe(200);
    const page = await json<{ messages: Row[]; lastSeq: number }>(response);
    if (page.messages.length === 0) return { rows, lastSeq: page.lastSeq };
    rows.push(...page.messages);
    after = page.messages[page.messages.length - 1]!.seq;
  }
}

/** The object of partition `i`, reached directly (bypassing the worker's route). */
export function partitionStub(topic: string, partition: number) {
  return env.TOPIC.getByName(partitionObjectName(topic, partition));
}
