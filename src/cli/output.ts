/**
 * What the CLI prints: human-readable lines by default, one JSON object per line with
 * `--json`; errors and progress always on stderr, so stdout stays clean for pipes.
 */
import { EdgepostError } from "../client/errors";
import { UsageError } from "./args";

export class Output {
  constructor(readonly json: boolean) {}

  /** A result: `object` with --json, else `human` (a line or a function making lines). */
  result(object: unknown, human: string | (() => string)): void {
    process.stdout.write(`${this.json ? JSON.stringify(object) : typeof human === "string" ? human : human()}\n`);
  }

  /** A note for people (never in --json mode's stdout). */
  note(text: string): void {
    process.stderr.write(`${text}\n`);
  }
}

/** A JSON value for one line of human output. */
export function show(value: unknown): string {
  return JSON.stringify(value) ?? "undefined";
}

export function time(ms: number): string {
  return new Date(ms).toISOString();
}

export function attributesText(attributes: Record<string, string> | undefined): string {
  if (!attributes) return "";
  const pairs = Object.entries(attributes).map(([key, value]) => `${key}=${value}`);
  return pairs.length === 0 ? "" : `  [${pairs.join(" ")}]`;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Print an error the way a person can act on it; returns the exit code. */
export function reportError(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`edgepost: ${error.message}\n`);
    if (error.usage) process.stderr.write(`usage: edgepost ${error.usage}\n`);
    process.stderr.write("Run `edgepost --help` for every command and option.\n");
    return EXIT_USAGE;
  }
  if (error instanceof EdgepostError) {
    const what = error.status === 0 ? error.message : `${error.status} ${error.code}: ${error.message}`;
    process.stderr.write(`edgepost: ${what}\n${hint(error)}`);
    return EXIT_FAILURE;
  }
  process.stderr.write(`edgepost: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return EXIT_FAILURE;
}

function hint(error: EdgepostError): string {
  if (error.code === "unauthorized") return "Check --token (or EDGEPOST_TOKEN): it must be the root key or an unexpired token.\n";
  if (error.code === "forbidden") return "The token's scopes do not cover this; mint one with `edgepost token` and the right scope flags.\n";
  if (error.code === "network_error") return "Check --url (or EDGEPOST_URL) and that the server is running.\n";
  if (error.status === 400 && /partition/i.test(error.message)) return "A partitioned topic's history is read one partition at a time: pass --partition i.\n";
  return "";
}
