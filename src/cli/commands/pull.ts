/** `edgepost pull <queue> [--max n] [--ack] [--visibility seconds] [--wait seconds]`: lease and print messages once. */
import { intOption, positionals } from "../args";
import type { Command } from "../command";
import { attributesText, EXIT_OK, show, time } from "../output";

const usage = "pull <queue> [--max n] [--ack] [--visibility seconds] [--wait seconds]";

export const pullCommand: Command = {
  name: "pull",
  usage,
  summary: "lease up to --max ready messages and print them (--ack: and ack them; --wait: long-poll up to 20 s)",
  options: ["max", "ack", "visibility", "wait"],
  async run({ client, out, values, args }) {
    const [queue] = positionals(args, ["queue"], [], usage) as [string];
    const max = intOption(values, "max", 1, 100, usage) ?? 1;
    const visibilityTimeoutSeconds = intOption(values, "visibility", 1, 12 * 3600, usage);
    const waitSeconds = intOption(values, "wait", 0, 20, usage);
    const messages = await client.pull(queue, {
      max,
      ...(visibilityTimeoutSeconds === undefined ? {} : { visibilityTimeoutSeconds }),
      ...(waitSeconds === undefined ? {} : { waitSeconds }),
    });
    const statuses = new Map<string, string>();
    if (values.ack && messages.length > 0) {
      const { results } = await client.ack(queue, messages.map((message) => message.leaseId));
      for (const result of results) statuses.set(result.leaseId, result.status);
    }
    if (messages.length === 0 && !out.json) out.note(`no messages ready in ${queue}`);
    for (const message of messages) {
      const status = statuses.get(message.leaseId);
      out.result(
        status === undefined ? message : { ...message, ack: status },
        () =>
          `#${message.seq}  attempt ${message.attempt}  ${time(message.publishedAt)}  ${show(message.data)}${attributesText(message.attributes)}  ` +
          (status ?? `lease ${message.leaseId} until ${time(message.leaseExpiresAt)}`),
      );
    }
    return EXIT_OK;
  },
};
