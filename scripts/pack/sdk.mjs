#!/usr/bin/env node
/**
 * The SDK as one ES module for pages without a bundler, served by the worker's static assets:
 *   public/sdk/edgepost-<version>.js   (+ .map)  immutable, cached for a year (public/_headers)
 *   public/sdk/edgepost.js                        the same bytes; revalidated on every use (ETag)
 * The console imports /sdk/edgepost.js. Older versioned files are removed: a deployment
 * serves its own version. `npm run build:console` runs this.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
const outDir = path.join(root, "public/sdk");
const versioned = `edgepost-${version}.js`;

mkdirSync(outDir, { recursive: true });
for (const name of readdirSync(outDir)) {
  if (/^edgepost.*\.js(\.map)?$/.test(name) && !name.startsWith(versioned)) rmSync(path.join(outDir, name));
}
await build({
  absWorkingDir: root,
  entryPoints: ["src/client/index.ts"],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  sourcemap: true,
  outfile: path.join(outDir, versioned),
  logLevel: "warning",
});
// Same bytes: its `sourceMappingURL=edgepost-<version>.js.map` resolves beside it as well.
copyFileSync(path.join(outDir, versioned), path.join(outDir, "edgepost.js"));
