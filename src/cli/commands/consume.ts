/** `edgepost consume <queue> [--prefetch n] [--count n]`: print each message and ack it. */
import type { ConsumedMessage } from "../../client/consumer";
import { intOption, positionals } from "../args";
import { aborted, type Command } from "../command";
import { attributesText, EXIT_OK, show, time } from "../output";

const usage = "consume <queue> [--prefetch n] [--count n]";

export const consumeCommand: Command = {
  name: "consume",
  usage,
  summary: "receive a queue's messages over a WebSocket, print each and ack it",
  options: ["prefetch", "count"],
  async run({ client, out, values, args, signal }) {
    const [queue] = positionals(args, ["queue"], [], usage) as [string];
    const prefetch = intOption(values, "prefetch", 1, 1000, usage);
    const count = intOption(values, "count", 1, Number.MAX_SAFE_INTEGER, usage);
    let acked = 0;
    // Printed and acked one at a time, in arrival order.
    let chain = Promise.resolve();
    const consumer = client.consume(queue, {
      ...(prefetch === undefined ? {} : { prefetch }),
      handler: (message: ConsumedMessage) => {
        chain = chain.then(async () => {
          if (count !== undefined && acked >= count) return message.nack({ delaySeconds: 0 }).then(() => {});
          const result = await message.ack();
          acked += result.ok ? 1 : 0;
          const { ack: _a, nack: _n, extend: _e, settled: _s, ...fields } = message;
          out.result(
            { ...fields, ack: result.status },
            () => `#${message.seq}  attempt ${message.attempt}  ${time(message.publishedAt)}  ${show(message.data)}${attributesText(message.attributes)}  ${result.status}`,
          );
          if (count !== undefined && acked >= count) consumer.close();
        });
        return chain;
      },
    });
    await Promise.race([consumer.closed, aborted(signal)]);
    consumer.close();
    await consumer.closed;
    await chain;
    return EXIT_OK;
  },
};
