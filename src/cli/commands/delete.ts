/** `edgepost delete topic|queue <name>`: delete a topic or queue (admin); the name starts afresh. */
import { positionals, UsageError } from "../args";
import type { Command } from "../command";
import { EXIT_OK } from "../output";

const usage = "delete topic|queue <name>";

export const deleteCommand: Command = {
  name: "delete",
  usage,
  summary: "delete a topic or queue: its messages, settings, sockets and bindings",
  options: [],
  async run({ client, out, args }) {
    const [kind, name] = positionals(args, ["topic|queue", "name"], [], usage) as [string, string];
    if (kind !== "topic" && kind !== "queue") throw new UsageError(`expected topic or queue, not ${JSON.stringify(kind)}`, usage);
    const answer = kind === "topic" ? await client.deleteTopic(name) : await client.deleteQueue(name);
    out.result(answer, () => `deleted ${kind} ${name}`);
    return EXIT_OK;
  },
};
