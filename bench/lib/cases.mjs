/**
 * Cases and rounds. A case is one measurement (a system under one load); it is repeated
 * `ctx.repeats` times, and the repeats run in rounds: round 1 of every case of a scenario,
 * then round 2, ... so that a case and its baseline are measured close together in time and
 * a burst of load from something else on the machine hits both rather than one. Each run
 * returns its numbers and its correctness problems; a case with any problem is invalid (not
 * slow), and a run whose load generator sat above the CPU limit is flagged client-bound.
 */
import { CLIENT_CORE, SERVER_CORE } from "./servers.mjs";
import { spread } from "./stats.mjs";

/** `specs`: [{ scenario, system, label, params, fields, once(repeat) }] */
export async function runRounds(ctx, specs) {
  const runs = specs.map(() => []);
  for (let repeat = 0; repeat < ctx.repeats; repeat++) {
    for (const [index, spec] of specs.entries()) {
      let run;
      try {
        run = await spec.once(repeat);
      } catch (error) {
        run = { problems: [`run failed: ${error?.stack ?? error}`] };
      }
      runs[index].push(run);
      ctx.log(describe(spec, run, repeat, ctx.repeats));
    }
  }
  return specs.map((spec, index) => aggregate(spec, runs[index]));
}

function pick(run, field, fn) {
  try {
    return fn(run);
  } catch {
    return null;
  }
}

function aggregate(spec, runs) {
  const summary = {};
  for (const [field, fn] of Object.entries(spec.fields)) summary[field] = spread(runs.map((run) => pick(run, field, fn)));
  // How busy the two cores were in all, neighbours included (see cpuWindow).
  summary.serverCoreBusy = spread(runs.map((run) => run.cpu?.coresBusy?.[SERVER_CORE] ?? null));
  summary.clientCoreBusy = spread(runs.map((run) => run.cpu?.coresBusy?.[CLIENT_CORE] ?? null));
  const problems = runs.flatMap((run, index) => (run.problems ?? []).map((problem) => `run ${index + 1}: ${problem}`));
  return {
    scenario: spec.scenario,
    system: spec.system,
    label: spec.label,
    params: spec.params,
    summary,
    // One value per repeat, in round order, for ratios paired by round.
    perRepeat: Object.fromEntries(Object.entries(spec.fields).map(([field, fn]) => [field, runs.map((run) => pick(run, field, fn))])),
    valid: problems.length === 0,
    problems,
    clientBound: runs.some((run) => run.cpu?.clientBound),
    overloaded: runs.some((run) => run.overloaded),
    runs,
  };
}

function describe(spec, run, repeat, repeats) {
  const parts = Object.entries(spec.fields)
    .slice(0, 3)
    .map(([field, fn]) => {
      const value = pick(run, field, fn);
      return `${field} ${typeof value === "number" ? Number(value.toFixed(2)) : "-"}`;
    });
  const flags = [(run.problems ?? []).length ? `INVALID (${run.problems[0]})` : "", run.cpu?.clientBound ? "client-bound" : ""].filter(Boolean).join(" ");
  return `  [${repeat + 1}/${repeats}] ${spec.scenario} ${spec.label} ${JSON.stringify(spec.params)}: ${parts.join(", ")} ${flags}`.trimEnd();
}
