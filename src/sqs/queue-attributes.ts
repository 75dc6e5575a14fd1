/**
 * SQS queue attributes, all strings on the wire, mapped onto an edgepost queue's settings and
 * stats. Settable: VisibilityTimeout, DelaySeconds, ReceiveMessageWaitTimeSeconds,
 * MessageRetentionPeriod, RedrivePolicy (maxReceiveCount = maxAttempts, deadLetterTargetArn
 * names deadLetterQueue; "" removes it) and MaximumMessageSize (accepted, the deployment's
 * limit applies). FIFO and the AWS-only ones (encryption, policies, tags) are refused.
 */
import * as L from "../protocol/limits";
import type { QueueConfigInput, QueueStats } from "../protocol/schemas";
import { queueArn, queueFromArn } from "./addressing";
import { SqsError } from "./errors";

const READABLE = [
  "All",
  "ApproximateNumberOfMessages",
  "ApproximateNumberOfMessagesNotVisible",
  "ApproximateNumberOfMessagesDelayed",
  "CreatedTimestamp",
  "LastModifiedTimestamp",
  "DelaySeconds",
  "MaximumMessageSize",
  "MessageRetentionPeriod",
  "QueueArn",
  "ReceiveMessageWaitTimeSeconds",
  "RedrivePolicy",
  "VisibilityTimeout",
] as const;

const REFUSED = new Set([
  "FifoQueue",
  "ContentBasedDeduplication",
  "DeduplicationScope",
  "FifoThroughputLimit",
  "KmsMasterKeyId",
  "KmsDataKeyReusePeriodSeconds",
  "SqsManagedSseEnabled",
  "Policy",
  "RedriveAllowPolicy",
]);

function integer(name: string, value: string, min: number, max: number): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new SqsError("InvalidAttributeValue", `Invalid value for the parameter ${name}: ${JSON.stringify(value.slice(0, 50))} (edgepost accepts ${min}-${max})`);
  }
  return Number(value);
}

function redrivePolicy(value: string): Pick<QueueConfigInput, "maxAttempts" | "deadLetterQueue"> {
  if (value === "") return { deadLetterQueue: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new SqsError("InvalidAttributeValue", "RedrivePolicy must be a JSON string: {\"deadLetterTargetArn\":\"arn:aws:sqs:...\",\"maxReceiveCount\":5}");
  }
  const policy = (parsed ?? {}) as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
  const target = typeof policy.deadLetterTargetArn === "string" ? queueFromArn(policy.deadLetterTargetArn) : null;
  if (target === null) throw new SqsError("InvalidAttributeValue", "RedrivePolicy.deadLetterTargetArn must be an SQS queue ARN (arn:aws:sqs:<region>:<account>:<queue>)");
  const count = typeof policy.maxReceiveCount === "number" ? String(policy.maxReceiveCount) : policy.maxReceiveCount;
  if (typeof count !== "string") throw new SqsError("InvalidAttributeValue", "RedrivePolicy.maxReceiveCount is required");
  return { deadLetterQueue: target, maxAttempts: integer("RedrivePolicy.maxReceiveCount", count, 1, L.MAX_MAX_ATTEMPTS) };
}

/** CreateQueue / SetQueueAttributes attributes as an edgepost settings update. */
export function toConfigUpdate(attributes: Record<string, string>): QueueConfigInput {
  const update: QueueConfigInput = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value !== "string") throw new SqsError("InvalidAttributeValue", `attribute ${name} must be a string`);
    switch (name) {
      case "VisibilityTimeout":
        update.visibilityTimeoutSeconds = integer(name, value, L.MIN_VISIBILITY_TIMEOUT_SECONDS, L.MAX_VISIBILITY_TIMEOUT_SECONDS);
        break;
      case "DelaySeconds":
        update.delaySeconds = integer(name, value, 0, L.MAX_QUEUE_DELAY_SECONDS);
        break;
      case "ReceiveMessageWaitTimeSeconds":
        update.receiveWaitSeconds = integer(name, value, 0, L.MAX_WAIT_SECONDS);
        break;
      case "MessageRetentionPeriod":
        update.retentionSeconds = integer(name, value, 60, 14 * 24 * 60 * 60);
        break;
      case "MaximumMessageSize":
        integer(name, value, 1024, 1024 * 1024);
        break;
      case "RedrivePolicy":
        Object.assign(update, redrivePolicy(value));
        break;
      default:
        if (name === "FifoQueue" && value === "false") break;
        if (REFUSED.has(name)) {
          throw new SqsError(name.startsWith("Fifo") || name.includes("Dedup") ? "UnsupportedOperation" : "InvalidAttributeName", `edgepost does not support the queue attribute ${name}${name.startsWith("Fifo") ? " (FIFO queues are not supported yet)" : ""}`);
        }
        throw new SqsError("InvalidAttributeName", `Unknown Attribute ${name}.`);
    }
  }
  return update;
}

/** Does the queue's current state already have these settings? (CreateQueue on an existing name.) */
export function sameSettings(update: QueueConfigInput, current: QueueStats["config"]): boolean {
  return Object.entries(update).every(([key, value]) => JSON.stringify(current[key as keyof typeof current]) === JSON.stringify(value));
}

export interface AttributeSource {
  stats: QueueStats;
  createdAt: number;
  region: string;
  maxMessageBytes: number;
}

/** GetQueueAttributes: the names asked for (or All), as strings. */
export function readAttributes(names: readonly string[], source: AttributeSource): Record<string, string> {
  for (const name of names) {
    if (!(READABLE as readonly string[]).includes(name)) throw new SqsError("InvalidAttributeName", `Unknown Attribute ${name}.`);
  }
  const { stats, createdAt, region } = source;
  const config = stats.config;
  const all: Record<string, string> = {
    ApproximateNumberOfMessages: String(stats.ready),
    ApproximateNumberOfMessagesNotVisible: String(stats.inFlight),
    ApproximateNumberOfMessagesDelayed: String(stats.delayed),
    CreatedTimestamp: String(Math.floor(createdAt / 1000)),
    LastModifiedTimestamp: String(Math.floor(createdAt / 1000)),
    DelaySeconds: String(config.delaySeconds),
    MaximumMessageSize: String(source.maxMessageBytes),
    MessageRetentionPeriod: String(config.retentionSeconds),
    QueueArn: queueArn(region, stats.name),
    ReceiveMessageWaitTimeSeconds: String(config.receiveWaitSeconds),
    VisibilityTimeout: String(config.visibilityTimeoutSeconds),
  };
  if (config.deadLetterQueue !== null) {
    all.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: queueArn(region, config.deadLetterQueue), maxReceiveCount: config.maxAttempts });
  }
  if (names.includes("All")) return all;
  const out: Record<string, string> = {};
  for (const name of names) if (all[name] !== undefined) out[name] = all[name];
  return out;
}
