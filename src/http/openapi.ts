/**
 * `GET /v1/openapi.json`: the OpenAPI 3.1 document of the HTTP API, generated from the same
 * Zod schemas the routes validate with (zod's own JSON Schema output), so it cannot drift from
 * what the worker accepts.
 */
import { z } from "zod";
import { Scopes } from "../auth/scopes";
import { MAX_TOKEN_TTL_SECONDS } from "../auth/tokens";
import { NAME_PATTERN_SOURCE } from "../protocol/names";
import * as S from "../protocol/schemas";
import { SqsCredentialInput } from "../sqs/credentials-route";
import { hoistSchemaDefs } from "./openapi-defs";

type Schema = Record<string, unknown>;

// Names for the definitions zod writes to `$defs` (recursive types), which hoistSchemaDefs
// moves to components.schemas; unnamed ones get zod's own (`__schema0`, as `schema0`).
const names = z.registry<{ id: string }>();
names.add(S.StoredMessage.shape.data, { id: "JsonValue" });

const input = (schema: z.ZodType): Schema => z.toJSONSchema(schema, { io: "input", unrepresentable: "any", metadata: names }) as Schema;
const output = (schema: z.ZodType): Schema => z.toJSONSchema(schema, { io: "output", unrepresentable: "any", metadata: names }) as Schema;

const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) });
const LeaseResults = z.object({ results: z.array(S.LeaseResult) });
const Deleted = json({ type: "object", properties: { name: { type: "string" }, deleted: { const: true } } }, "Deleted: state, alarm, sockets (closed 1001), bindings and listing gone; the name starts afresh");
const NothingToDelete = json(output(ErrorBody), "Nothing to delete");
const Unavailable = json(output(ErrorBody), "unavailable: a partition could not be reached, or the topic's partitions are changing; retry (with the same ids, safely)");
const Binding = z.object({
  topic: z.string(),
  queue: z.string(),
  filter: z.record(z.string(), z.string()).nullable(),
  fromSeq: z.number().int(),
  partitions: z.array(z.object({ partition: z.number().int(), fromSeq: z.number().int() })).optional(),
});
const TokenInput = z.object({ scopes: Scopes, ttlSeconds: z.number().int().min(1).max(MAX_TOKEN_TTL_SECONDS), subject: z.string().optional() });

function json(schema: Schema, description = "OK") {
  return { description, content: { "application/json": { schema } } };
}

const errors = {
  "400": json(output(ErrorBody), "Bad input"),
  "401": json(output(ErrorBody), "Missing or invalid credentials"),
  "403": json(output(ErrorBody), "Out of scope"),
  "413": json(output(ErrorBody), "Too large"),
};

function op(summary: string, opts: { body?: Schema; query?: [string, string][]; responses: Record<string, unknown>; params: string[] }) {
  const parameters = [
    ...opts.params.map((name) => ({ name, in: "path", required: true, schema: { type: "string", pattern: NAME_PATTERN_SOURCE } })),
    ...(opts.query ?? []).map(([name, description]) => ({ name, in: "query", required: false, description, schema: { type: "string" } })),
  ];
  return {
    summary,
    parameters,
    ...(opts.body ? { requestBody: { required: true, content: { "application/json": { schema: opts.body } } } } : {}),
    responses: { ...opts.responses, ...errors },
  };
}

function publishBody(item: z.ZodType): Schema {
  return { oneOf: [input(item), input(S.batchOf(item))] };
}

const publishResponses = {
  "201": json({ oneOf: [output(S.PublishResult), output(z.object({ messages: z.array(S.PublishResult) }))] }, "Stored"),
  "200": json(output(S.PublishResult), "Duplicate id within the dedup window: nothing stored"),
};

export function openApiDocument(serverUrl: string): Schema {
  const T = ["topic"];
  const Q = ["queue"];
  // `$defs` inside nested schemas point nowhere in an OpenAPI document: hoisted (openapi-defs.ts).
  return hoistSchemaDefs({
    openapi: "3.1.0",
    info: { title: "edgepost", version: "1", description: "Durable pub/sub topics and work queues on Cloudflare Workers." },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "Root key or scoped token" } } },
    paths: {
      "/v1/tokens": { post: op("Mint a scoped token (root key only)", { params: [], body: input(TokenInput), responses: { "201": json({ type: "object", properties: { token: { type: "string" }, expiresAt: { type: "integer" } } }) } }) },
      "/v1/tokens/sqs": {
        post: op("Mint SQS credentials (access key id + secret) from the root key or a scoped token", {
          params: [],
          body: input(SqsCredentialInput),
          responses: { "201": json({ type: "object", properties: { accessKeyId: { type: "string" }, secretAccessKey: { type: "string" }, expiresAt: { type: "integer" } } }) },
        }),
      },
      "/sqs": {
        post: {
          summary: "Amazon SQS JSON protocol (x-amz-target: AmazonSQS.<Action>), Signature Version 4; for AWS SDKs, see the README",
          security: [],
          responses: { "200": { description: "The action's SQS answer (application/x-amz-json-1.0)" }, "400": { description: "SQS error: {__type, message} and x-amzn-query-error" }, "403": { description: "SQS authentication error" } },
        },
      },
      "/v1/topics/{topic}": {
        get: op("Topic stats", { params: T, responses: { "200": json(output(S.TopicStats)) } }),
        put: op("Topic settings; partitions may grow, never shrink", { params: T, body: input(S.TopicConfigInput), responses: { "200": json(output(S.TopicConfig)), "409": json(output(ErrorBody), "partitions_shrink: fewer partitions than the topic has"), "503": Unavailable } }),
        delete: op("Delete the topic (admin)", { params: T, responses: { "200": Deleted, "404": NothingToDelete } }),
      },
      "/v1/topics/{topic}/messages": {
        post: op("Publish one message or a batch; on a partitioned topic routed by key, else id (answers add partition)", { params: T, body: publishBody(S.TopicMessageInput), responses: { ...publishResponses, "503": Unavailable } }),
        get: op("Read the retained log (of one partition on a partitioned topic)", {
          params: T,
          query: [["after", "seq to read after (default 0)"], ["limit", "1-1000, default 100"], ["partition", "required on a topic of more than one partition: 0 to partitions-1"]],
          responses: { "200": json(output(z.object({ messages: z.array(S.TopicHistoryRow), lastSeq: z.number().int() }))) },
        }),
      },
      "/v1/topics/{topic}/subscribe": {
        get: op("Subscribe: WebSocket upgrade, or SSE with Accept: text/event-stream", {
          params: T,
          query: [
            ["after", "replay messages with seq > after first; on a partitioned topic a cursor, one seq per partition in partition order (12,40,7); fewer entries than partitions mean 0 for the rest"],
            ["batch", "1: WebSocket frames {type: messages, topic, messages: [...]}, one per replay page or commit"],
            ["token", "credential for browsers"],
          ],
          responses: {
            "101": {
              description:
                "WebSocket: frames {type: message, topic, seq, id, data, attributes, publishedAt}; with batch=1 {type: messages, topic, messages: [{seq, id, data, attributes, publishedAt}]}. " +
                "On a partitioned topic every message adds partition, and the first frame is {type: cursor, topic, cursor} (where the subscription starts; again after a grow).",
            },
            "200": { description: "SSE stream: event id = seq; on a partitioned topic the id is the cursor after the message, and the first event (event: cursor) carries the starting cursor as its id" },
          },
        }),
      },
      "/v1/topics/{topic}/subscriptions/{queue}": {
        put: op("Bind a queue to the topic (every partition of a partitioned topic)", { params: ["topic", "queue"], body: input(z.object({ filter: S.Attributes.optional() })), responses: { "200": json(output(Binding)) } }),
        delete: op("Unbind a queue", { params: ["topic", "queue"], responses: { "200": json({ type: "object" }) } }),
      },
      "/v1/queues/{queue}": {
        get: op("Queue stats", { params: Q, responses: { "200": json(output(S.QueueStats)) } }),
        put: op("Queue settings; with push, a push queue (the secret is shown only when generated)", { params: Q, body: input(S.QueueConfigInput), responses: { "200": json(output(S.QueueConfigAnswer)) } }),
        delete: op("Delete the queue (admin)", { params: Q, responses: { "200": Deleted, "404": NothingToDelete } }),
      },
      "/v1/queues/{queue}/messages": {
        post: op("Enqueue one message or a batch", { params: Q, body: publishBody(S.QueueMessageInput), responses: publishResponses }),
        delete: op("Purge the queue", { params: Q, responses: { "200": json({ type: "object", properties: { purged: { type: "integer" } } }) } }),
      },
      "/v1/queues/{queue}/pull": { post: op("Lease ready messages; with waitSeconds (0-20), wait for one when none is ready (long polling)", { params: Q, body: input(S.PullInput), responses: { "200": json(output(z.object({ messages: z.array(S.LeasedMessage) }))) } }) },
      "/v1/queues/{queue}/ack": { post: op("Ack leases", { params: Q, body: input(S.AckInput), responses: { "200": json(output(LeaseResults)) } }) },
      "/v1/queues/{queue}/nack": { post: op("Nack leases", { params: Q, body: input(S.NackInput), responses: { "200": json(output(LeaseResults)) } }) },
      "/v1/queues/{queue}/extend": { post: op("Extend leases", { params: Q, body: input(S.ExtendInput), responses: { "200": json(output(LeaseResults)) } }) },
      "/v1/queues/{queue}/redrive": { post: op("Move messages back to their source queue", { params: Q, body: input(S.RedriveInput), responses: { "200": json({ type: "object" }) } }) },
      "/v1/queues/{queue}/consume": {
        get: op("Consume over WebSocket with prefetch", {
          params: Q,
          query: [["prefetch", "1-1000, default 10"], ["visibilityTimeoutSeconds", "lease length"], ["batch", "1: push {type: messages, queue, messages: [pull items]} frames"], ["token", "credential for browsers"]],
          responses: { "101": { description: "WebSocket: server pushes {type: message, ...} (batch=1: {type: messages, queue, messages}); client sends {type: ack|nack|extend, leaseId} (answered {type: result}) or {type: ack|nack, leaseIds: [1-100]} (answered {type: results, op, results})" } },
        }),
      },
    },
  });
}
