/** The shape every CLI command has, and what it is given to run. */
import type { Edgepost } from "../client/edgepost";
import type { OptionName, Values } from "./args";
import type { Output } from "./output";

export interface CommandContext {
  client: Edgepost;
  out: Output;
  values: Values;
  /** Positionals after the command name. */
  args: string[];
  /** Aborts on SIGINT or SIGTERM: long-running commands stop cleanly. */
  signal: AbortSignal;
}

export interface Command {
  name: string;
  /** Arguments and options, after `edgepost `. */
  usage: string;
  summary: string;
  /** Options beyond --url, --token, --json, --help. */
  options: readonly OptionName[];
  /** Returns the exit code. */
  run(context: CommandContext): Promise<number>;
}

/** Resolve when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}
