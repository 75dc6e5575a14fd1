/**
 * Publishing to a topic by partition (issue 11; DESIGN.md "Partitioned topics"). Each message
 * goes to the partition of its key, else of its id (so a retry meets its duplicate), else to
 * one partition picked at random for the request. A batch is split per partition; each part
 * is one publish on its partition's object (all or nothing there, in order), the parts run in
 * parallel, and the answers come back in the order of the input.
 *
 * A topic of one partition costs what it always did: with no route cached, the worker assumes
 * one partition and sends to the topic's object, which refuses (storing nothing) if it has
 * more; every partition refuses a publish routed with a count it does not hold. On a refusal
 * the route is read again from partition 0 and the refused parts are sent once more, so a grow
 * made anywhere is seen by the next publish that reaches a partition that knows it. Partition
 * 0 answers that read after a grow in progress (partitions 1..P-1 learn it first), so a
 * publish racing one grow is refused once; racing several, once per grow it meets.
 */
import type { Env } from "../env";
import { ApiError } from "../protocol/errors";
import { unwrap } from "../http/errors";
import type { PreparedMessage } from "../protocol/frames";
import type { AppendResult } from "../topic/log";
import { partitionObjectName } from "./names";
import { cachedRoute, partitionFor, SINGLE_ROUTE, topicRoute, type TopicRoute } from "./route";

/** Routes one publish may follow: the cached one, then each newer one a refusal shows. */
const MAX_ROUTES_TRIED = 6;

export interface RoutedMessage {
  message: PreparedMessage;
  key?: string | undefined;
}

export interface PartitionedResult extends AppendResult {
  /** Present on topics of more than one partition. */
  partition?: number;
}

/** The partition of each message under `route`; messages with neither key nor id share `spare`. */
function placeAll(route: TopicRoute, items: readonly RoutedMessage[], indexes: readonly number[]): Map<number, number[]> {
  const parts = new Map<number, number[]>();
  const spare = Math.floor(Math.random() * route.partitions);
  for (const index of indexes) {
    const { message, key } = items[index]!;
    const partition = key === undefined && message.id === undefined ? spare : partitionFor(route, { key, id: message.id });
    const part = parts.get(partition);
    if (part) part.push(index);
    else parts.set(partition, [index]);
  }
  return parts;
}

/** Publish `items` to `topic`'s partitions; results in input order. */
export async function publishByPartition(env: Env, topic: string, items: readonly RoutedMessage[]): Promise<PartitionedResult[]> {
  const results: PartitionedResult[] = new Array(items.length);
  let route = cachedRoute(topic) ?? SINGLE_ROUTE;
  let pending = items.map((_, index) => index);
  // Each resend follows a route that changed (partitions only grow, to 64 at most); a refusal
  // under a route just read means partition 0 and a partition disagree (a grow that failed
  // half-way, healed by PUT again): then 503.
  for (let attempt = 0; attempt < MAX_ROUTES_TRIED; attempt++) {
    const refused: number[] = [];
    const used = route;
    await Promise.all(
      [...placeAll(used, items, pending)].map(async ([partition, indexes]) => {
        const stub = env.TOPIC.getByName(partitionObjectName(topic, partition));
        // A failure inside the object comes back as a value: the worker's 500 internal_error.
        const reply = unwrap(
          await stub.publishRouted(
            indexes.map((index) => items[index]!.message),
            used.partitions,
          ),
        );
        if (!reply.ok) {
          refused.push(...indexes);
          return;
        }
        reply.results.forEach((result, at) => {
          results[indexes[at]!] = used.partitions > 1 ? { ...result, partition } : result;
        });
      }),
    );
    if (refused.length === 0) return results;
    pending = refused.sort((a, b) => a - b);
    const fresh = await topicRoute(env, topic, { refresh: true });
    if (attempt > 0 && fresh.partitions === used.partitions) break;
    route = fresh;
  }
  throw new ApiError(503, "unavailable", `topic ${topic} is changing its partitions and some messages were not stored; retry (with the same ids, retrying is safe)`);
}
