#!/usr/bin/env node
/**
 * `npm run pack`: the installable packages, as tarballs made by npm itself.
 *   dist/packages/edgepost-client-<version>.tgz   @edgepost/client (the SDK)
 *   dist/packages/edgepost-cli-<version>.tgz      @edgepost/cli (the `edgepost` command)
 * The version is the root package.json's, and CHANGELOG.md must have a section for it.
 * Prints the tarballs' paths, one per line.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildCliPackage } from "./cli.mjs";
import { buildClientPackage } from "./client.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const packagesDir = path.join(root, "dist/packages");

function fail(message) {
  process.stderr.write(`pack: ${message}\n`);
  process.exit(1);
}

const manifest = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
const { version } = manifest;
const changelog = readFileSync(path.join(root, "CHANGELOG.md"), "utf8");
if (!new RegExp(`^## ${version.replaceAll(".", "\\.")}\\b`, "m").test(changelog)) {
  fail(`CHANGELOG.md has no "## ${version}" section: describe this version before packing it`);
}

mkdirSync(packagesDir, { recursive: true });
for (const name of readdirSync(packagesDir)) {
  if (name.endsWith(".tgz")) rmSync(path.join(packagesDir, name));
}

try {
  await buildClientPackage({
    root,
    version,
    outDir: path.join(packagesDir, "client"),
    partysocketRange: manifest.dependencies.partysocket,
  });
  await buildCliPackage({ root, version, outDir: path.join(packagesDir, "cli") });
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}

for (const folder of ["client", "cli"]) {
  // npm's own packing: the same file list, manifest normalisation and tarball a publish makes.
  const output = execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", packagesDir], {
    cwd: path.join(packagesDir, folder),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [{ filename }] = JSON.parse(output);
  process.stdout.write(`${path.relative(process.cwd(), path.join(packagesDir, filename))}\n`);
}
