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
 *   POST /probe/validate/x            edgepost's body handling only (parsePublishBody with
 *                                     zod, prepareMessage), no object: its cost inside workerd
 *   POST /probe/parse/x               JSON.parse and a stringify per message, for comparison
 */
import { parsePublishBody, prepareMessage } from "../../src/http/body";
import type { PreparedMessage } from "../../src/protocol/frames";
import { TopicMessageInput } from "../../src/protocol/schemas";
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
    case "validate": {
      const { messages } = parsePublishBody(TopicMessageInput, body);
      return json({ count: messages.map((message, index) => prepareMessage(message, 262_144, index)).length });
    }
    case "parse":
      return json({ count: (body.messages ?? []).map(prepare).length });
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
