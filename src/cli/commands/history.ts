/**
 * `edgepost history <topic> [--after seq] [--limit n] [--partition i]`: one page of a topic's
 * retained messages, oldest first. A partitioned topic is read one partition at a time.
 */
import { intOption, positionals } from "../args";
import type { Command } from "../command";
import { attributesText, EXIT_OK, show, time } from "../output";
import { messageLabel } from "./tail";

const usage = "history <topic> [--after seq] [--limit 1-1000] [--partition i]";

export const historyCommand: Command = {
  name: "history",
  usage,
  summary: "print a page of a topic's retained messages (a partitioned topic's: --partition i)",
  options: ["after", "limit", "partition"],
  async run({ client, out, values, args }) {
    const [topic] = positionals(args, ["topic"], [], usage) as [string];
    const after = intOption(values, "after", 0, Number.MAX_SAFE_INTEGER, usage);
    const limit = intOption(values, "limit", 1, 1000, usage);
    const partition = intOption(values, "partition", 0, 63, usage);
    const page = await client.history(topic, {
      ...(after === undefined ? {} : { after }),
      ...(limit === undefined ? {} : { limit }),
      ...(partition === undefined ? {} : { partition }),
    });
    // --json: one message per line, as `tail --json` prints them.
    for (const message of page.messages) {
      out.result(message, () => `${messageLabel(message)}  ${time(message.publishedAt)}  ${show(message.data)}${attributesText(message.attributes)}`);
    }
    if (!out.json) {
      const where = partition === undefined ? topic : `${topic} partition ${partition}`;
      out.note(`${page.messages.length} message${page.messages.length === 1 ? "" : "s"}; last seq of ${where}: ${page.lastSeq}`);
    }
    return EXIT_OK;
  },
};
