/**
 * Queue routes: settings, delete, enqueue (single, batch, delayed, idempotent), pull, ack, nack,
 * extend, long-polling pull, consume (WebSocket), stats, purge and redrive. Each validates here and calls the
 * queue's object.
 */
import { Hono } from "hono";
import { ApiError } from "../protocol/errors";
import { encodeLeased } from "../protocol/frames";
import { DEFAULT_PREFETCH } from "../protocol/limits";
import { AckInput, ConsumeQuery, ExtendInput, NackInput, PullInput, QueueConfigInput, RedriveInput } from "../protocol/schemas";
import type { ConsumeRequest } from "../queue/requests";
import { expiryOf } from "../auth/principal";
import { deleteQueue } from "../lifecycle/delete";
import { checkPushUrl } from "../push/settings";
import { authorize, type AppEnv } from "./auth";
import { enqueueToQueue, publishAnswer } from "../operations/messages";
import { parseWith, readJson } from "./body";
import { unwrap, validationError } from "./errors";
import { nameParam } from "./names";
import { enforcePublishRate } from "./rate-limit";

export const queueRoutes = new Hono<AppEnv>();

const queueStub = (env: AppEnv["Bindings"], name: string) => env.QUEUE.getByName(name);

queueRoutes.put("/:queue", async (c) => {
  const name = nameParam(c, "queue");
  authorize(c, "admin", name);
  const update = parseWith(QueueConfigInput, await readJson(c, { optional: true }));
  if (update.push) checkPushUrl(c.env, update.push.url);
  return c.json(unwrap(await queueStub(c.env, name).configure(update)));
});

queueRoutes.delete("/:queue", async (c) => {
  const name = nameParam(c, "queue");
  authorize(c, "admin", name);
  await deleteQueue(c.env, name);
  return c.json({ name, deleted: true });
});

queueRoutes.get("/:queue", async (c) => {
  const name = nameParam(c, "queue");
  authorize(c, "consume", name);
  return c.json(await queueStub(c.env, name).stats());
});

queueRoutes.post("/:queue/messages", async (c) => {
  const name = nameParam(c, "queue");
  authorize(c, "publish", name);
  await enforcePublishRate(c);
  const { status, body } = publishAnswer(await enqueueToQueue(c.env, name, await readJson(c)));
  return c.json(body, status);
});

queueRoutes.delete("/:queue/messages", async (c) => {
  const name = nameParam(c, "queue");
  authorize(c, "admin", name);
  return c.json(await queueStub(c.env, name).purge());
});

queueRoutes.post("/:queue/pull", async (c) => {
  const name = nameParam(c, "queue");
  authorize(c, "consume", name);
  const input = parseWith(PullInput, await readJson(c, { optional: true }));
  const leased = unwrap(await queueStub(c.env, name).pull(input.max ?? 1, input.visibilityTimeoutSeconds ?? null, input.waitSeconds ?? 0));
  // Stored JSON is spliced in as it is.
  return c.body(`{"messages":[${leased.map((row) => encodeLeased(row)).join(",")}]}`, 200, {
    "content-type": "application/json; charset=utf-8",
  });
});

queueRoutes.post("/:queue/ack", async (c) => {
  const name = nameParam(c, "queue");
  authorize(c, "consume", name);
  const input = parseWith(AckInput, await readJson(c));
  const results = await queueStub(c.env, name).ack(input.leaseIds);
  return c.json({ results, acked: results.filter((result) => result.ok).length });
});

queueRoutes.post("/:queue/nack", async (c) => {
  const name = nameParam(c, "queue");
  authorize(c, "consume", name);
  const input = parseWith(NackInput, await readJson(c));
  const results = await queueStub(c.env, name).nack(input.leaseIds, input.delaySeconds ?? null);
  return c.json({ results, nacked: results.filter((result) => result.ok).length });
});

queueRoutes.post("/:queue/extend", async (c) => {
  const name = nameParam(c, "queue");
  authorize(c, "consume", name);
  const input = parseWith(ExtendInput, await readJson(c));
  const results = await queueStub(c.env, name).extend(input.leaseIds, input.visibilityTimeoutSeconds);
  return c.json({ results, extended: results.filter((result) => result.ok).length });
});

queueRoutes.post("/:queue/redrive", async (c) => {
  const name = nameParam(c, "queue");
  authorize(c, "admin", name);
  const input = parseWith(RedriveInput, await readJson(c, { optional: true }));
  return c.json(unwrap(await queueStub(c.env, name).redrive(input.to ?? null, input.max ?? 100_000)));
});

queueRoutes.get("/:queue/consume", async (c) => {
  const name = nameParam(c, "queue");
  authorize(c, "consume", name);
  const parsed = ConsumeQuery.safeParse(c.req.query());
  if (!parsed.success) throw validationError(parsed.error, "query", "invalid_query");
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "websocket_required", "consume needs a WebSocket upgrade; use POST /pull over plain HTTP");
  }
  const principal = c.get("principal");
  const consume: ConsumeRequest = {
    prefetch: parsed.data.prefetch ?? DEFAULT_PREFETCH,
    visibilityTimeoutSeconds: parsed.data.visibilityTimeoutSeconds ?? null,
    expiresAt: expiryOf(principal),
    batch: parsed.data.batch ?? false,
  };
  const forwarded = new Request(c.req.raw);
  forwarded.headers.set("x-edgepost-consume", JSON.stringify(consume));
  return queueStub(c.env, name).fetch(forwarded);
});
