/**
 * (s) `npm start` against the bench's own edgepost server: single publishes at concurrency 16
 * to each, alternating in rounds. Both serve the same bundle through scripts/serve.mjs; the
 * ratio shows that what users run by default is the fast path (issue 10: `wrangler dev`'s
 * proxy served about a quarter of it).
 */
import { runRounds } from "../lib/cases.mjs";
import { edgepostTopic, npmStartTopic } from "../lib/systems.mjs";
import { publishCase } from "./publish.mjs";

export const START_CONCURRENCY = 16;

export async function runStart(ctx) {
  ctx.log("(s) npm start vs the bench's server: single publishes at concurrency 16");
  const params = { concurrency: START_CONCURRENCY };
  return runRounds(ctx, [publishCase(ctx, edgepostTopic(ctx), params, "s"), publishCase(ctx, npmStartTopic(ctx), params, "s")]);
}
