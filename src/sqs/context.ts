/** What every action gets: the caller, where it is answered from, and the queues' objects. */
import type { Context } from "hono";
import { isAllowed, type Principal } from "../auth/principal";
import type { Operation } from "../auth/scopes";
import type { Env } from "../env";
import type { AppEnv } from "../http/auth";
import type { z } from "zod";
import { enforcePublishRate } from "../http/rate-limit";
import { queueFromUrl } from "./addressing";
import { SqsError } from "./errors";
import { parseInput } from "./input";

export interface SqsContext {
  env: Env;
  principal: Principal;
  /** The origin queue URLs are built from. */
  origin: string;
  /** The region the client signed for (ARNs carry it back). */
  region: string;
  /** The worker's Hono context (the shared publish rate limit reads it). */
  http: Context<AppEnv>;
}

export function authorize(ctx: SqsContext, operation: Operation, queue: string): void {
  if (!isAllowed(ctx.principal, operation, queue)) {
    throw new SqsError("AccessDenied", `Access to the resource ${queue} is denied: this credential may not ${operation} on it.`);
  }
}

const ANY: readonly Operation[] = ["consume", "publish", "admin"];

/** May the caller do anything at all with the queue? (What listing and lookups require.) */
export function mayAny(ctx: SqsContext, queue: string): boolean {
  return ANY.some((operation) => isAllowed(ctx.principal, operation, queue));
}

export function authorizeAny(ctx: SqsContext, queue: string): void {
  if (!mayAny(ctx, queue)) throw new SqsError("AccessDenied", `Access to the resource ${queue} is denied: this credential has no scope on it.`);
}

/** The same per-token publish limit as POST /v1/queues/{queue}/messages. */
export async function publishRate(ctx: SqsContext): Promise<void> {
  await enforcePublishRate(ctx.http);
}

export function queueStub(ctx: SqsContext, queue: string) {
  return ctx.env.QUEUE.getByName(queue);
}

/**
 * The start of every action on one queue: its input parsed, the queue its QueueUrl names, and
 * the caller allowed `operation` on it ("any": some scope on it at all, as lookups require).
 */
export function queueRequest<T extends z.ZodType<{ QueueUrl: string }>>(ctx: SqsContext, schema: T, body: unknown, operation: Operation | "any"): { input: z.output<T>; queue: string } {
  const input = parseInput(schema, body);
  const queue = queueFromUrl(input.QueueUrl);
  if (operation === "any") authorizeAny(ctx, queue);
  else authorize(ctx, operation, queue);
  return { input, queue };
}
