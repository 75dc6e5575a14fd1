/**
 * `EdgepostService`: the entrypoint other Workers bind to (DESIGN.md "Other Workers"):
 *
 *   services = [{ binding = "EDGEPOST", service = "edgepost", entrypoint = "EdgepostService" }]
 *
 * and call `await env.EDGEPOST.publish("orders", { data: {...} })`. The binding is the
 * capability: no credentials. Every method runs the same operation as its HTTP route
 * (src/operations), so validation and results are the same; errors are thrown as `Error`s with
 * the contract's `code` (and `status`) on them, and the code also leads the message
 * (`"invalid_request: ..."`), should a runtime drop the properties.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { z } from "zod";
import type { Env } from "../env";
import { ApiError } from "../protocol/errors";
import { encodeMessage } from "../protocol/frames";
import { MAX_HISTORY_LIMIT, MAX_PARTITIONS } from "../protocol/limits";
import type { QueueStats, StoredMessage, TopicStats } from "../protocol/schemas";
import { checkName, enqueueToQueue, publishAnswer, publishToTopic, readHistory } from "../operations/messages";
import { parseWith } from "../http/body";
import { partitionPrefix } from "../partition/history";
import { topicStats } from "../partition/stats";

const HistoryOptions = z.strictObject({
  after: z.number().int().min(0).optional(),
  limit: z.number().int().min(1).max(MAX_HISTORY_LIMIT).optional(),
  /** Required on a topic of more than one partition; a topic of one partition has partition 0. */
  partition: z.number().int().min(0).max(MAX_PARTITIONS - 1).optional(),
});
export type HistoryOptions = z.input<typeof HistoryOptions>;

type PublishAnswer = ReturnType<typeof publishAnswer>["body"];

/** The error a caller of the binding sees: the contract's code and status on a plain Error. */
export interface ServiceError extends Error {
  code: string;
  status: number;
}

function toServiceError(error: unknown): Error {
  if (!(error instanceof ApiError)) return error instanceof Error ? error : new Error(String(error));
  const thrown = new Error(`${error.code}: ${error.message}`) as ServiceError;
  thrown.code = error.code;
  thrown.status = error.status;
  return thrown;
}

async function translated<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toServiceError(error);
  }
}

export class EdgepostService extends WorkerEntrypoint<Env> {
  /** Publish one message (`{data, id?, attributes?}`) or `{messages: [...]}`: as `POST /v1/topics/{topic}/messages`. */
  async publish(topic: string, input: unknown): Promise<PublishAnswer> {
    return translated(async () => publishAnswer(await publishToTopic(this.env, checkName("topic", topic), input)).body);
  }

  /** Enqueue one message (`{data, id?, attributes?, delaySeconds?}`) or `{messages: [...]}`: as `POST /v1/queues/{queue}/messages`. */
  async enqueue(queue: string, input: unknown): Promise<PublishAnswer> {
    return translated(async () => publishAnswer(await enqueueToQueue(this.env, checkName("queue", queue), input)).body);
  }

  /** A page of the retained log: as `GET /v1/topics/{topic}/messages?after=&limit=`. */
  async history(topic: string, options: HistoryOptions = {}): Promise<{ messages: StoredMessage[]; lastSeq: number }> {
    return translated(async () => {
      const name = checkName("topic", topic);
      const { after, limit, partition } = parseWith(HistoryOptions, options ?? {}, "options");
      const page = await readHistory(this.env, name, after, limit, partition);
      // The same JSON the HTTP answer carries, as values.
      const prefix = partitionPrefix(page.partition);
      return { messages: page.messages.map((row) => JSON.parse(encodeMessage(row, prefix)) as StoredMessage), lastSeq: page.lastSeq };
    });
  }

  /** `GET /v1/topics/{name}` or `GET /v1/queues/{name}`. */
  async stats(kind: "topic" | "queue", name: string): Promise<TopicStats | QueueStats> {
    return translated(async () => {
      if (kind === "topic") return topicStats(this.env, checkName("topic", name));
      if (kind === "queue") return this.env.QUEUE.getByName(checkName("queue", name)).stats();
      throw new ApiError(400, "invalid_request", 'kind must be "topic" or "queue"');
    });
  }
}
