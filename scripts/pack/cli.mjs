/**
 * The `@edgepost/cli` package folder: the `edgepost` command. The CLI (src/cli) is bundled with
 * the SDK and partysocket into one file for Node 22+, so the package has no dependencies and
 * installs offline; bin/edgepost.mjs (the same launcher this repository uses) loads it from the
 * same relative path, dist/cli/edgepost.mjs.
 */
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";

export const CLI_NAME = "@edgepost/cli";

export async function buildCliPackage({ root, version, outDir }) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(path.join(outDir, "bin"), { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: ["src/cli/main.ts"],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node22",
    outfile: path.join(outDir, "dist/cli/edgepost.mjs"),
    metafile: true,
    logLevel: "warning",
  });
  // The CLI talks to a server; it never contains one.
  const server = Object.keys(result.metafile.inputs).filter((input) => input.startsWith("src/") && !/^src\/(cli|client)\//.test(input) && input !== "src/version.ts");
  if (server.length > 0) throw new Error(`the CLI bundle includes server files:\n  ${server.join("\n  ")}`);
  copyFileSync(path.join(root, "bin/edgepost.mjs"), path.join(outDir, "bin/edgepost.mjs"));
  writeFileSync(path.join(outDir, "package.json"), `${JSON.stringify(cliManifest(version), null, 2)}\n`);
  writeFileSync(path.join(outDir, "README.md"), cliReadme(version));
  copyFileSync(path.join(root, "CHANGELOG.md"), path.join(outDir, "CHANGELOG.md"));
}

function cliManifest(version) {
  return {
    name: CLI_NAME,
    version,
    description: "edgepost on the command line: publish, tail, pull, consume, stats, tokens",
    license: "MIT",
    type: "module",
    bin: { edgepost: "bin/edgepost.mjs" },
    files: ["bin", "dist", "README.md", "CHANGELOG.md"],
    engines: { node: ">=22" },
    keywords: ["edgepost", "pubsub", "queue", "cli"],
  };
}

function cliReadme(version) {
  return `# ${CLI_NAME} ${version}

The \`edgepost\` command for an edgepost server (durable pub/sub topics and work queues on
Cloudflare Workers). Node 22+.

\`\`\`sh
export EDGEPOST_URL=https://edgepost.example.workers.dev EDGEPOST_TOKEN=<token>
npx edgepost publish orders '{"order":42}'
npx edgepost tail orders
npx edgepost --help
\`\`\`
`;
}
