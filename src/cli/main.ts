/**
 * The `edgepost` command line (bin/edgepost.mjs runs the bundle of this file). Exit codes:
 * 0 ok, 1 API or network error, 2 usage error.
 *
 *   edgepost publish orders '{"order": 42}' --url http://localhost:8787 --token dev-root-key
 *   seq 1..3 | edgepost publish orders          # one message per stdin line
 *   edgepost tail orders --after 0 --json
 *   edgepost topic events --partitions 8 --relays 4
 */
import { Edgepost } from "../client/edgepost";
import { checkOptions, parse, UsageError } from "./args";
import type { Command } from "./command";
import { consumeCommand } from "./commands/consume";
import { deleteCommand } from "./commands/delete";
import { historyCommand } from "./commands/history";
import { enqueueCommand, publishCommand } from "./commands/publish";
import { pullCommand } from "./commands/pull";
import { pushCommand } from "./commands/push";
import { statsCommand } from "./commands/stats";
import { tailCommand } from "./commands/tail";
import { tokenCommand } from "./commands/token";
import { topicCommand } from "./commands/topic";
import { EXIT_OK, EXIT_USAGE, Output, reportError } from "./output";
import { VERSION } from "../version";

export const DEFAULT_URL = "http://localhost:8787";

const COMMANDS: readonly Command[] = [
  publishCommand,
  enqueueCommand,
  tailCommand,
  historyCommand,
  consumeCommand,
  pullCommand,
  pushCommand,
  statsCommand,
  topicCommand,
  deleteCommand,
  tokenCommand,
];

function help(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return [
    "usage: edgepost <command> [arguments] [--url url] [--token token] [--json]",
    "",
    "Commands:",
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    "",
    "Options for every command:",
    `  --url url        the edgepost server (or EDGEPOST_URL; default ${DEFAULT_URL})`,
    "  --token token    the root key or a scoped token (or EDGEPOST_TOKEN)",
    "  --json           one JSON object per line on stdout, for scripts",
    "  -h, --help       this help, or a command's usage: edgepost <command> --help",
    "",
    "Usage of each command:",
    ...COMMANDS.map((command) => `  edgepost ${command.usage}`),
    "",
    "Exit codes: 0 ok, 1 API or network error, 2 usage error.",
  ].join("\n");
}

/** Run the command line `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    const { values, positionals } = parse(argv);
    const [name, ...args] = positionals;
    if (values.version) {
      process.stdout.write(`edgepost ${VERSION}\n`);
      return EXIT_OK;
    }
    if (name === undefined || name === "help") {
      if (values.help || name === "help") {
        process.stdout.write(`${help()}\n`);
        return EXIT_OK;
      }
      process.stderr.write(`${help()}\n`);
      return EXIT_USAGE;
    }
    const command = COMMANDS.find((candidate) => candidate.name === name);
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}; commands: ${COMMANDS.map((c) => c.name).join(", ")}`);
    if (values.help) {
      process.stdout.write(`usage: edgepost ${command.usage} [--url url] [--token token] [--json]\n${command.summary}\n`);
      return EXIT_OK;
    }
    checkOptions(values, command.options, command.usage);
    const url = values.url ?? env.EDGEPOST_URL ?? DEFAULT_URL;
    const token = values.token ?? env.EDGEPOST_TOKEN;
    if (!token) throw new UsageError("no credentials: pass --token or set EDGEPOST_TOKEN (the root key or a scoped token)", command.usage);
    if (!/^https?:\/\//.test(url)) throw new UsageError(`--url must start with http:// or https://, not ${JSON.stringify(url)}`, command.usage);
    const client = new Edgepost({ url, token });
    return await command.run({ client, out: new Output(values.json === true), values, args, signal: controller.signal });
  } catch (error) {
    return reportError(error);
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
