/**
 * Probes into edgepost's own Topic object, for finding where publish time goes (diagnostics,
 * not baselines). They import edgepost's classes unchanged from src/ and call them over RPC
 * from a minimal worker, so the difference to the full HTTP publish is the worker's share
 * (Hono, credentials, zod, body handling):
 *
 *   POST /probe/topic/{name}          TopicObject.publish([one message]) over RPC, no Hono
 *   POST /probe/topic-batch/{name}    the same with {"messages":[...]}
 *   POST /probe/append/{name}         TopicAppendOnly: the object's log append alone (one
 *                                     transactionSync: insert + meta), none of the rest of
 *                                     publish (fan-out, outbox, alarm re-arm, registration)
 */
import type { PreparedMessage } from "../../src/protocol/frames";
import { DirectoryObject } from "../../src/directory/directory-object";
import { QueueObject } from "../../src/queue/queue-object";
import type { TopicLog } from "../../src/topic/log";
import { TopicObject } from "../../src/topic/topic-object";
import type { Env as EdgepostEnv } from "../../src/env";

export { DirectoryObject, QueueObject, TopicObject };

/** TopicObject whose publish is only the log append. */
export class TopicAppendOnly extends TopicObject {
  override async publish(messages: PreparedMessage[]) {
    // `log` is private in TypeScript only; this probe reads it to time the append alone.
    const log = (this as unknown as { log: TopicLog }).log;
    return log.append(messages, Date.now(), 600_000).results;
  }
}

export interface ProbeEnv extends EdgepostEnv {
  TOPIC_APPEND_ONLY: DurableObjectNamespace<TopicAppendOnly>;
}

const encoder = new TextEncoder();

function prepare(message: { data?: unknown }): PreparedMessage {
  const data = JSON.stringify(message.data ?? null);
  return { data, attributes: null, size: encoder.encode(data).byteLength };
}

const json = (value: unknown) => new Response(JSON.stringify(value), { headers: { "content-type": "application/json" } });

export async function probe(request: Request, env: ProbeEnv, kind: string, name: string): Promise<Response> {
  const body = (await request.json()) as { data?: unknown; messages?: { data?: unknown }[] };
  switch (kind) {
    case "topic":
      return json((await env.TOPIC.getByName(name).publish([prepare(body)]))[0]);
    case "topic-batch":
      return json({ messages: await env.TOPIC.getByName(name).publish((body.messages ?? []).map(prepare)) });
    case "append":
      return json((await env.TOPIC_APPEND_ONLY.getByName(name).publish([prepare(body)]))[0]);
    default:
      return new Response("not found", { status: 404 });
  }
}
