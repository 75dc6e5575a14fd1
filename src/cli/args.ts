/**
 * Command-line parsing with node:util parseArgs: one table of every option, so options may
 * come before or after the command; each command then says which of them it accepts.
 */
import { parseArgs } from "node:util";

export class UsageError extends Error {
  override name = "UsageError";
  constructor(
    message: string,
    /** The usage line of the command concerned, if any. */
    readonly usage?: string,
  ) {
    super(message);
  }
}

export const OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  id: { type: "string" },
  attr: { type: "string", multiple: true },
  delay: { type: "string" },
  after: { type: "string" },
  count: { type: "string" },
  sse: { type: "boolean" },
  prefetch: { type: "string" },
  max: { type: "string" },
  ack: { type: "boolean" },
  visibility: { type: "string" },
  publish: { type: "string", multiple: true },
  subscribe: { type: "string", multiple: true },
  consume: { type: "string", multiple: true },
  admin: { type: "string", multiple: true },
  ttl: { type: "string" },
  subject: { type: "string" },
  wait: { type: "string" },
  secret: { type: "string" },
  concurrency: { type: "string" },
  timeout: { type: "string" },
  key: { type: "string" },
  partition: { type: "string" },
  limit: { type: "string" },
  relays: { type: "string" },
  partitions: { type: "string" },
} as const;

export type OptionName = keyof typeof OPTIONS;
export type Values = ReturnType<typeof parse>["values"];

/** Options every command accepts. */
export const GLOBAL_OPTIONS: readonly OptionName[] = ["url", "token", "json", "help"];

export function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs explains unknown options and missing values well; keep its words.
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** Refuse options the command does not take (parseArgs knows them all). */
export function checkOptions(values: Values, allowed: readonly OptionName[], usage: string): void {
  for (const name of Object.keys(values) as OptionName[]) {
    if (!GLOBAL_OPTIONS.includes(name) && !allowed.includes(name)) throw new UsageError(`--${name} does not apply here`, usage);
  }
}

/** A whole number within [min, max] from a flag, or undefined when the flag is absent. */
export function intOption(values: Values, name: OptionName, min: number, max: number, usage: string): number | undefined {
  const text = values[name];
  if (text === undefined) return undefined;
  if (typeof text !== "string" || !/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`, usage);
  }
  return Number(text);
}

/** `--attr key=value` flags as an attributes object. */
export function attributesOption(values: Values, usage: string): Record<string, string> | undefined {
  const pairs = values.attr;
  if (!pairs || pairs.length === 0) return undefined;
  const attributes: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf("=");
    if (equals < 1) throw new UsageError(`--attr takes key=value, not ${JSON.stringify(pair)}`, usage);
    attributes[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return attributes;
}

/** The positionals after the command: each `required` name must be there, `optional` may. */
export function positionals(args: string[], required: string[], optional: string[], usage: string): (string | undefined)[] {
  if (args.length < required.length) throw new UsageError(`missing <${required[args.length]}>`, usage);
  if (args.length > required.length + optional.length) throw new UsageError(`unexpected argument ${JSON.stringify(args[required.length + optional.length])}`, usage);
  return args;
}
