/**
 * scripts/pack's guard and flattening on small fixtures (test/e2e/fixtures/pack): a client
 * that imports server code at run time is refused; one that uses server types (Zod inference,
 * an interface, a re-exported alias) becomes sources that compile with neither Zod nor the
 * server in reach, and whose declarations have no `any`. The real SDK goes through the same
 * code in `npm run pack` (test/e2e/packages.test.ts checks the result).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import ts from "typescript";
import { afterEach, describe, expect, it } from "vitest";
import { FlattenError, findAny, flattenSources, formatDiagnostics } from "../../scripts/pack/flatten-types.mjs";
import { repoRoot } from "./packages";

const fixtures = path.join(repoRoot, "test/e2e/fixtures/pack");
const scratch: string[] = [];

afterEach(async () => {
  await Promise.all(scratch.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function flatten(fixture: string): Promise<string> {
  const outDir = await mkdtemp(path.join(tmpdir(), "edgepost-flatten-"));
  scratch.push(outDir);
  const srcDir = path.join(fixtures, fixture);
  flattenSources({ srcDir, entry: path.join(srcDir, "index.ts"), outDir, allowedPackages: ["partysocket"] });
  return outDir;
}

describe("scripts/pack: the SDK's sources, staged for the package", () => {
  it("refuses a client that imports server code at run time, naming the file and the import", async () => {
    const attempt = flatten("runtime-import");
    await expect(attempt).rejects.toThrow(FlattenError);
    await expect(attempt).rejects.toThrow(/runtime-import\/index\.ts:2: imports \.\.\/server\/schemas at run time/);
  });

  it("flattens server types into standalone declarations: Zod inference, an interface, a re-exported alias", async () => {
    const outDir = await flatten("clean");
    const index = await readFile(path.join(outDir, "index.ts"), "utf8");
    expect(index).not.toMatch(/zod|\.\.\/server/);
    expect(index).toContain('from "./helper.js"');
    const point = /export type Point = (\{[^}]*\});/.exec(index)?.[1] ?? "";
    expect(point.split(/;\s*/).map((line) => line.replace(/[{}]/g, "").trim()).filter(Boolean).sort()).toEqual(["tags: string[]", "x: number", "y?: number | undefined"]);
    expect(index).toContain('export type Code = "a" | "b";');
    expect(index).toMatch(/type Frame = \{\s*readonly type: "hello";\s*at: number;\s*note\?: string \| undefined;\s*\}/);

    // It compiles where neither Zod nor the server can be reached, and emits no `any`.
    await writeFile(path.join(outDir, "package.json"), '{"type":"module"}\n');
    const program = ts.createProgram([path.join(outDir, "index.ts")], {
      strict: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      types: [],
      declaration: true,
      emitDeclarationOnly: true,
      outDir: path.join(outDir, "types"),
    });
    const diagnostics = ts.getPreEmitDiagnostics(program);
    expect(diagnostics.length, formatDiagnostics(diagnostics)).toBe(0);
    expect(program.getSourceFiles().filter((file) => !file.fileName.startsWith(outDir) && !file.fileName.includes("/typescript/lib/"))).toEqual([]);
    expect(program.emit().emitSkipped).toBe(false);
    const declarations = [path.join(outDir, "types/index.d.ts"), path.join(outDir, "types/helper.d.ts")];
    expect(await readFile(declarations[0]!, "utf8")).toContain("export declare function hello(frame: Frame): Code;");
    expect(findAny(declarations)).toEqual([]);
  });
});
