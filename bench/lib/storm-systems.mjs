/**
 * The systems a reconnect storm runs against: edgepost's topic (direct, and over K relays
 * when the server has them), the partyserver room (the issue's comparison) and the bare
 * hibernatable accept (the platform's ceiling for a connect). `subscribeUrl(name, after)`
 * adds the resume point for the systems that can resume.
 */
import { expectJson } from "./http.mjs";
import { NPM_START_ROOT_KEY, ROOT_KEY } from "./servers.mjs";

const wsUrl = (httpUrl) => httpUrl.replace(/^http/, "ws");

function edgepost(ctx, relays, server = { ...ctx.edgepost, rootKey: ROOT_KEY, key: "edgepost", label: "edgepost" }) {
  const base = `${wsUrl(server.url)}/v1/topics`;
  return {
    key: relays > 0 ? `${server.key}_relays${relays}` : server.key,
    label: relays > 0 ? `${server.label} topic over ${relays} relays` : `${server.label} topic (direct)`,
    params: relays > 0 ? { relays } : {},
    http: server.http,
    pgid: server.pgid,
    okStatus: 201,
    resumable: true,
    publishPath: (name) => `/v1/topics/${name}/messages`,
    subscribeUrl: (name, after) => `${base}/${name}/subscribe?token=${server.rootKey}${after === null ? "" : `&after=${after}`}`,
    // DESIGN.md "Relays": PUT /v1/topics/{t} {"relays": K}.
    setup: relays > 0 ? (name) => expectJson(server.http.put(`/v1/topics/${name}`, JSON.stringify({ relays })), `set relays=${relays}`) : undefined,
  };
}

function baseline(ctx, key, label, publishRoute, subscribeRoute) {
  return {
    key,
    label,
    http: ctx.baselines.http,
    pgid: ctx.baselines.pgid,
    okStatus: 200,
    resumable: false,
    publishPath: (name) => `/${publishRoute}/${name}`,
    subscribeUrl: (name) => `${wsUrl(ctx.baselines.url)}/${subscribeRoute}/${name}`,
  };
}

/** `--storm-systems` picks some by key (`npm_start`, `npm_start_relays4`: edgepost as `npm start` serves it). */
export function stormSystems(ctx) {
  const npmStart = ctx.npmStart && { ...ctx.npmStart, rootKey: NPM_START_ROOT_KEY, key: "npm_start", label: "npm start:" };
  const all = [
    edgepost(ctx, 0),
    ...ctx.storm.relays.map((relays) => edgepost(ctx, relays)),
    ...(npmStart ? [edgepost(ctx, 0, npmStart), ...ctx.storm.relays.map((relays) => edgepost(ctx, relays, npmStart))] : []),
    baseline(ctx, "partyserver", "peer: partyserver room (no durability)", "parties/room", "parties/room"),
    // Like for like: the room behind the static-assets router that stands in front of
    // edgepost's worker under Miniflare (servers.mjs, withEdgepostAssets).
    ...(ctx.baselinesAssets
      ? [{ ...baseline(ctx, "partyserver_same_assets", "peer: partyserver room, edgepost's [assets] router in front", "parties/room", "parties/room"), http: ctx.baselinesAssets.http, pgid: ctx.baselinesAssets.pgid, subscribeUrl: (name) => `${wsUrl(ctx.baselinesAssets.url)}/parties/room/${name}` }]
      : []),
    baseline(ctx, "accept", "baseline: DO accepts a hibernatable socket, no storage", "broadcast", "subscribe"),
  ];
  return ctx.storm.systems ? all.filter((system) => ctx.storm.systems.includes(system.key)) : all;
}
