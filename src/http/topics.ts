/**
 * Topic routes: publish (single, batch, idempotent), history, subscribe (WebSocket or SSE),
 * stats, settings, delete and queue bindings. Each validates here and calls the topic's object.
 */
import { Hono } from "hono";
import { z } from "zod";
import { ApiError } from "../protocol/errors";
import { encodeMessage } from "../protocol/frames";
import { Attributes, HistoryQuery, SubscribeQuery, TopicConfigInput } from "../protocol/schemas";
import type { SubscribeRequest } from "../topic/topic-object";
import { expiryOf } from "../auth/principal";
import { deleteTopic } from "../lifecycle/delete";
import { authorize, type AppEnv } from "./auth";
import { publishAnswer, publishToTopic, readHistory } from "../operations/messages";
import { parseWith, readJson } from "./body";
import { unwrap, validationError } from "./errors";
import { forgetRoute, rememberRoute, topicRoute, type TopicRoute } from "../partition/route";
import { partitionPrefix } from "../partition/history";
import { topicStats } from "../partition/stats";
import { bindQueueToTopic, unbindQueueFromTopic } from "../partition/bindings";
import { nameParam } from "./names";
import { enforcePublishRate } from "./rate-limit";
import { parseCursor } from "../relay/cursor";
import { mustReroute, relayCount, subscribeThroughRelay } from "../relay/subscribe";

export const topicRoutes = new Hono<AppEnv>();

const topicStub = (env: AppEnv["Bindings"], name: string) => env.TOPIC.getByName(name);

function parseQuery<T extends z.ZodType>(schema: T, query: Record<string, string>): z.output<T> {
  const result = schema.safeParse(query);
  if (!result.success) throw validationError(result.error, "query", "invalid_query");
  return result.data;
}

topicRoutes.post("/:topic/messages", async (c) => {
  const name = nameParam(c, "topic");
  authorize(c, "publish", name);
  await enforcePublishRate(c);
  const { status, body } = publishAnswer(await publishToTopic(c.env, name, await readJson(c)));
  return c.json(body, status);
});

topicRoutes.get("/:topic/messages", async (c) => {
  const name = nameParam(c, "topic");
  authorize(c, "subscribe", name);
  const query = parseQuery(HistoryQuery, c.req.query());
  const page = await readHistory(c.env, name, query.after, query.limit, query.partition);
  // Stored JSON is spliced in as it is: no parse and re-serialise of every payload.
  const prefix = partitionPrefix(page.partition);
  const body = `{"messages":[${page.messages.map((row) => encodeMessage(row, prefix)).join(",")}],"lastSeq":${page.lastSeq}}`;
  return c.body(body, 200, { "content-type": "application/json; charset=utf-8" });
});

topicRoutes.get("/:topic/subscribe", async (c) => {
  const name = nameParam(c, "topic");
  authorize(c, "subscribe", name);
  const query = parseQuery(SubscribeQuery, c.req.query());
  const isWebSocket = c.req.header("upgrade")?.toLowerCase() === "websocket";
  const isSse = (c.req.header("accept") ?? "").includes("text/event-stream");
  if (!isWebSocket && !isSse) {
    throw new ApiError(426, "websocket_required", "subscribe with a WebSocket upgrade, or Accept: text/event-stream for SSE");
  }
  // `after` and Last-Event-ID are a seq, or on a partitioned topic a cursor (relay/cursor.ts).
  const lastEventId = isSse ? c.req.header("last-event-id") : undefined;
  const resumeFrom = lastEventId ?? query.after;
  const transport = isWebSocket ? "websocket" : "sse";
  const expiresAt = expiryOf(c.get("principal"));
  // SSE is unchanged: one event per message.
  const batch = isWebSocket && query.batch === true;
  const subscribeWith = async (route: TopicRoute): Promise<Response> => {
    const cursor = resumeFrom === undefined ? null : parseCursor(resumeFrom, route.partitions, lastEventId !== undefined ? "Last-Event-ID" : "after");
    if (relayCount(route) > 0) return subscribeThroughRelay(c.env, name, route, c.req.raw, { transport, after: cursor, expiresAt, batch });
    const subscribe: SubscribeRequest = { transport, after: cursor === null ? null : cursor[0]!, expiresAt, batch };
    const forwarded = new Request(c.req.raw);
    forwarded.headers.set("x-edgepost-subscribe", JSON.stringify(subscribe));
    return topicStub(c.env, name).fetch(forwarded);
  };
  const response = await subscribeWith(await topicRoute(c.env, name));
  // The cached route said one partition, the topic has grown since: look again, once.
  return mustReroute(response) ? subscribeWith(await topicRoute(c.env, name, { refresh: true })) : response;
});

topicRoutes.get("/:topic", async (c) => {
  const name = nameParam(c, "topic");
  authorize(c, "subscribe", name);
  return c.json(await topicStats(c.env, name));
});

topicRoutes.delete("/:topic", async (c) => {
  const name = nameParam(c, "topic");
  authorize(c, "admin", name);
  await deleteTopic(c.env, name);
  forgetRoute(name);
  return c.json({ name, deleted: true });
});

topicRoutes.put("/:topic", async (c) => {
  const name = nameParam(c, "topic");
  authorize(c, "admin", name);
  const update = parseWith(TopicConfigInput, await readJson(c, { optional: true }));
  const config = unwrap(await topicStub(c.env, name).configure(update));
  // This isolate routes by the new counts at once; others within the route cache's lifetime.
  rememberRoute(name, config);
  return c.json(config);
});

const BindingInput = z.strictObject({ filter: Attributes.optional() });

topicRoutes.put("/:topic/subscriptions/:queue", async (c) => {
  const name = nameParam(c, "topic");
  const queue = nameParam(c, "queue");
  authorize(c, "admin", name);
  const input = parseWith(BindingInput, await readJson(c, { optional: true }));
  const filter = input.filter && Object.keys(input.filter).length > 0 ? input.filter : null;
  return c.json(await bindQueueToTopic(c.env, name, queue, filter));
});

topicRoutes.delete("/:topic/subscriptions/:queue", async (c) => {
  const name = nameParam(c, "topic");
  const queue = nameParam(c, "queue");
  authorize(c, "admin", name);
  await unbindQueueFromTopic(c.env, name, queue);
  return c.json({ topic: name, queue, removed: true });
});
