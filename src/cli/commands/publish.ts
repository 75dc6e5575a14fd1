/**
 * `edgepost publish <topic> [data]` and `edgepost enqueue <queue> [data]`: the data argument
 * (JSON if it parses, else the string), or with no data argument one message per stdin line
 * (the line as a string), sent in order in batches, with progress on stderr for long runs.
 */
import { createInterface } from "node:readline";
import { EdgepostError } from "../../client/errors";
import type { Edgepost } from "../../client/edgepost";
import type { JsonValue, PublishResult, QueueMessageInput } from "../../client/types";
import { attributesOption, intOption, positionals, UsageError } from "../args";
import type { Command, CommandContext } from "../command";
import { EXIT_OK } from "../output";
import { Progress } from "../progress";

const BATCH_MESSAGES = 100;
/** Under the 1 MiB request limit, with room for the envelope. */
const BATCH_BYTES = 900 * 1024;
/** Send what has been read when no new line came for this long (typing, slow pipes). */
const IDLE_FLUSH_MS = 25;

type Target = "topic" | "queue";
/** A message of either kind: a topic's may carry a partition `key`, a queue's a `delaySeconds`. */
type Outgoing = QueueMessageInput & { key?: string };
/** The contract's key length (DESIGN.md "Partitioned topics"). */
const MAX_KEY_LENGTH = 256;

/** The data argument: JSON when it parses as JSON, else the text itself. */
export function parseData(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

function sendBatch(client: Edgepost, target: Target, name: string, messages: Outgoing[]): Promise<PublishResult[]> {
  return target === "topic" ? client.publishBatch(name, messages) : client.enqueueBatch(name, messages);
}

function makeCommand(target: Target): Command {
  const noun = target === "topic" ? "topic" : "queue";
  const usage = `${target === "topic" ? "publish" : "enqueue"} <${noun}> [data] [--id id]${target === "topic" ? " [--key key]" : ""} [--attr key=value]...${target === "queue" ? " [--delay seconds]" : ""}`;
  return {
    name: target === "topic" ? "publish" : "enqueue",
    usage,
    summary: target === "topic" ? "publish the data argument, or each stdin line, to a topic (--key: a partitioned topic's partition key)" : "enqueue the data argument, or each stdin line, to a queue",
    options: target === "topic" ? ["id", "attr", "key"] : ["id", "attr", "delay"],
    async run({ client, out, values, args, signal }: CommandContext): Promise<number> {
      const [name, dataText] = positionals(args, [noun], ["data"], usage) as [string, string | undefined];
      const attributes = attributesOption(values, usage);
      const delaySeconds = target === "queue" ? intOption(values, "delay", 0, 30 * 86_400, usage) : undefined;
      const key = values.key;
      if (key !== undefined && (key.length < 1 || key.length > MAX_KEY_LENGTH)) throw new UsageError(`--key must be 1 to ${MAX_KEY_LENGTH} characters`, usage);
      const extra = { attributes, ...(delaySeconds === undefined ? {} : { delaySeconds }), ...(key === undefined ? {} : { key }) };
      if (dataText !== undefined) {
        const [result] = await sendBatch(client, target, name, [{ data: parseData(dataText), id: values.id, ...extra }]);
        const where = result!.partition === undefined ? "" : `partition ${result!.partition}, `;
        out.result(result, `published to ${noun} ${name}: ${where}seq ${result!.seq}, id ${result!.id}${result!.duplicate ? " (duplicate: already published)" : ""}`);
        return EXIT_OK;
      }
      if (values.id !== undefined) throw new UsageError("--id needs a data argument (stdin lines each get their own id)", usage);
      if (process.stdin.isTTY) out.note("Reading messages from stdin, one per line; end with Ctrl-D.");
      const sent = await publishLines(client, target, name, extra, out, signal);
      if (!out.json) {
        const range = sent.count === 0 ? "" : ` (${spread(sent)})`;
        out.result(null, `published ${sent.count} message${sent.count === 1 ? "" : "s"} to ${noun} ${name}${range} in ${(sent.ms / 1000).toFixed(1)} s`);
      }
      return EXIT_OK;
    },
  };
}

interface Sent {
  count: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** The partitions written to, on a partitioned topic. */
  partitions: Set<number>;
  ms: number;
}

/** Where the lines went: a seq range, with its partition when they all went to one (a --key). */
function spread(sent: Sent): string {
  if (sent.partitions.size > 1) return `across ${sent.partitions.size} partitions`;
  const [partition] = sent.partitions;
  return `${partition === undefined ? "" : `partition ${partition}, `}seq ${sent.firstSeq}-${sent.lastSeq}`;
}

/** Read stdin line by line and publish in order, one batch in flight at a time. */
async function publishLines(
  client: Edgepost,
  target: Target,
  name: string,
  extra: Omit<Outgoing, "data">,
  out: CommandContext["out"],
  signal: AbortSignal,
): Promise<Sent> {
  const started = Date.now();
  const progress = new Progress("published");
  const sent: Sent = { count: 0, firstSeq: null, lastSeq: null, partitions: new Set(), ms: 0 };
  let batch: Outgoing[] = [];
  let batchBytes = 0;

  const flush = async () => {
    if (batch.length === 0) return;
    const messages = batch;
    batch = [];
    batchBytes = 0;
    let results: PublishResult[];
    try {
      results = await sendBatch(client, target, name, messages);
    } catch (error) {
      throw withLineNumber(error, sent.count);
    }
    for (const result of results) {
      if (out.json) out.result(result, "");
      sent.firstSeq ??= result.seq;
      sent.lastSeq = result.seq;
      if (result.partition !== undefined) sent.partitions.add(result.partition);
    }
    sent.count += results.length;
    progress.update(sent.count);
  };

  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
  let next = lines.next();
  try {
    while (!signal.aborted) {
      const idle = batch.length > 0 ? new Promise<"idle">((resolve) => setTimeout(() => resolve("idle"), IDLE_FLUSH_MS)) : null;
      const step = idle ? await Promise.race([next, idle]) : await next;
      if (step === "idle") {
        await flush();
        continue;
      }
      if (step.done) break;
      next = lines.next();
      const message: Outgoing = { data: step.value, ...extra };
      const bytes = Buffer.byteLength(JSON.stringify(message)) + 64;
      if (batch.length >= BATCH_MESSAGES || (batch.length > 0 && batchBytes + bytes > BATCH_BYTES)) await flush();
      batch.push(message);
      batchBytes += bytes;
    }
    await flush();
  } finally {
    progress.done();
    await lines.return?.();
  }
  sent.ms = Date.now() - started;
  return sent;
}

/** "messages.3 is too large" names a batch index; say which stdin line that was. */
function withLineNumber(error: unknown, linesBefore: number): unknown {
  if (!(error instanceof EdgepostError)) return error;
  const match = /messages\.(\d+)/.exec(error.message);
  if (!match) return error;
  const line = linesBefore + Number(match[1]) + 1;
  return new EdgepostError(error.status, error.code, `stdin line ${line}: ${error.message}`, error.details);
}

export const publishCommand = makeCommand("topic");
export const enqueueCommand = makeCommand("queue");
