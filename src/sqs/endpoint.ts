/**
 * The SQS-compatible endpoint: `POST /sqs` (and `POST /` carrying `x-amz-target:
 * AmazonSQS.*`) speaks Amazon SQS's JSON protocol (AWS JSON 1.0) to unmodified AWS SDKs.
 * Each request is checked with Signature Version 4 (sigv4.ts, credentials.ts), its action is
 * looked up, and the action translates it into the calls the HTTP routes make on the queue's
 * object. No queue logic lives here. Every failure is an SQS-shaped error (errors.ts).
 */
import type { Context } from "hono";
import { ApiError } from "../protocol/errors";
import { MAX_REQUEST_BYTES } from "../protocol/limits";
import type { AppEnv } from "../http/auth";
import { changeMessageVisibility, changeMessageVisibilityBatch, deleteMessage, deleteMessageBatch } from "./actions/leases";
import { createQueue, deleteQueueAction, getQueueAttributes, getQueueUrl, listQueues, purgeQueue, setQueueAttributes } from "./actions/queues";
import { receiveMessage } from "./actions/receive";
import { sendMessage, sendMessageBatch } from "./actions/send";
import type { SqsContext } from "./context";
import { resolveAccessKey } from "./credentials";
import { fromApiError, SqsError } from "./errors";
import { parseAuthorization, verifySignature } from "./sigv4";

type Action = (ctx: SqsContext, body: unknown) => Promise<object>;

const ACTIONS: Record<string, Action> = {
  CreateQueue: createQueue,
  GetQueueUrl: getQueueUrl,
  ListQueues: listQueues,
  GetQueueAttributes: getQueueAttributes,
  SetQueueAttributes: setQueueAttributes,
  PurgeQueue: purgeQueue,
  DeleteQueue: deleteQueueAction,
  SendMessage: sendMessage,
  SendMessageBatch: sendMessageBatch,
  ReceiveMessage: receiveMessage,
  DeleteMessage: deleteMessage,
  DeleteMessageBatch: deleteMessageBatch,
  ChangeMessageVisibility: changeMessageVisibility,
  ChangeMessageVisibilityBatch: changeMessageVisibilityBatch,
};

/** SQS actions edgepost knows of and does not offer (a clear UnsupportedOperation). */
const UNSUPPORTED = new Set([
  "AddPermission",
  "RemovePermission",
  "TagQueue",
  "UntagQueue",
  "ListQueueTags",
  "ListDeadLetterSourceQueues",
  "StartMessageMoveTask",
  "CancelMessageMoveTask",
  "ListMessageMoveTasks",
]);

export const SQS_TARGET_PREFIX = "AmazonSQS.";

/** Headers the AWS SDK for JavaScript sends from a browser (allowed by CORS on /sqs). */
export const SQS_CORS_HEADERS = [
  "authorization",
  "content-type",
  "x-amz-date",
  "x-amz-target",
  "x-amz-user-agent",
  "x-amz-security-token",
  "x-amz-content-sha256",
  "x-amzn-query-mode",
  "amz-sdk-invocation-id",
  "amz-sdk-request",
];

/** Is this a request an SQS SDK sent? (For `POST /`, which otherwise belongs to the console.) */
export function isSqsRequest(c: Context): boolean {
  return c.req.header("x-amz-target")?.startsWith(SQS_TARGET_PREFIX) ?? false;
}

async function readBody(c: Context<AppEnv>): Promise<Uint8Array> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > MAX_REQUEST_BYTES) throw new SqsError("BatchRequestTooLong", `request body over ${MAX_REQUEST_BYTES} bytes`);
  const body = new Uint8Array(await c.req.arrayBuffer());
  if (body.byteLength > MAX_REQUEST_BYTES) throw new SqsError("BatchRequestTooLong", `request body over ${MAX_REQUEST_BYTES} bytes`);
  return body;
}

function parseJson(body: Uint8Array): unknown {
  const text = new TextDecoder().decode(body);
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new SqsError("SerializationException", "the request body is not valid JSON");
  }
}

async function serve(c: Context<AppEnv>): Promise<Response> {
  if (!c.env.EDGEPOST_ROOT_KEY) throw new SqsError("ServiceUnavailable", "no root key is set: run `wrangler secret put EDGEPOST_ROOT_KEY`");
  const contentType = c.req.header("content-type") ?? "";
  if (!contentType.startsWith("application/x-amz-json-1.")) {
    throw new SqsError("InvalidAction", "edgepost speaks the SQS JSON protocol (content-type application/x-amz-json-1.0, x-amz-target AmazonSQS.<Action>); the older query protocol is not supported");
  }
  const body = await readBody(c);
  const signed = parseAuthorization(c.req.header("authorization") ?? null);
  const key = await resolveAccessKey(c.env, signed.accessKeyId);
  if (!key) throw new SqsError("InvalidClientTokenId", "The security token included in the request is invalid (unknown or expired access key id).");
  await verifySignature(c.req.raw, body, signed, key.secrets);

  const target = c.req.header("x-amz-target") ?? "";
  const name = target.startsWith(SQS_TARGET_PREFIX) ? target.slice(SQS_TARGET_PREFIX.length) : "";
  const action = Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
  if (!action) {
    if (UNSUPPORTED.has(name)) throw new SqsError("UnsupportedOperation", `edgepost does not support ${name}`);
    throw new SqsError("InvalidAction", `The action ${JSON.stringify(name.slice(0, 100))} is not valid for this endpoint (x-amz-target must be AmazonSQS.<Action>).`);
  }
  c.set("principal", key.principal);
  const ctx: SqsContext = { env: c.env, principal: key.principal, origin: new URL(c.req.url).origin, region: signed.region, http: c };
  const result = await action(ctx, parseJson(body));
  return new Response(JSON.stringify(result), {
    status: 200,
    headers: { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": crypto.randomUUID() },
  });
}

/** The route handler: always an SQS answer, never edgepost's own error body. */
export async function handleSqs(c: Context<AppEnv>): Promise<Response> {
  try {
    return await serve(c);
  } catch (error) {
    if (error instanceof SqsError) return error.toResponse();
    if (error instanceof ApiError) return fromApiError(error).toResponse(error.status === 429 ? { "retry-after": "10" } : {});
    console.error("sqs: unhandled error", error);
    return new SqsError("InternalFailure", "internal error").toResponse();
  }
}
