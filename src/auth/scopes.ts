/**
 * What a scoped token may do: per operation, a list of name patterns. A pattern is an exact
 * name or a prefix ending in `*` (`orders.*`, `*`). `publish` covers topic and queue publishes;
 * `subscribe` topic subscribe, history and stats; `consume` queue pull/ack/nack/extend/consume
 * and stats; `admin` settings, bindings, purge and redrive.
 */
import { z } from "zod";

export const OPERATIONS = ["publish", "subscribe", "consume", "admin"] as const;
export type Operation = (typeof OPERATIONS)[number];

export const Pattern = z
  .string()
  .regex(/^(\*|[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}\*?)$/, "a name, or a name prefix ending in *, or *");

export const Scopes = z.strictObject({
  publish: z.array(Pattern).max(32).optional(),
  subscribe: z.array(Pattern).max(32).optional(),
  consume: z.array(Pattern).max(32).optional(),
  admin: z.array(Pattern).max(32).optional(),
});
export type Scopes = z.infer<typeof Scopes>;

export function patternMatches(pattern: string, name: string): boolean {
  return pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : pattern === name;
}

export function allows(scopes: Scopes, operation: Operation, name: string): boolean {
  return (scopes[operation] ?? []).some((pattern) => patternMatches(pattern, name));
}
