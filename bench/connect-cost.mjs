#!/usr/bin/env node
/**
 * Server CPU per WebSocket connect, edgepost against the partyserver room and the bare accept,
 * each served on its own pinned server: n subscribers connect (200 in flight), and the
 * server's process-group CPU over the connects is divided by n. Alternates systems in rounds.
 * Quicker than the storm scenario for trying a change to the connect path (issue 11).
 *
 *   node bench/connect-cost.mjs [--subscribers 2000] [--rounds 3] [--relays 4]
 *                               [--systems edgepost,partyserver,partyserver_same_assets,accept]
 *
 * `--relays k` adds edgepost over k relays (key edgepost_relays<k>).
 *
 * Needs `npm run build` first (or runs it).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { HttpClient } from "./lib/http.mjs";
import { buildEdgepost, bundleBaselines, pinSelf, ROOT_KEY, startBaselines, startEdgepost, withEdgepostAssets } from "./lib/servers.mjs";
import { cpuWindow, spread } from "./lib/stats.mjs";
import { StormClients } from "./lib/storm-clients.mjs";
import { stormSystems } from "./lib/storm-systems.mjs";

const { values } = parseArgs({
  options: {
    subscribers: { type: "string", default: "2000" },
    rounds: { type: "string", default: "3" },
    systems: { type: "string", default: "edgepost,partyserver,partyserver_same_assets,accept" },
    "no-build": { type: "boolean", default: false },
    relays: { type: "string" },
  },
});
const count = Number(values.subscribers);
pinSelf();
if (!values["no-build"]) buildEdgepost();
const workDir = mkdtempSync(path.join(os.tmpdir(), "edgepost-connect-cost-"));
const bundle = bundleBaselines(workDir);
const [edgepost, baselines, baselinesAssets] = await Promise.all([startEdgepost(), startBaselines(bundle), startBaselines(withEdgepostAssets(bundle), "baselines-assets")]);
const ctx = {
  edgepost: { url: edgepost.url, pgid: edgepost.pgid, http: new HttpClient(edgepost.url, { headers: { authorization: `Bearer ${ROOT_KEY}` } }) },
  baselines: { url: baselines.url, pgid: baselines.pgid, http: new HttpClient(baselines.url) },
  baselinesAssets: { url: baselinesAssets.url, pgid: baselinesAssets.pgid, http: new HttpClient(baselinesAssets.url) },
  storm: { relays: values.relays ? [Number(values.relays)] : [] },
};
const wanted = [...values.systems.split(","), ...(values.relays ? [`edgepost_relays${values.relays}`] : [])];
const systems = stormSystems(ctx).filter((system) => wanted.includes(system.key));
const results = Object.fromEntries(systems.map((system) => [system.key, { cpuMs: [], rate: [] }]));
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const system of systems) {
      const name = `cc-${Date.now().toString(36)}-${system.key}`;
      await system.setup?.(name);
      const clients = new StormClients(count, (index, after) => system.subscribeUrl(name, after), { resumable: system.resumable });
      const cpu = cpuWindow(system.pgid);
      const connected = await clients.connectAll({ window: 200 });
      const use = cpu();
      await clients.close();
      const cpuMs = (use.serverCpuSeconds * 1000) / count;
      results[system.key].cpuMs.push(cpuMs);
      results[system.key].rate.push(connected.connectsPerSec);
      console.log(`round ${round + 1} ${system.key}: ${Math.round(connected.connectsPerSec)} connects/s, ${cpuMs.toFixed(3)} ms server CPU per connect, server ${use.serverCpu} of a core (core busy ${use.coresBusy[1]}), ${connected.failures.length} failed`);
    }
  }
  for (const [key, result] of Object.entries(results)) console.log(`${key}: cpu ms/connect ${JSON.stringify(spread(result.cpuMs))}, connects/s ${JSON.stringify(spread(result.rate))}`);
} finally {
  ctx.edgepost.http.close();
  ctx.baselines.http.close();
  ctx.baselinesAssets.http.close();
  await Promise.all([edgepost.stop(), baselines.stop(), baselinesAssets.stop()]);
  rmSync(workDir, { recursive: true, force: true });
}
