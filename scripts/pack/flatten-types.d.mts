// Types of flatten-types.mjs for the tests that import it (test/e2e/pack-guard.test.ts).
export class FlattenError extends Error {}
export function flattenSources(options: { srcDir: string; entry: string; outDir: string; allowedPackages: string[] }): string[];
export function findAny(files: string[]): string[];
export function formatDiagnostics(diagnostics: readonly import("typescript").Diagnostic[]): string;
