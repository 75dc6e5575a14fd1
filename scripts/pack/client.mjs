/**
 * The `@edgepost/client` package folder: the SDK (src/client) as one ESM module with its
 * declarations, and a package.json of its own. Built from src/client where it is, staged in
 * dist/packages/client; `npm pack` of that folder makes the tarball (scripts/pack/main.mjs).
 *
 * Guards (each a build error): the bundle's inputs are src/client files only (partysocket stays
 * an import, a dependency of the package); the declarations compile on their own (no Zod, no
 * server files: see flatten-types.mjs); no `any` in them.
 */
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import ts from "typescript";
import { findAny, flattenSources, formatDiagnostics } from "./flatten-types.mjs";

export const CLIENT_NAME = "@edgepost/client";
const ALLOWED_PACKAGES = ["partysocket"];

/** Declaration emit of the staged (flattened) sources; strict nodenext, as an ESM package. */
const DECLARATION_OPTIONS = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ["lib.es2023.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
  types: [],
  strict: true,
  noUncheckedIndexedAccess: true,
  skipLibCheck: true,
  declaration: true,
  emitDeclarationOnly: true,
  stripInternal: true,
};

export async function buildClientPackage({ root, version, outDir, partysocketRange }) {
  const srcDir = path.join(root, "src/client");
  const stageDir = path.join(outDir, "..", ".stage-client");
  rmSync(outDir, { recursive: true, force: true });
  rmSync(stageDir, { recursive: true, force: true });
  mkdirSync(path.join(outDir, "dist"), { recursive: true });

  await bundle({ root, srcDir, file: path.join(outDir, "dist/index.js") });

  // Declarations: flattened copy in the stage folder (a "type": "module" package so the
  // compiler checks it as the ESM package it becomes), then tsc's declaration emit.
  mkdirSync(stageDir, { recursive: true });
  writeFileSync(path.join(stageDir, "package.json"), `${JSON.stringify({ type: "module", private: true })}\n`);
  flattenSources({ srcDir, entry: path.join(srcDir, "index.ts"), outDir: stageDir, allowedPackages: ALLOWED_PACKAGES });
  // The staged copy is named as installed (`@edgepost/client`) in its examples.
  emitDeclarations({ stageDir, declarationDir: path.join(outDir, "dist") });
  rmSync(stageDir, { recursive: true, force: true });

  const declarations = listFiles(path.join(outDir, "dist")).filter((file) => file.endsWith(".d.ts"));
  const withAny = findAny(declarations);
  if (withAny.length > 0) throw new Error(`\`any\` in the SDK's public types:\n  ${withAny.join("\n  ")}`);

  writeFileSync(path.join(outDir, "package.json"), `${JSON.stringify(clientManifest(version, partysocketRange), null, 2)}\n`);
  writeFileSync(path.join(outDir, "README.md"), clientReadme(version));
  cpSync(path.join(root, "CHANGELOG.md"), path.join(outDir, "CHANGELOG.md"));
}

async function bundle({ root, srcDir, file }) {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [path.join(srcDir, "index.ts")],
    bundle: true,
    format: "esm",
    // Neutral: no Node or browser built-ins; the SDK needs only fetch, WebSocket and streams.
    platform: "neutral",
    target: "es2022",
    external: ALLOWED_PACKAGES.flatMap((name) => [name, `${name}/*`]),
    outfile: file,
    metafile: true,
    logLevel: "warning",
    legalComments: "inline",
  });
  const strays = Object.keys(result.metafile.inputs).filter((input) => path.relative(srcDir, path.resolve(root, input)).startsWith(".."));
  if (strays.length > 0) throw new Error(`the SDK bundle includes files outside src/client:\n  ${strays.join("\n  ")}`);
}

function emitDeclarations({ stageDir, declarationDir }) {
  const rewriteExamples = (fileName, text) => text.replaceAll('from "edgepost/client"', `from "${CLIENT_NAME}"`);
  const program = ts.createProgram([path.join(stageDir, "index.ts")], { ...DECLARATION_OPTIONS, rootDir: stageDir, outDir: declarationDir });
  const foreign = program
    .getSourceFiles()
    .map((source) => source.fileName)
    .filter((name) => !name.startsWith(stageDir) && !/\/node_modules\/(typescript|partysocket|event-target-polyfill)\//.test(name));
  if (foreign.length > 0) throw new Error(`the SDK's declarations reach outside the package:\n  ${foreign.join("\n  ")}`);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length > 0) throw new Error(`the SDK's flattened declarations do not compile:\n${formatDiagnostics(diagnostics)}`);
  const result = program.emit(undefined, (fileName, text) => {
    mkdirSync(path.dirname(fileName), { recursive: true });
    writeFileSync(fileName, rewriteExamples(fileName, text));
  });
  if (result.emitSkipped || result.diagnostics.length > 0) throw new Error(`declaration emit failed:\n${formatDiagnostics(result.diagnostics)}`);
}

function clientManifest(version, partysocketRange) {
  // One ESM build serves every runtime (it uses only fetch, WebSocket, streams and
  // partysocket); the conditions name each runtime so that bundlers and runtimes that look
  // for theirs (workerd, browser, node) find it without falling back.
  const entry = { types: "./dist/index.d.ts", workerd: "./dist/index.js", worker: "./dist/index.js", browser: "./dist/index.js", node: "./dist/index.js", default: "./dist/index.js" };
  return {
    name: CLIENT_NAME,
    version,
    description: "The edgepost SDK: publish, subscribe and consume edgepost topics and queues from browsers, Node 22+ and Workers",
    license: "MIT",
    type: "module",
    sideEffects: false,
    exports: { ".": entry, "./package.json": "./package.json" },
    main: "./dist/index.js",
    types: "./dist/index.d.ts",
    files: ["dist", "README.md", "CHANGELOG.md"],
    engines: { node: ">=22" },
    dependencies: { partysocket: partysocketRange },
    keywords: ["edgepost", "pubsub", "queue", "websocket", "cloudflare-workers", "durable-objects"],
  };
}

function clientReadme(version) {
  return `# ${CLIENT_NAME} ${version}

The edgepost SDK: a typed client for an edgepost server (durable pub/sub topics and work queues
on Cloudflare Workers). ESM, with types; runs in browsers, Node 22+ and Workers.

\`\`\`ts
import { Edgepost } from "${CLIENT_NAME}";

const client = new Edgepost({ url: "https://edgepost.example.workers.dev", token: "<token>" });
await client.publish("orders", { order: 42 });
for await (const message of client.subscribe("orders")) console.log(message.seq, message.data);
\`\`\`

The API reference is in the types (\`dist/index.d.ts\`) and in the edgepost README.
`;
}

function listFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}
