/** Reading, validating and preparing request bodies for the objects. */
import type { Context } from "hono";
import { z } from "zod";
import { ApiError } from "../protocol/errors";
import type { PreparedMessage } from "../protocol/frames";
import { DEFAULT_MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES_CEILING } from "../protocol/limits";
import { batchOf } from "../protocol/schemas";
import type { Env } from "../env";
import { validationError } from "./errors";

const encoder = new TextEncoder();

/** Parse the body as JSON (size is capped before by the bodyLimit middleware). */
export async function readJson(c: Context, { optional = false } = {}): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") {
    if (optional) return {};
    throw new ApiError(400, "invalid_json", "request body is empty; expected JSON");
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, "invalid_json", "request body is not valid JSON");
  }
}

export function parseWith<T extends z.ZodType>(schema: T, value: unknown, where = "body"): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error, where);
  return result.data;
}

/** Batch schemas are built once per item schema, not per request. */
const batchSchemas = new WeakMap<z.ZodType, z.ZodType>();

function batchSchemaOf(item: z.ZodType): z.ZodType {
  let schema = batchSchemas.get(item);
  if (!schema) {
    schema = batchOf(item);
    batchSchemas.set(item, schema);
  }
  return schema;
}

/** A single message or `{"messages": [...]}`; returns the inputs and whether it was a batch. */
export function parsePublishBody<T extends z.ZodType>(item: T, body: unknown): { batch: boolean; messages: z.output<T>[] } {
  if (body !== null && typeof body === "object" && !Array.isArray(body) && "messages" in body) {
    return { batch: true, messages: (parseWith(batchSchemaOf(item), body) as { messages: z.output<T>[] }).messages };
  }
  return { batch: false, messages: [parseWith(item, body)] };
}

export function maxMessageBytes(env: Env): number {
  const configured = Number(env.MAX_MESSAGE_BYTES);
  if (!Number.isFinite(configured) || configured <= 0) return DEFAULT_MAX_MESSAGE_BYTES;
  return Math.min(configured, MAX_MESSAGE_BYTES_CEILING);
}

/** Serialise a message once, for storage and every delivery, and check its size. */
export function prepareMessage(
  input: { data: unknown; id?: string | undefined; attributes?: Record<string, string> | undefined },
  maxBytes: number,
  index?: number,
): PreparedMessage {
  const data = JSON.stringify(input.data);
  const attributes = input.attributes && Object.keys(input.attributes).length > 0 ? JSON.stringify(input.attributes) : null;
  const size = encoder.encode(data).byteLength + (attributes ? encoder.encode(attributes).byteLength : 0);
  if (size > maxBytes) {
    const which = index === undefined ? "message" : `messages.${index}`;
    throw new ApiError(413, "message_too_large", `${which} is ${size} bytes; the limit is ${maxBytes} bytes`);
  }
  const prepared: PreparedMessage = { data, attributes, size };
  if (input.id !== undefined) prepared.id = input.id;
  return prepared;
}
