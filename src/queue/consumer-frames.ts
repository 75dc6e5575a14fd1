/**
 * What a consumer socket's ack and nack frames do: `{"type":"ack","leaseId"}` answered by
 * `{"type":"result","op","leaseId","ok","status"}` as always, and `{"type":"ack","leaseIds":[...]}`
 * (nack likewise) answered by one `{"type":"results","op","results":[{"leaseId","ok","status"}]}`
 * in the order sent. Either joins the queue's group commit (writes.ts): one commit for many
 * frames and many lease ids, and the answer leaves once it is durable.
 */
import { refundFrame } from "../sockets/client-frames";
import { sendFrame } from "../sockets/send";
import type { ConsumerFrame, LeaseResult } from "../protocol/schemas";
import type { QueueStore } from "./store";
import type { QueueWrites } from "./writes";

type SettleFrame = Exclude<ConsumerFrame, { type: "extend" }>;
type ExtendFrame = Extract<ConsumerFrame, { type: "extend" }>;

/** `{"type":"extend","leaseId","visibilityTimeoutSeconds"}`, answered by one result frame; returns when it ran. */
export function extendOverSocket(socket: WebSocket, frame: ExtendFrame, store: QueueStore): number {
  const now = Date.now();
  const result = store.extend(frame.leaseId, now, frame.visibilityTimeoutSeconds * 1000);
  if (result.ok) refundFrame(socket);
  sendFrame(socket, JSON.stringify({ type: "result", op: frame.type, ...result }));
  return now;
}

export async function settleOverSocket(socket: WebSocket, frame: SettleFrame, writes: QueueWrites, store: QueueStore): Promise<void> {
  const leaseIds = "leaseIds" in frame ? frame.leaseIds : [frame.leaseId];
  // Refunded now, not after the commit, or a fast acker's next frames would count: a frame
  // that settles a live lease does work (socket rate limit, client-frames.ts).
  const now = Date.now();
  if (leaseIds.some((leaseId) => store.isLive(leaseId, now))) refundFrame(socket);
  let results: LeaseResult[];
  if (frame.type === "ack") results = await writes.ack(leaseIds);
  else results = await writes.nack(leaseIds, frame.delaySeconds === undefined ? null : frame.delaySeconds * 1000);
  // The socket may have closed while the group committed: its leases were given back then.
  if ("leaseIds" in frame) sendFrame(socket, JSON.stringify({ type: "results", op: frame.type, results }));
  else sendFrame(socket, JSON.stringify({ type: "result", op: frame.type, ...results[0] }));
}
