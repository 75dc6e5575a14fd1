/**
 * The systems a scenario can drive, behind one shape: where to publish, where to subscribe,
 * how to read the acked seq. edgepost is the system under test; the rest are the baselines
 * and the partyserver peer from bench/baselines, served by the same runtime.
 */
import { NPM_START_ROOT_KEY, ROOT_KEY } from "./servers.mjs";

const wsUrl = (httpUrl) => httpUrl.replace(/^http/, "ws");

export const seqOfSingle = (text) => JSON.parse(text).seq;

export function edgepostTopic(ctx) {
  return {
    key: "edgepost",
    label: "edgepost topic (durable)",
    http: ctx.edgepost.http,
    pgid: ctx.edgepost.pgid,
    okStatus: 201,
    publishPath: (name) => `/v1/topics/${name}/messages`,
    subscribeUrl: (name) => `${wsUrl(ctx.edgepost.url)}/v1/topics/${name}/subscribe?token=${ROOT_KEY}`,
    seqsOfBatch: (text) => JSON.parse(text).messages.map((message) => message.seq),
  };
}

/** The same worker started by `npm start` (bench/scenarios/start.mjs). */
export function npmStartTopic(ctx) {
  return {
    ...edgepostTopic(ctx),
    key: "npm_start",
    label: "edgepost via npm start",
    http: ctx.npmStart.http,
    pgid: ctx.npmStart.pgid,
    subscribeUrl: (name) => `${wsUrl(ctx.npmStart.url)}/v1/topics/${name}/subscribe?token=${NPM_START_ROOT_KEY}`,
  };
}

function baseline(ctx, key, label, publishRoute, subscribeRoute = "subscribe") {
  return {
    key,
    label,
    http: ctx.baselines.http,
    pgid: ctx.baselines.pgid,
    okStatus: 200,
    publishPath: (name) => `/${publishRoute}/${name}`,
    subscribeUrl: (name) => `${wsUrl(ctx.baselines.url)}/${subscribeRoute}/${name}`,
    seqsOfBatch: (text) => JSON.parse(text).seqs,
  };
}

/** Publish baselines: the HTTP path, one RPC, one insert, a batch insert. */
export const bareWorker = (ctx) => ({ ...baseline(ctx, "bare", "baseline: bare worker 200", "bare"), publishPath: () => "/bare", noSeq: true });
/** The same bare worker behind the static-assets router edgepost has (servers.mjs, withEdgepostAssets). */
export const bareWorkerSameAssets = (ctx) => ({
  ...bareWorker(ctx),
  key: "bare_assets",
  label: "baseline: bare worker 200, edgepost's [assets]",
  http: ctx.baselinesAssets.http,
  pgid: ctx.baselinesAssets.pgid,
});
export const noopObject = (ctx) => ({ ...baseline(ctx, "noop_do", "baseline: worker -> no-op DO", "noop"), noSeq: true });
export const insertObject = (ctx) => baseline(ctx, "insert_do", "baseline: DO one SQLite insert", "insert");
export const batchInsertObject = (ctx) => baseline(ctx, "insert_batch_do", "baseline: DO n-row insert transaction", "insert-batch");

/**
 * edgepost with `?batch=1` subscribers (DESIGN.md "Batched frames"): under load a subscriber's
 * pending messages go out as one `{"type":"messages"}` frame. A server without batching
 * ignores the parameter and sends one frame per message, which the subscribers read too.
 */
export function edgepostBatchedTopic(ctx) {
  const plain = edgepostTopic(ctx);
  return { ...plain, key: "edgepost_batched", label: "edgepost topic, batch=1 subscribers", subscribeUrl: (name) => `${plain.subscribeUrl(name)}&batch=1` };
}

/** Fan-out systems: edgepost (plain and batched subscribers) and the broadcast baselines and peer. */
export function fanoutSystems(ctx) {
  return [
    edgepostTopic(ctx),
    edgepostBatchedTopic(ctx),
    baseline(ctx, "broadcast_insert", "baseline: DO broadcast + one insert", "broadcast-insert"),
    baseline(ctx, "partyserver", "peer: partyserver room (no durability)", "parties/room", "parties/room"),
    baseline(ctx, "broadcast", "baseline: DO broadcast, no storage", "broadcast"),
  ];
}

/** Edgepost requests that stop before the object: what the worker's HTTP path costs alone. */
export function edgepostWorkerOnly(ctx) {
  return [
    { key: "edgepost_401", label: "diag: edgepost, no credentials (401)", path: "/v1/topics/diag/messages", status: 401, http: ctx.edgepost.anonymousHttp, pgid: ctx.edgepost.pgid },
    { key: "edgepost_400", label: "diag: edgepost, auth + invalid body (400)", path: "/v1/topics/diag/messages", status: 400, http: ctx.edgepost.http, pgid: ctx.edgepost.pgid, body: "{}" },
  ];
}

/** A 100-message batch body. */
const batchBody = (ctx) => `{"messages":[${Array.from({ length: 100 }, (_, c) => `{"data":${ctx.payload.data(c, 1.8e12)}}`).join(",")}]}`;

/** In workerd, no object: edgepost's body validation (src/http/body.ts) vs a bare JSON.parse. */
export function validationProbes(ctx) {
  const probe = (key, label, route) => ({ key, label, path: `/probe/${route}/x`, status: 200, http: ctx.baselines.http, pgid: ctx.baselines.pgid, batch: 100, makeBody: batchBody });
  return [
    probe("probe_validate_batch", "diag: edgepost parsePublishBody + prepareMessage, 100 msgs", "validate"),
    probe("probe_parse_batch", "diag: JSON.parse + stringify each, 100 msgs", "parse"),
  ];
}

/** edgepost's TopicObject called over RPC from a minimal worker (bench/baselines/probe.ts). */
export const probeTopicRpc = (ctx) => ({ ...baseline(ctx, "probe_topic_rpc", "diag: edgepost TopicObject.publish over RPC, no Hono", "probe/topic"), okStatus: 200 });
export const probeTopicBatch = (ctx) => ({
  ...baseline(ctx, "probe_topic_rpc", "diag: edgepost TopicObject.publish over RPC, no Hono", "probe/topic-batch"),
  seqsOfBatch: (text) => JSON.parse(text).messages.map((message) => message.seq),
});
export const probeAppendOnly = (ctx) => baseline(ctx, "probe_append_only", "diag: edgepost TopicLog.append alone over RPC", "probe/append");
