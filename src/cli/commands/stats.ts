/** `edgepost stats topic|queue <name>...`: counts and settings of topics or queues. */
import { UsageError } from "../args";
import type { Command } from "../command";
import { EXIT_OK } from "../output";

const usage = "stats topic|queue <name>...";

/**
 * `key: value` lines, nested objects flattened to `config.maxAttempts: 5`, and a list of
 * objects by index (`partitionStats.2.lastSeq: 40`).
 */
function lines(value: unknown, prefix = ""): string[] {
  if (typeof value === "string") return [`${prefix}: ${value}`];
  if (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === "object" && item !== null && !Array.isArray(item))) {
    return value.flatMap((item, index) => lines(item, `${prefix}.${index}`));
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [`${prefix}: ${JSON.stringify(value)}`];
  return Object.entries(value).flatMap(([key, inner]) => lines(inner, prefix ? `${prefix}.${key}` : key));
}

export const statsCommand: Command = {
  name: "stats",
  usage,
  summary: "show a topic's or a queue's counts and settings",
  options: [],
  async run({ client, out, args }) {
    const [kind, ...names] = args;
    if (kind !== "topic" && kind !== "queue") throw new UsageError(kind === undefined ? "missing topic|queue" : `expected topic or queue, not ${JSON.stringify(kind)}`, usage);
    if (names.length === 0) throw new UsageError(`missing <name>`, usage);
    for (const [index, name] of names.entries()) {
      const stats = kind === "topic" ? await client.topicStats(name) : await client.queueStats(name);
      out.result(stats, () => `${index > 0 ? "\n" : ""}${kind} ${name}\n${lines(stats).map((line) => `  ${line}`).join("\n")}`);
    }
    return EXIT_OK;
  },
};
