/**
 * `edgepost topic <topic> [--relays 0-64] [--partitions 1-64]`: show a topic's settings, or
 * change how it scales: relay objects holding its subscribers, and partitions (grow only).
 */
import type { TopicConfigInput } from "../../client/types";
import { intOption, positionals } from "../args";
import type { Command } from "../command";
import { EXIT_OK } from "../output";

const usage = "topic <topic> [--relays 0-64] [--partitions 1-64]";

export const topicCommand: Command = {
  name: "topic",
  usage,
  summary: "show a topic's settings, or set its relays and partitions (partitions only grow)",
  options: ["relays", "partitions"],
  async run({ client, out, values, args }) {
    const [topic] = positionals(args, ["topic"], [], usage) as [string];
    const relays = intOption(values, "relays", 0, 64, usage);
    const partitions = intOption(values, "partitions", 1, 64, usage);
    const change: TopicConfigInput = {
      ...(relays === undefined ? {} : { relays }),
      ...(partitions === undefined ? {} : { partitions }),
    };
    const changing = Object.keys(change).length > 0;
    // Without a change only read: stats carry the settings and change nothing.
    const config = changing ? await client.configureTopic(topic, change) : (await client.topicStats(topic)).config;
    const shown = { topic, ...config };
    out.result(shown, () =>
      [
        `topic ${topic}${changing ? " (updated)" : ""}`,
        `  relays: ${shown.relays}`,
        `  partitions: ${shown.partitions}`,
        ...Object.entries(shown)
          .filter(([key]) => key !== "topic" && key !== "relays" && key !== "partitions")
          .map(([key, value]) => `  ${key}: ${JSON.stringify(value)}`),
      ].join("\n"),
    );
    return EXIT_OK;
  },
};
