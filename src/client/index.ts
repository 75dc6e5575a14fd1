/**
 * The edgepost SDK: a typed client for browsers, Node 22+ and Workers.
 *
 * @example
 * ```ts
 * import { Edgepost, EdgepostError } from "edgepost/client";
 *
 * const client = new Edgepost({ url: "http://localhost:8787", token: "dev-root-key" });
 * await client.publish("orders", { order: 42 });
 * ```
 */
export { Edgepost, type EdgepostOptions, type EnqueueOptions, type HistoryOptions, type MessageOptions, type PublishOptions } from "./edgepost";
export { formatCursor, parseCursor, type After } from "./cursor";
export { EdgepostError, type ClientErrorCode } from "./errors";
export { Subscription, type SubscribeOptions } from "./subscription";
export { QueueConsumer, type ConsumeOptions, type ConsumedMessage } from "./consumer";
export type { RetryOptions } from "./http";
export type { ReconnectOptions } from "./socket";
export type { ErrorCode } from "../protocol/errors";
export type * from "./types";
