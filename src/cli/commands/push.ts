/**
 * `edgepost push <queue> <url>|off [--secret whsec_...] [--concurrency n] [--timeout seconds]`:
 * make a queue deliver to an HTTP endpoint (signed, Standard Webhooks), or stop. A generated
 * secret is printed once: keep it, the server never shows it again.
 */
import { intOption, positionals } from "../args";
import type { Command } from "../command";
import { EXIT_OK } from "../output";

const usage = "push <queue> <url>|off [--secret whsec_...] [--concurrency 1-100] [--timeout 1-60]";

export const pushCommand: Command = {
  name: "push",
  usage,
  summary: "deliver a queue's messages to a URL as signed POSTs (off: stop)",
  options: ["secret", "concurrency", "timeout"],
  async run({ client, out, values, args }) {
    const [queue, url] = positionals(args, ["queue", "url"], [], usage) as [string, string];
    if (url === "off") {
      await client.setPush(queue, null);
      out.result({ queue, push: null }, () => `queue ${queue} no longer pushes; pull and consume work again`);
      return EXIT_OK;
    }
    const maxConcurrency = intOption(values, "concurrency", 1, 100, usage);
    const timeoutSeconds = intOption(values, "timeout", 1, 60, usage);
    const push = await client.setPush(queue, {
      url,
      ...(typeof values.secret === "string" ? { secret: values.secret } : {}),
      ...(maxConcurrency === undefined ? {} : { maxConcurrency }),
      ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
    });
    out.result({ queue, push }, () =>
      [
        `queue ${queue} pushes to ${push?.url} (at most ${push?.maxConcurrency} at once, ${push?.timeoutSeconds} s timeout)`,
        ...(push?.secret ? [`secret (shown once, verify webhook-signature with it): ${push.secret}`] : []),
      ].join("\n"),
    );
    return EXIT_OK;
  },
};
