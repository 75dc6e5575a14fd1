/**
 * What a topic's partition object and a relay say to each other (relay/feed.ts on the topic
 * side, relay/relay-object.ts on the relay side). Rows are the partition's log rows; seqs are
 * contiguous, so a relay can tell a gap from a repeat by seq alone.
 */
import type { MessageRow } from "../protocol/frames";

/** The partition object's answer to a relay that attaches. */
export interface RelayAttachment {
  /** The partition's last seq: the relay is fed what comes after it. */
  lastSeq: number;
  /** This registration; a release from an older one is ignored. */
  generation: number;
  /** The topic's partition count (partition 0 knows it; others answer what they were told). */
  partitions: number;
}

export interface RelayFeedInput {
  partition: number;
  generation: number;
  /** The partition's last seq: a relay behind it (rows empty or after a gap) reads the rest from history. */
  lastSeq: number;
  /** Rows the relay is not known to have, in seq order; may be empty. */
  rows: MessageRow[];
  /** Partition 0 only: the topic's partition count, so relays attach to new partitions. */
  partitions?: number;
}

/** Subscribers a relay holds, by transport (partition 0 adds them to the topic's stats). */
export interface SubscriberCounts {
  webSocket: number;
  sse: number;
}

export interface RelayFeedReply {
  /** The highest seq the relay now holds for this partition. */
  lastSeq: number;
  subscribers: SubscriberCounts;
  /** The relay holds no subscribers: stop feeding it (if `generation` is still current). */
  release: boolean;
}

/** A relay object's name: `<topic>#<relay>` in the RELAY namespace. */
export function relayObjectName(topic: string, relay: number): string {
  return `${topic}#${relay}`;
}

/** The topic and relay number of a relay object's name. */
export function parseRelayObjectName(objectName: string): { topic: string; relay: number } {
  const at = objectName.lastIndexOf("#");
  return { topic: objectName.slice(0, at), relay: Number(objectName.slice(at + 1)) };
}
