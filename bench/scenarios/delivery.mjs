/**
 * (b) Publish-to-WebSocket delivery latency at a fixed rate: one subscriber, open-loop HTTP
 * publishes at each of DELIVERY_RATES msg/s, each stamped with its intended send time; latency is
 * receipt minus intended send time (HDR histogram): p50, p99, p99.9. The same for the
 * broadcast baselines (with and without an insert) and the partyserver room.
 */
import { runRounds } from "../lib/cases.mjs";
import { fixedRatePhase, warmup } from "../lib/phases.mjs";
import { SubscriberSet } from "../lib/subscribers.mjs";
import { fanoutSystems } from "../lib/systems.mjs";

/** The rate, and a rate every system here sustains (500 msg/s can exceed what one
 * object commits per second on a slow disk: then latency is queueing, see `overloaded`). */
export const DELIVERY_RATES = [500, 50];

const FIELDS = {
  p50: (run) => run.latency.p50,
  p99: (run) => run.latency.p99,
  p999: (run) => run.latency.p999,
  max: (run) => run.latency.max,
  ackP99: (run) => run.ack.p99,
  achievedRate: (run) => run.achievedRate,
  clientCpu: (run) => run.cpu.clientCpu,
  serverCpu: (run) => run.cpu.serverCpu,
};

export async function runDelivery(ctx) {
  ctx.log(`(b) publish-to-WebSocket delivery latency at ${DELIVERY_RATES.join(" and ")} msg/s, one subscriber`);
  const opened = [];
  try {
    const specs = [];
    for (const system of fanoutSystems(ctx)) {
      const name = `${ctx.runId}-b-${system.key}`;
      const subscribers = await new SubscriberSet(system.subscribeUrl(name), 1).open();
      opened.push(subscribers);
      await warmup(ctx, system, name, subscribers);
      for (const rate of DELIVERY_RATES) {
        specs.push({
          scenario: "b",
          system: system.key,
          label: system.label,
          params: { rate, subscribers: 1 },
          fields: FIELDS,
          once: () => fixedRatePhase(ctx, system, name, subscribers, rate),
        });
      }
    }
    return await runRounds(ctx, specs);
  } finally {
    for (const subscribers of opened) await subscribers.close();
  }
}
