/** `edgepost tail <topic> [--after seq] [--count n] [--sse]`: print a topic's messages live. */
import type { TopicMessage } from "../../client/types";
import { intOption, positionals } from "../args";
import { aborted, type Command } from "../command";
import { attributesText, EXIT_OK, show, time } from "../output";

const usage = "tail <topic> [--after seq] [--count n] [--sse]";

export const tailCommand: Command = {
  name: "tail",
  usage,
  summary: "print a topic's messages as they are published (--after 0: from the start)",
  options: ["after", "count", "sse"],
  async run({ client, out, values, args, signal }) {
    const [topic] = positionals(args, ["topic"], [], usage) as [string];
    const after = intOption(values, "after", 0, Number.MAX_SAFE_INTEGER, usage);
    const count = intOption(values, "count", 1, Number.MAX_SAFE_INTEGER, usage);
    let seen = 0;
    const subscription = client.subscribe(topic, {
      ...(after === undefined ? {} : { after }),
      transport: values.sse ? "sse" : "websocket",
      onMessage: (message: TopicMessage) => {
        out.result(message, () => `#${message.seq}  ${time(message.publishedAt)}  ${show(message.data)}${attributesText(message.attributes)}`);
        seen++;
        if (count !== undefined && seen >= count) subscription.close();
      },
      onOpen: ({ reconnects, after: from }) => {
        if (reconnects > 0 && !out.json) out.note(`reconnected; resuming after seq ${from}`);
      },
    });
    // Ends on Ctrl-C, on --count, or with the error that ended the subscription (thrown here).
    await Promise.race([subscription.closed, aborted(signal)]);
    subscription.close();
    await subscription.closed;
    return EXIT_OK;
  },
};
