/**
 * The worker's half of subscribing through relays: pick the relay that will hold a new
 * subscriber and hand it the request.
 *
 * Assignment is uniformly random (not by client, not by load): every relay carries the same
 * stream, so any relay can take any subscriber and resume it from its cursor; random spreads a
 * reconnect storm evenly without shared state or a call to learn loads (for 10,000 subscribers
 * over 4 relays the fullest holds about 2,550, 2 % over the mean); and a subscriber that comes
 * back lands wherever, which is what spreads the load again after a relay restarts. A relay at
 * its socket limit answers 503; the next relay is tried, up to three.
 */
import type { Env } from "../env";
import type { TopicRoute } from "../partition/route";
import { relayObjectName } from "./feed-protocol";
import type { RelaySubscribeRequest } from "./relay-object";

const RELAYS_TRIED = 3;
/** Set on a topic object's refusal of a direct subscriber: the worker's route was stale. */
const REROUTE_HEADER = "x-edgepost-reroute";

/** The topic object's answer to a direct subscribe once the topic has partitions. */
export function rerouteToRelays(topic: string): Response {
  return Response.json(
    { error: { code: "unavailable", message: `topic ${topic} has partitions now; subscribe again` } },
    { status: 503, headers: { [REROUTE_HEADER]: "1", "retry-after": "1" } },
  );
}

export function mustReroute(response: Response): boolean {
  return response.headers.has(REROUTE_HEADER);
}

/** How many relays hold a topic's subscribers: a partitioned topic always uses at least one. */
export function relayCount(route: TopicRoute): number {
  return route.partitions > 1 ? Math.max(1, route.relays) : route.relays;
}

export async function subscribeThroughRelay(env: Env, topic: string, route: TopicRoute, request: Request, subscribe: RelaySubscribeRequest): Promise<Response> {
  const relays = relayCount(route);
  const first = Math.floor(Math.random() * relays);
  let response: Response | undefined;
  for (let attempt = 0; attempt < Math.min(RELAYS_TRIED, relays); attempt++) {
    const forwarded = new Request(request);
    forwarded.headers.set("x-edgepost-subscribe", JSON.stringify(subscribe));
    response = await env.RELAY.getByName(relayObjectName(topic, (first + attempt) % relays)).fetch(forwarded);
    if (response.status !== 503) return response;
  }
  return response!;
}
