/**
 * The table and the ratios. Every ratio divides medians measured in the same run on the same
 * machine, so the noise of a shared 2-core box mostly cancels; absolute numbers do not travel.
 */
import { spread } from "./stats.mjs";

function find(results, scenario, system, params = {}) {
  return results.find(
    (result) => result.scenario === scenario && result.system === system && Object.entries(params).every(([key, value]) => result.params[key] === value),
  );
}

const median = (result, field) => result?.summary?.[field]?.median ?? null;

/**
 * Ratio of two cases, paired by round: median (min-max) of a[r] / b[r] over the repeats, so
 * each quotient compares numbers measured minutes apart at most, under the same neighbours.
 */
const divide = (x, y) => (y === 0 ? null : x / y);
const minus = (x, y) => x - y;

function paired(a, b, field, op = divide) {
  const as = a?.perRepeat?.[field] ?? [];
  const bs = b?.perRepeat?.[field] ?? [];
  return spread(as.map((x, index) => (typeof x === "number" && typeof bs[index] === "number" ? op(x, bs[index]) : null)));
}

/** Ratios (top-level numbers, paired medians), their spreads, and each target's verdict. */
export function computeRatios(results) {
  const single = (system, concurrency) => find(results, "a", system, { concurrency, batch: undefined });
  const batch = (system, size) => find(results, "a", system, { batch: size });
  const fanout = (system, subscribers) => find(results, "c", system, { subscribers, phase: "saturation" });
  const delivery = (system, rate = 500) => find(results, "b", system, { rate });
  const redelivery = find(results, "e", "edgepost");
  const alarm = find(results, "e", "alarm");

  const spreads = {
    publish_vs_insert_baseline: paired(single("edgepost", 16), single("insert_do", 16), "msgsPerSec"),
    batch100_vs_batch_baseline: paired(batch("edgepost", 100), batch("insert_batch_do", 100), "msgsPerSec"),
    fanout1000_vs_broadcast_insert_baseline: paired(fanout("edgepost", 1000), fanout("broadcast_insert", 1000), "deliveriesPerSec"),
    fanout_vs_partyserver: paired(fanout("edgepost", 1000), fanout("partyserver", 1000), "deliveriesPerSec"),
    delivery_p99_minus_broadcast_ms: paired(delivery("edgepost"), delivery("broadcast"), "p99", minus),
    delivery_p99_minus_broadcast_insert_ms: paired(delivery("edgepost"), delivery("broadcast_insert"), "p99", minus),
    delivery_p99_minus_broadcast_ms_at_50: paired(delivery("edgepost", 50), delivery("broadcast", 50), "p99", minus),
    delivery_p99_minus_broadcast_insert_ms_at_50: paired(delivery("edgepost", 50), delivery("broadcast_insert", 50), "p99", minus),
    redelivery_p99_after_lease_expiry_ms: redelivery?.summary?.rawP99 ?? null,
    redelivery_lag_p99_beyond_backoff_ms: redelivery?.summary?.lagP99 ?? null,
    alarm_baseline_lag_p99_ms: alarm?.summary?.lagP99 ?? null,
    batch10_vs_batch_baseline: paired(batch("edgepost", 10), batch("insert_batch_do", 10), "msgsPerSec"),
  };
  for (const concurrency of [1, 16, 64]) {
    spreads[`publish_c${concurrency}_vs_insert_baseline`] = paired(single("edgepost", concurrency), single("insert_do", concurrency), "msgsPerSec");
    spreads[`insert_baseline_c${concurrency}_vs_bare_worker`] = paired(single("insert_do", concurrency), single("bare", concurrency), "msgsPerSec");
    spreads[`noop_do_c${concurrency}_vs_bare_worker`] = paired(single("noop_do", concurrency), single("bare", concurrency), "msgsPerSec");
  }
  for (const subscribers of [1, 100, 1000]) {
    for (const peer of ["broadcast_insert", "broadcast", "partyserver"]) {
      spreads[`fanout${subscribers}_vs_${peer}`] = paired(fanout("edgepost", subscribers), fanout(peer, subscribers), "deliveriesPerSec");
    }
  }
  spreads.npm_start_vs_bench_server = paired(find(results, "s", "npm_start", { concurrency: 16 }), find(results, "s", "edgepost", { concurrency: 16 }), "msgsPerSec");
  const bare16 = single("bare", 16);
  const requests = (result) => result && { perRepeat: { msgsPerSec: result.perRepeat.requestsPerSec } };
  spreads.edgepost_401_vs_bare_worker = paired(requests(find(results, "a", "edgepost_401")), bare16, "msgsPerSec");
  spreads.edgepost_400_vs_bare_worker = paired(requests(find(results, "a", "edgepost_400")), bare16, "msgsPerSec");
  // Like for like: the bare worker behind the same static-assets router as edgepost.
  const bareAssets = single("bare_assets", 16);
  spreads.edgepost_401_vs_bare_worker_same_assets = paired(requests(find(results, "a", "edgepost_401")), bareAssets, "msgsPerSec");
  spreads.bare_worker_same_assets_vs_bare_worker = paired(bareAssets, bare16, "msgsPerSec");
  // CPU per request, bare / edgepost (higher is better, as for req/s).
  spreads.edgepost_401_vs_bare_worker_cpu = paired(bare16, find(results, "a", "edgepost_401"), "serverCpuMsPerMsg");
  spreads.edgepost_401_vs_bare_worker_same_assets_cpu = paired(bareAssets, find(results, "a", "edgepost_401"), "serverCpuMsPerMsg");

  // batch=1 subscribers (DESIGN.md "Batched frames") and the queue with 4 consumers.
  spreads.fanout1000_batched_vs_broadcast_insert_baseline = paired(fanout("edgepost_batched", 1000), fanout("broadcast_insert", 1000), "deliveriesPerSec");
  spreads.fanout1000_batched_vs_plain = paired(fanout("edgepost_batched", 1000), fanout("edgepost", 1000), "deliveriesPerSec");
  const acked = (consumers) => {
    const result = find(results, "d", "edgepost", { consumers });
    return result && { perRepeat: { msgsPerSec: result.perRepeat.ackedPerSec } };
  };
  spreads.queue4_acked_vs_insert_baseline = paired(acked(4), single("insert_do", 16), "msgsPerSec");
  spreads.queue1_acked_vs_insert_baseline = paired(acked(1), single("insert_do", 16), "msgsPerSec");
  // The moonshot (issue 10): absolute figures, not ratios.
  const batched1000 = fanout("edgepost_batched", 1000);
  spreads.moonshot_batched1000_deliveries_per_sec = batched1000?.summary?.deliveriesPerSec ?? null;
  spreads.moonshot_batched1000_delivery_p99_ms = batched1000?.summary?.p99 ?? null;
  spreads.moonshot_batched1000_messages_per_frame = batched1000?.summary?.messagesPerFrame ?? null;
  spreads.edgepost_http_vs_topic_rpc_probe = paired(single("edgepost", 16), single("probe_topic_rpc", 16), "msgsPerSec");
  spreads.topic_rpc_probe_vs_insert_baseline = paired(single("probe_topic_rpc", 16), single("insert_do", 16), "msgsPerSec");
  spreads.append_only_probe_vs_insert_baseline = paired(single("probe_append_only", 16), single("insert_do", 16), "msgsPerSec");
  spreads.edgepost_batch100_vs_topic_rpc_probe = paired(batch("edgepost", 100), batch("probe_topic_rpc", 100), "msgsPerSec");
  spreads.topic_rpc_probe_batch100_vs_batch_baseline = paired(batch("probe_topic_rpc", 100), batch("insert_batch_do", 100), "msgsPerSec");

  // CPU cost ratios (server CPU per message or delivery, edgepost / baseline): the same
  // comparison in a unit that neighbours taking the core barely move.
  spreads.cpu_per_msg_publish_vs_insert_baseline = paired(single("edgepost", 16), single("insert_do", 16), "serverCpuMsPerMsg");
  spreads.cpu_per_msg_batch100_vs_batch_baseline = paired(batch("edgepost", 100), batch("insert_batch_do", 100), "serverCpuMsPerMsg");
  spreads.cpu_per_msg_topic_rpc_probe_vs_insert_baseline = paired(single("probe_topic_rpc", 16), single("insert_do", 16), "serverCpuMsPerMsg");
  spreads.cpu_per_msg_topic_rpc_probe_batch100_vs_batch_baseline = paired(batch("probe_topic_rpc", 100), batch("insert_batch_do", 100), "serverCpuMsPerMsg");
  spreads.cpu_per_delivery_fanout1000_vs_broadcast_insert_baseline = paired(fanout("edgepost", 1000), fanout("broadcast_insert", 1000), "serverCpuUsPerDelivery");
  spreads.cpu_per_delivery_fanout1000_vs_partyserver = paired(fanout("edgepost", 1000), fanout("partyserver", 1000), "serverCpuUsPerDelivery");
  spreads.validate_batch100_vs_parse_cpu = paired(find(results, "a", "probe_validate_batch"), find(results, "a", "probe_parse_batch"), "serverCpuMsPerMsg");

  // Reconnect storm (issue 11), against the partyserver room and the bare accept, same round.
  const storm = (system) => results.find((result) => result.scenario === "r" && result.system === system);
  for (const system of results.filter((result) => result.scenario === "r" && result.system.startsWith("edgepost")).map((result) => result.system)) {
    const suffix = system === "edgepost" ? "" : `_${system.slice("edgepost_".length)}`;
    spreads[`storm_connects${suffix}_vs_partyserver`] = paired(storm(system), storm("partyserver"), "connectsPerSec");
    spreads[`storm_connects${suffix}_vs_partyserver_same_assets`] = paired(storm(system), storm("partyserver_same_assets"), "connectsPerSec");
    spreads[`storm_cpu_per_connect${suffix}_vs_partyserver_same_assets`] = paired(storm("partyserver_same_assets"), storm(system), "serverCpuMsPerConnect");
    spreads[`storm_connects${suffix}_vs_accept_baseline`] = paired(storm(system), storm("accept"), "connectsPerSec");
    spreads[`storm_live_again${suffix}_vs_partyserver`] = paired(storm("partyserver"), storm(system), "liveAgainMs");
    // CPU per connect, room / edgepost (higher is better, as for connects/s).
    spreads[`storm_cpu_per_connect${suffix}_vs_partyserver`] = paired(storm("partyserver"), storm(system), "serverCpuMsPerConnect");
    spreads[`storm_fanout${suffix}_vs_partyserver`] = paired(storm(system), storm("partyserver"), "fanoutDeliveriesPerSec");
    spreads[`storm_rss_per_subscriber${suffix}_vs_partyserver`] = paired(storm(system), storm("partyserver"), "rssKbPerSubscriber");
  }

  const ratios = Object.fromEntries(Object.entries(spreads).map(([key, value]) => [key, value?.median ?? null]));
  const check = (key, target, test) => ({ target, value: ratios[key], spread: spreads[key], met: ratios[key] === null ? null : test(ratios[key]) });
  const delivery500 = delivery("edgepost");
  // The targets (issue 10), plus the two of the first issue it leaves as they were.
  const targets = {
    publish_c16_vs_insert_baseline: check("publish_c16_vs_insert_baseline", ">= 0.8", (value) => value >= 0.8),
    publish_c64_vs_insert_baseline: check("publish_c64_vs_insert_baseline", ">= 1.0", (value) => value >= 1),
    batch100_vs_batch_baseline: check("batch100_vs_batch_baseline", ">= 0.7", (value) => value >= 0.7),
    fanout1000_vs_broadcast_insert_baseline: check("fanout1000_vs_broadcast_insert_baseline", ">= 0.9", (value) => value >= 0.9),
    fanout1000_batched_vs_broadcast_insert_baseline: check("fanout1000_batched_vs_broadcast_insert_baseline", ">= 2.0", (value) => value >= 2),
    queue4_acked_vs_insert_baseline: check("queue4_acked_vs_insert_baseline", ">= 0.8", (value) => value >= 0.8),
    delivery_p99_minus_broadcast_insert_ms: check("delivery_p99_minus_broadcast_insert_ms", "<= 10 ms at 500 msg/s, not overloaded", (value) => value <= 10 && delivery500?.overloaded === false),
    edgepost_401_vs_bare_worker: check("edgepost_401_vs_bare_worker", ">= 0.7", (value) => value >= 0.7),
    edgepost_401_vs_bare_worker_same_assets: check("edgepost_401_vs_bare_worker_same_assets", ">= 0.7 (like for like)", (value) => value >= 0.7),
    npm_start_vs_bench_server: check("npm_start_vs_bench_server", ">= 0.8", (value) => value >= 0.8),
    fanout_vs_partyserver: check("fanout_vs_partyserver", ">= 1.0", (value) => value >= 1),
    redelivery_p99_after_lease_expiry_ms: check("redelivery_p99_after_lease_expiry_ms", "<= 250 ms", (value) => value <= 250),
    storm_connects_vs_partyserver: check("storm_connects_vs_partyserver", ">= 0.8 (issue 11)", (value) => value >= 0.8),
    storm_connects_vs_partyserver_same_assets: check("storm_connects_vs_partyserver_same_assets", ">= 0.8 (like for like)", (value) => value >= 0.8),
    moonshot_batched1000_deliveries_per_sec: check("moonshot_batched1000_deliveries_per_sec", ">= 250000/s (moonshot)", (value) => value >= 250_000),
    moonshot_batched1000_delivery_p99_ms: check("moonshot_batched1000_delivery_p99_ms", "< 50 ms at that load (moonshot)", (value) => value < 50),
  };
  return { ratios, ratioSpreads: spreads, targets };
}

const fmt = (spreadValue, digits = 1) => {
  if (!spreadValue) return "-";
  const show = (value) => (Math.abs(value) >= 100 ? Math.round(value).toString() : value.toFixed(digits));
  return spreadValue.n > 1 && spreadValue.min !== spreadValue.max ? `${show(spreadValue.median)} (${show(spreadValue.min)}-${show(spreadValue.max)})` : show(spreadValue.median);
};

function table(log, title, header, rows) {
  if (rows.length === 0) return;
  const widths = header.map((cell, index) => Math.max(cell.length, ...rows.map((row) => String(row[index]).length)));
  const line = (cells) => cells.map((cell, index) => (index === 0 ? String(cell).padEnd(widths[index]) : String(cell).padStart(widths[index]))).join("  ");
  log(`\n${title}`);
  log(line(header));
  log(widths.map((width) => "-".repeat(width)).join("  "));
  for (const row of rows) log(line(row));
}

const flags = (result) =>
  [result.valid ? "" : "INVALID", result.clientBound ? "client-bound" : "", result.overloaded ? "overloaded" : ""].filter(Boolean).join(" ") || "ok";

export function printTable(report, log) {
  const { results } = report;
  const of = (scenario) => results.filter((result) => result.scenario === scenario);
  const cpu = (result) => [fmt(result.summary.clientCpu, 2), fmt(result.summary.serverCpu, 2), fmt(result.summary.serverCoreBusy, 2)];
  log(`\nmedian (min-max) over ${report.repeats} repeat(s); payload ${report.payloadBytes} B of data; latencies in ms; CPU in cores;`);
  log("srv core busy: the server core's total load, neighbours included; overloaded: delivered below 0.9 x the offered rate");
  const publishTable = (title, scenario) => table(log, title, ["system", "conc", "batch", "msgs/s", "req/s", "ack p50", "ack p99", "srv cpu ms/req", "client cpu", "server cpu", "srv core busy", "flags"],
    of(scenario).map((r) => [r.label, r.params.concurrency, r.params.batch ?? 1, fmt(r.summary.msgsPerSec, 0), fmt(r.summary.requestsPerSec, 0), fmt(r.summary.ackP50, 2), fmt(r.summary.ackP99, 2), fmt(r.summary.serverCpuMsPerMsg && { ...r.summary.serverCpuMsPerMsg, median: r.summary.serverCpuMsPerMsg.median * (r.params.batch ?? 1), min: r.summary.serverCpuMsPerMsg.min * (r.params.batch ?? 1), max: r.summary.serverCpuMsPerMsg.max * (r.params.batch ?? 1) }, 2), ...cpu(r), flags(r)]));
  publishTable("(a) HTTP publish, closed loop", "a");
  if (of("s").length) publishTable("(s) npm start vs the bench's server", "s");
  table(log, "(b) publish-to-WebSocket delivery, open loop, 1 subscriber", ["system", "msg/s", "delivered/s", "p50", "p99", "p99.9", "max", "ack p99", "client cpu", "server cpu", "srv core busy", "flags"],
    of("b").map((r) => [r.label, r.params.rate, fmt(r.summary.achievedRate, 0), fmt(r.summary.p50, 2), fmt(r.summary.p99, 2), fmt(r.summary.p999, 2), fmt(r.summary.max, 2), fmt(r.summary.ackP99, 2), ...cpu(r), flags(r)]));
  table(log, "(c) fan-out", ["system", "subs", "phase", "deliveries/s", "msgs/s", "msgs/frame", "srv cpu us/deliv", "p50", "p99", "client cpu", "server cpu", "srv core busy", "flags"],
    of("c").map((r) => [r.label, r.params.subscribers, r.params.phase === "fixed" ? `${r.params.rate} msg/s` : `saturation w${r.params.window}`, fmt(r.summary.deliveriesPerSec, 0), fmt(r.summary.messagesPerSec, 0), fmt(r.summary.messagesPerFrame, 1), fmt(r.summary.serverCpuUsPerDelivery, 1), fmt(r.summary.p50, 2), fmt(r.summary.p99, 2), ...cpu(r), flags(r)]));
  table(log, "(d) queue: enqueue, consume, ack", ["system", "consumers", "acked/s", "p50", "p99", "enqueue p99", "client cpu", "server cpu", "srv core busy", "flags"],
    of("d").map((r) => [r.label, r.params.consumers, fmt(r.summary.ackedPerSec, 0), fmt(r.summary.p50, 2), fmt(r.summary.p99, 2), fmt(r.summary.enqueueAckP99, 2), ...cpu(r), flags(r)]));
  table(log, "(e) redelivery after lease expiry", ["system", "lag p50", "lag p99", "raw p99", "max", "flags"],
    of("e").map((r) => [r.label, fmt(r.summary.lagP50, 1), fmt(r.summary.lagP99, 1), fmt(r.summary.rawP99, 1), fmt(r.summary.max, 1), flags(r)]));
  if (of("r").length) {
    table(log, "(r) reconnect storm", ["system", "subs", "connects/s", "cold conn/s", "live again ms", "conn p50", "conn p99", "srv cpu ms/conn", "fan-out deliv/s", "rss KB/sub", "client cpu", "server cpu", "srv core busy", "flags"],
      of("r").map((r) => [r.label, r.params.subscribers, fmt(r.summary.connectsPerSec, 0), fmt(r.summary.coldConnectsPerSec, 0), fmt(r.summary.liveAgainMs, 0), fmt(r.summary.connectP50, 1), fmt(r.summary.connectP99, 1), fmt(r.summary.serverCpuMsPerConnect, 2), fmt(r.summary.fanoutDeliveriesPerSec, 0), fmt(r.summary.rssKbPerSubscriber, 0), ...cpu(r), flags(r)]));
  }
  const { targets } = report;
  table(log, "targets (ratios of medians from this run)", ["ratio", "value", "target", "met"],
    Object.entries(targets).filter(([, target]) => target.value !== null).map(([key, target]) => [key, fmt(report.ratioSpreads[key], 2), target.target, target.met === null ? "-" : target.met ? "yes" : "NO"]));
  for (const result of results.filter((r) => !r.valid)) log(`INVALID ${result.scenario} ${result.label} ${JSON.stringify(result.params)}: ${result.problems.slice(0, 5).join(" | ")}`);
}
