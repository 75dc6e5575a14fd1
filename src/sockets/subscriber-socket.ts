/**
 * What a topic and a relay do alike with the frames and closes of their subscriber sockets:
 * subscribers send only "ping" (answered by the runtime) and `{"type":"token"}` renewals.
 */
import type { Env } from "../env";
import type { Subscriber, SubscriberStateBase } from "../topic/subscribers";
import { readClientFrame, renewGrant, sendError } from "./client-frames";

/** Handle one frame from a subscriber of `topic`. */
export async function onSubscriberFrame(env: Env, topic: string, socket: WebSocket, message: string | ArrayBuffer, subscriber: Subscriber<SubscriberStateBase>): Promise<void> {
  const frame = readClientFrame(socket, message, subscriber.state);
  if (!frame) return;
  if (frame.type === "token") {
    const grant = await renewGrant(env, socket, frame, "subscribe", topic);
    if (grant) {
      subscriber.state.expiresAt = grant.expiresAt;
      subscriber.persist();
    }
    return;
  }
  sendError(socket, "unsupported_frame", 'subscribers send only "ping" and {"type":"token"} frames');
}
