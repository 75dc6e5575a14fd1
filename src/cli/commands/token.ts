/** `edgepost token --subscribe 'orders.*' --ttl 3600`: mint a scoped token with the root key. */
import type { Scopes } from "../../client/types";
import { intOption, positionals, UsageError } from "../args";
import type { Command } from "../command";
import { EXIT_OK, time } from "../output";

const usage = "token [--publish pattern]... [--subscribe pattern]... [--consume pattern]... [--admin pattern]... [--ttl seconds] [--subject s]";

export const tokenCommand: Command = {
  name: "token",
  usage,
  summary: "mint a scoped token (needs the root key); patterns are names or prefixes ending in *",
  options: ["publish", "subscribe", "consume", "admin", "ttl", "subject"],
  async run({ client, out, values, args }) {
    positionals(args, [], [], usage);
    const scopes: Scopes = {};
    for (const operation of ["publish", "subscribe", "consume", "admin"] as const) {
      const patterns = values[operation];
      if (patterns && patterns.length > 0) scopes[operation] = patterns;
    }
    if (Object.keys(scopes).length === 0) throw new UsageError("give at least one scope: --publish, --subscribe, --consume or --admin", usage);
    const ttlSeconds = intOption(values, "ttl", 1, 86_400, usage) ?? 3600;
    const minted = await client.mintToken({ scopes, ttlSeconds, ...(values.subject === undefined ? {} : { subject: values.subject }) });
    out.result(minted, minted.token);
    if (!out.json) out.note(`expires ${time(minted.expiresAt)}`);
    return EXIT_OK;
  },
};
