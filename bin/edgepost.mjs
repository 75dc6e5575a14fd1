#!/usr/bin/env node
// The `edgepost` command. The TypeScript in src/cli is bundled to dist/cli/edgepost.mjs by
// `npm run build:cli`, which npm runs by itself on `npm install` / `npm ci` (the `prepare`
// script), so a fresh clone needs no extra step.
import { existsSync } from "node:fs";

// Sockets and streams need Node 22+ (the global WebSocket). `npx edgepost` in this repo runs
// the Node from node_modules/.bin (the `node` devDependency).
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  process.stderr.write(`edgepost: needs Node.js 22 or newer; this is ${process.version}\n`);
  process.exit(1);
}

const bundle = new URL("../dist/cli/edgepost.mjs", import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write("edgepost: the CLI is not built yet: run `npm run build:cli` (npm install does it too)\n");
  process.exit(1);
}

// `edgepost tail x | head -3`: a closed stdout ends the command quietly.
process.stdout.on("error", (error) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

const { main } = await import(bundle.href);
const code = await main(process.argv.slice(2));
// Flush stdout before exiting: sockets and timers of the client must not keep the process alive.
process.stdout.write("", () => process.exit(code));
