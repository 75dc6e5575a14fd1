/**
 * SendMessage and SendMessageBatch: the body is kept byte-exact as a JSON string in the
 * message's `data` (so the HTTP API reads the same text), typed attributes go to its
 * `attributes` (message-attributes.ts), and the enqueue is the object's, as for
 * POST /v1/queues/{queue}/messages, with the same validation and size limit.
 */
import { maxMessageBytes, parseWith, prepareMessage } from "../../http/body";
import { QueueMessageInput } from "../../protocol/schemas";
import type { EnqueueMessage } from "../../queue/requests";
import { publishRate, queueRequest, queueStub, type SqsContext } from "../context";
import { SqsError } from "../errors";
import { checkBatch, SendMessageBatchInput, SendMessageInput, sortEntries, type SendFields } from "../input";
import { md5Hex } from "../md5";
import { checkText, md5OfWireAttributes, toEdgepostAttributes } from "../message-attributes";

interface PreparedSend {
  message: EnqueueMessage;
  md5OfBody: string;
  md5OfAttributes: string | undefined;
}

async function prepareSend(ctx: SqsContext, fields: SendFields): Promise<PreparedSend> {
  if (fields.MessageBody.length === 0) throw new SqsError("MissingParameter", "The request must contain the parameter MessageBody.");
  checkText(fields.MessageBody, "MessageBody");
  if (fields.DelaySeconds !== undefined && (fields.DelaySeconds < 0 || fields.DelaySeconds > 900)) {
    throw new SqsError("InvalidParameterValue", `Value ${fields.DelaySeconds} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900.`);
  }
  if (fields.MessageDeduplicationId !== undefined) {
    throw new SqsError("InvalidParameterValue", "MessageDeduplicationId is for FIFO queues, which edgepost does not support yet.");
  }
  const attributes = toEdgepostAttributes(fields.MessageAttributes);
  // The HTTP route's validation and preparation, on the translated message.
  const input = parseWith(QueueMessageInput, { data: fields.MessageBody, ...(attributes ? { attributes } : {}) });
  const prepared = prepareMessage(input, maxMessageBytes(ctx.env));
  return {
    message: { ...prepared, delayMs: fields.DelaySeconds === undefined ? null : fields.DelaySeconds * 1000 },
    md5OfBody: await md5Hex(fields.MessageBody),
    md5OfAttributes: await md5OfWireAttributes(fields.MessageAttributes ?? {}),
  };
}

export async function sendMessage(ctx: SqsContext, body: unknown) {
  const { input, queue } = queueRequest(ctx, SendMessageInput, body, "publish");
  await publishRate(ctx);
  const send = await prepareSend(ctx, input);
  const [result] = await queueStub(ctx, queue).enqueue([send.message]);
  return { MessageId: result!.id, MD5OfMessageBody: send.md5OfBody, ...(send.md5OfAttributes ? { MD5OfMessageAttributes: send.md5OfAttributes } : {}) };
}

export async function sendMessageBatch(ctx: SqsContext, body: unknown) {
  const { input, queue } = queueRequest(ctx, SendMessageBatchInput, body, "publish");
  checkBatch(input.Entries);
  await publishRate(ctx);
  const { accepted, failed } = await sortEntries(input.Entries, (entry) => prepareSend(ctx, entry));
  // The accepted entries go in one enqueue: in order, all or nothing.
  const results = accepted.length === 0 ? [] : await queueStub(ctx, queue).enqueue(accepted.map((entry) => entry.value.message));
  const successful = accepted.map(({ id, value: send }, index) => ({
    Id: id,
    MessageId: results[index]!.id,
    MD5OfMessageBody: send.md5OfBody,
    ...(send.md5OfAttributes ? { MD5OfMessageAttributes: send.md5OfAttributes } : {}),
  }));
  return { Successful: successful, Failed: failed };
}
