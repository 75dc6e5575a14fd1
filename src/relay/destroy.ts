/** Deleting a topic deletes its relays: their subscribers are closed (1001), their state goes. */
import type { Env } from "../env";
import { relayObjectName } from "./feed-protocol";

/** Every relay the topic may have: those registered with it and those its settings name. */
export async function destroyRelays(env: Env, topic: string, registered: readonly number[], configured: number): Promise<void> {
  const relays = new Set(registered);
  for (let relay = 0; relay < configured; relay++) relays.add(relay);
  await Promise.all([...relays].map((relay) => env.RELAY.getByName(relayObjectName(topic, relay)).destroy()));
}
