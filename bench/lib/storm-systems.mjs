/**
 * The systems a reconnect storm runs against: edgepost's topic (direct, and over K relays
 * when the server has them), the partyserver room (the issue's comparison) and the bare
 * hibernatable accept (the platform's ceiling for a connect). `subscribeUrl(name, after)`
 * adds the resume point for the systems that can resume.
 */
import { expectJson } from "./http.mjs";
import { ROOT_KEY } from "./servers.mjs";

const wsUrl = (httpUrl) => httpUrl.replace(/^http/, "ws");

function edgepost(ctx, relays) {
  const base = `${wsUrl(ctx.edgepost.url)}/v1/topics`;
  return {
    key: relays > 0 ? `edgepost_relays${relays}` : "edgepost",
    label: relays > 0 ? `edgepost topic over ${relays} relays` : "edgepost topic (direct)",
    params: relays > 0 ? { relays } : {},
    http: ctx.edgepost.http,
    pgid: ctx.edgepost.pgid,
    okStatus: 201,
    resumable: true,
    publishPath: (name) => `/v1/topics/${name}/messages`,
    subscribeUrl: (name, after) => `${base}/${name}/subscribe?token=${ROOT_KEY}${after === null ? "" : `&after=${after}`}`,
    // DESIGN.md "Relays": PUT /v1/topics/{t} {"relays": K}.
    setup: relays > 0 ? (name) => expectJson(ctx.edgepost.http.put(`/v1/topics/${name}`, JSON.stringify({ relays })), `set relays=${relays}`) : undefined,
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

export function stormSystems(ctx) {
  return [
    edgepost(ctx, 0),
    ...ctx.storm.relays.map((relays) => edgepost(ctx, relays)),
    baseline(ctx, "partyserver", "peer: partyserver room (no durability)", "parties/room", "parties/room"),
    // Like for like: the room behind the static-assets router that stands in front of
    // edgepost's worker under Miniflare (servers.mjs, withEdgepostAssets).
    ...(ctx.baselinesAssets
      ? [{ ...baseline(ctx, "partyserver_same_assets", "peer: partyserver room, edgepost's [assets] router in front", "parties/room", "parties/room"), http: ctx.baselinesAssets.http, pgid: ctx.baselinesAssets.pgid, subscribeUrl: (name) => `${wsUrl(ctx.baselinesAssets.url)}/parties/room/${name}` }]
      : []),
    baseline(ctx, "accept", "baseline: DO accepts a hibernatable socket, no storage", "broadcast", "subscribe"),
  ];
}
