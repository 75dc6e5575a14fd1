/**
 * Where a topic's messages and subscribers go (issue 11): its partition count P and relay count
 * K, as partition 0 holds them, cached per isolate so a publish or subscribe does not ask
 * partition 0 every time. Shared by publish (partition/publish.ts) and subscribe (src/relay/).
 *
 * The cache may be stale for a few seconds after a grow made in another isolate; publishes do
 * not rely on it being fresh: a partition object refuses a publish routed with a P it does
 * not hold, and the worker then refreshes the route and retries (partition/publish.ts).
 */
import type { Env } from "../env";

export interface TopicRoute {
  partitions: number;
  relays: number;
}

/** A topic nobody configured: one partition, no relays (today's topic). */
export const SINGLE_ROUTE: TopicRoute = Object.freeze({ partitions: 1, relays: 0 });

/** Long enough to spare partition 0 a call per request, short enough for relays changes to show soon. */
const ROUTE_TTL_MS = 5000;
/** Bound on remembered topics per isolate (oldest inserted dropped first). */
const MAX_CACHED_TOPICS = 10_000;

const cache = new Map<string, { route: TopicRoute; expiresAt: number }>();
/** One fetch per topic at a time: concurrent requests of a cold isolate share it. */
const fetching = new Map<string, Promise<TopicRoute>>();

/** The cached route, if fresh; no call. */
export function cachedRoute(topic: string, now = Date.now()): TopicRoute | undefined {
  const entry = cache.get(topic);
  if (!entry) return undefined;
  if (entry.expiresAt <= now) {
    cache.delete(topic);
    return undefined;
  }
  return entry.route;
}

/** Record a route just learned (a PUT of the topic's settings, a refusal, a fetch). */
export function rememberRoute(topic: string, route: TopicRoute, now = Date.now()): void {
  cache.delete(topic);
  if (cache.size >= MAX_CACHED_TOPICS) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(topic, { route: { partitions: route.partitions, relays: route.relays }, expiresAt: now + ROUTE_TTL_MS });
}

/** The topic was deleted here: its next request asks partition 0 again. */
export function forgetRoute(topic: string): void {
  cache.delete(topic);
}

/** The topic's route: from the cache, else (or with `refresh`) from partition 0. */
export async function topicRoute(env: Env, topic: string, options: { refresh?: boolean } = {}): Promise<TopicRoute> {
  if (!options.refresh) {
    const cached = cachedRoute(topic);
    if (cached) return cached;
  }
  const running = fetching.get(topic);
  if (running) return running;
  const fetched = env.TOPIC.getByName(topic)
    .route()
    .then((route) => {
      rememberRoute(topic, route);
      return route;
    })
    .finally(() => fetching.delete(topic));
  fetching.set(topic, fetched);
  return fetched;
}

const encoder = new TextEncoder();

/** FNV-1a, 32 bits, over the UTF-8 bytes of `text` (README "Partitioned topics" documents it). */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    // hash * 16777619 (the FNV prime), kept to 32 bits.
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/**
 * The partition of a message: by its key; without one by its id (so a retry meets its
 * duplicate); with neither, any partition (random spreads load without coordination).
 */
export function partitionFor(route: Pick<TopicRoute, "partitions">, message: { key?: string | undefined; id?: string | undefined }): number {
  if (route.partitions <= 1) return 0;
  const by = message.key ?? message.id;
  if (by === undefined) return Math.floor(Math.random() * route.partitions);
  return fnv1a32(by) % route.partitions;
}
