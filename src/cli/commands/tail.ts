/**
 * `edgepost tail <topic> [--after seq|cursor] [--count n] [--sse]`: print a topic's messages
 * live. On a partitioned topic each line says its partition, and `--after` takes a cursor
 * (`12,40,7`, one seq per partition), as the reconnect note prints it.
 */
import { afterProblem } from "../../client/cursor";
import type { TopicMessage } from "../../client/types";
import { intOption, positionals, UsageError } from "../args";
import { aborted, type Command } from "../command";
import { attributesText, EXIT_OK, show, time } from "../output";

const usage = "tail <topic> [--after seq|cursor] [--count n] [--sse]";

/** `#seq` alone, or `p2 #seq` on a partitioned topic (seqs count per partition). */
export function messageLabel(message: { seq: number; partition?: number | undefined }): string {
  return message.partition === undefined ? `#${message.seq}` : `p${message.partition} #${message.seq}`;
}

export const tailCommand: Command = {
  name: "tail",
  usage,
  summary: "print a topic's messages as they are published (--after 0: from the start)",
  options: ["after", "count", "sse"],
  async run({ client, out, values, args, signal }) {
    const [topic] = positionals(args, ["topic"], [], usage) as [string];
    const after = values.after;
    const problem = after === undefined ? null : afterProblem(after);
    if (problem) throw new UsageError(`--${problem}`, usage);
    const count = intOption(values, "count", 1, Number.MAX_SAFE_INTEGER, usage);
    let seen = 0;
    const subscription = client.subscribe(topic, {
      ...(after === undefined ? {} : { after }),
      transport: values.sse ? "sse" : "websocket",
      onMessage: (message: TopicMessage) => {
        out.result(message, () => `${messageLabel(message)}  ${time(message.publishedAt)}  ${show(message.data)}${attributesText(message.attributes)}`);
        seen++;
        if (count !== undefined && seen >= count) subscription.close();
      },
      onOpen: ({ reconnects, after: from }) => {
        if (reconnects > 0 && !out.json) out.note(`reconnected; resuming after ${typeof from === "string" && from.includes(",") ? `cursor ${from}` : `seq ${from}`}`);
      },
    });
    // Ends on Ctrl-C, on --count, or with the error that ended the subscription (thrown here).
    await Promise.race([subscription.closed, aborted(signal)]);
    subscription.close();
    await subscription.closed;
    return EXIT_OK;
  },
};
