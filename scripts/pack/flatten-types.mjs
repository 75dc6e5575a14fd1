/**
 * Stage the SDK's sources (src/client) as a standalone package source whose types stand alone.
 *
 * In this repository the SDK's types come from the worker's Zod schemas (`z.infer<typeof
 * S.StoredMessage>`, see src/client/types.ts) and the error codes from src/protocol/errors.ts:
 * one source of truth, checked by the compiler. An installed package has neither Zod nor the
 * server, so before the declarations are emitted every type that reaches outside src/client is
 * replaced by its structure, as the TypeScript checker resolves it:
 *
 *   export type PublishResult = z.infer<typeof S.PublishResult>;
 *   // becomes
 *   export type PublishResult = { seq: number; id: string; duplicate?: true | undefined };
 *
 * Rules (anything else is a build error, so the package can never pull in server code):
 * - an import from outside src/client must be type-only, unless it is an allowed package
 *   (partysocket); value imports from the server fail the build;
 * - a type alias whose right-hand side names an outside import is expanded;
 * - a type imported from outside and still used (e.g. `ErrorCode`) becomes a local alias of
 *   its expansion (a type alias's structure, or a plain interface's members); `export type { X } from "<outside>"` becomes `export type X = ...`;
 * - relative specifiers get their `.js` extension (the package is ESM: Node's resolution and
 *   TypeScript's `nodenext` need it, in the declarations too).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

/**
 * Zod's recursive JSON type prints under its own (unreachable) name; the SDK calls the same
 * type `JsonValue` (src/client/types.ts), so every mention becomes that name.
 */
const RENAMES = [[/\b(?:[A-Za-z_$][\w$]*\.)*JSONType\b/g, "JsonValue"]];

const PRINT_FLAGS =
  ts.NodeBuilderFlags.NoTruncation |
  ts.NodeBuilderFlags.InTypeAlias |
  ts.NodeBuilderFlags.MultilineObjectLiterals;

/** Compiler options for reading src/client as the repository does (bundler resolution). */
export const SOURCE_OPTIONS = {
  target: ts.ScriptTarget.ES2023,
  module: ts.ModuleKind.ES2022,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ["lib.es2023.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
  types: [],
  strict: true,
  skipLibCheck: true,
  noEmit: true,
};

class FlattenError extends Error {}

/**
 * Write the flattened copy of every file of `srcDir` reachable from `entry` into `outDir`.
 * Returns the relative paths written.
 */
export function flattenSources({ srcDir, entry, outDir, allowedPackages }) {
  const program = ts.createProgram([entry], SOURCE_OPTIONS);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length > 0) throw new FlattenError(`the SDK does not type-check:\n${formatDiagnostics(diagnostics)}`);
  const checker = program.getTypeChecker();
  const inside = (file) => !path.relative(srcDir, file).startsWith("..");
  const written = [];
  for (const sourceFile of program.getSourceFiles()) {
    if (sourceFile.isDeclarationFile || !inside(sourceFile.fileName)) continue;
    const text = flattenFile(sourceFile, { program, checker, inside, allowedPackages });
    const relative = path.relative(srcDir, sourceFile.fileName);
    const target = path.join(outDir, relative);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text);
    written.push(relative);
  }
  return written;
}

function flattenFile(sourceFile, { program, checker, inside, allowedPackages }) {
  const where = (node) => {
    const { line } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
    return `${path.relative(process.cwd(), sourceFile.fileName)}:${line + 1}`;
  };
  const edits = [];
  /** Local names bound by imports from outside src/client, with their import specifier node. */
  const outside = new Map();
  /** Names this file re-exports from outside: declared by that export, not again locally. */
  const reexported = new Set();

  const classify = (specifier) => {
    const resolved = ts.resolveModuleName(specifier, sourceFile.fileName, program.getCompilerOptions(), ts.sys).resolvedModule;
    if (specifier.startsWith(".")) {
      if (resolved && inside(resolved.resolvedFileName)) return "local";
      return "outside";
    }
    const name = specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0];
    return allowedPackages.includes(name) ? "package" : "outside";
  };

  for (const statement of sourceFile.statements) {
    const specifierNode =
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)
        ? statement.moduleSpecifier
        : undefined;
    if (!specifierNode) continue;
    const kind = classify(specifierNode.text);
    if (kind === "local") {
      if (!/\.[cm]?js$/.test(specifierNode.text)) {
        edits.push({ start: specifierNode.getStart(sourceFile), end: specifierNode.getEnd(), text: JSON.stringify(`${specifierNode.text}.js`) });
      }
      continue;
    }
    if (kind === "package") continue;
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : [];
      const typeOnly = clause && (clause.isTypeOnly || (!clause.name && named.length > 0 && named.every((element) => element.isTypeOnly)));
      if (!typeOnly) throw new FlattenError(`${where(statement)}: imports ${specifierNode.text} at run time; the SDK may import only its own files and ${allowedPackages.join(", ")}`);
      if (clause.name) outside.set(clause.name.text, { node: clause.name });
      if (clause.namedBindings && ts.isNamespaceImport(clause.namedBindings)) outside.set(clause.namedBindings.name.text, { node: clause.namedBindings.name });
      for (const element of named) outside.set(element.name.text, { node: element.name });
      edits.push({ start: statement.getFullStart(), end: statement.getEnd(), text: "", importOf: statement });
    } else {
      // `export type { X } from "<outside>"`: a local alias of X's structure, exported.
      if (!statement.isTypeOnly || !statement.exportClause || !ts.isNamedExports(statement.exportClause)) {
        throw new FlattenError(`${where(statement)}: re-exports ${specifierNode.text}; only \`export type { ... }\` may re-export from outside the SDK`);
      }
      const aliases = statement.exportClause.elements.map((element) => {
        reexported.add(element.name.text);
        return `export type ${element.name.text} = ${expandSymbol(element.name, element)};`;
      });
      edits.push({ start: statement.getStart(sourceFile), end: statement.getEnd(), text: aliases.join("\n") });
    }
  }

  function expandSymbol(nameNode, enclosing) {
    let symbol = checker.getSymbolAtLocation(nameNode);
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    const declaration = symbol?.declarations?.[0];
    if (declaration && ts.isTypeAliasDeclaration(declaration)) return printType(checker.getTypeAtLocation(declaration.name), enclosing);
    if (declaration && ts.isInterfaceDeclaration(declaration) && !declaration.typeParameters) {
      return printMembers(checker.getDeclaredTypeOfSymbol(symbol), enclosing);
    }
    throw new FlattenError(`${where(nameNode)}: ${nameNode.text} comes from outside the SDK and is neither a type alias nor a plain interface; it cannot be flattened`);
  }

  /** An interface as an object type literal: its properties and index signatures. */
  function printMembers(type, enclosing) {
    const lines = checker.getPropertiesOfType(type).map((property) => {
      const declaration = property.valueDeclaration ?? property.declarations?.[0];
      const readonly = declaration && ts.getCombinedModifierFlags(declaration) & ts.ModifierFlags.Readonly ? "readonly " : "";
      const optional = property.flags & ts.SymbolFlags.Optional ? "?" : "";
      const name = /^[A-Za-z_$][\w$]*$/.test(property.name) ? property.name : JSON.stringify(property.name);
      return `    ${readonly}${name}${optional}: ${printType(checker.getTypeOfSymbol(property), enclosing)};`;
    });
    for (const info of checker.getIndexInfosOfType(type)) {
      lines.push(`    [key: ${checker.typeToString(info.keyType)}]: ${printType(info.type, enclosing)};`);
    }
    return `{\n${lines.join("\n")}\n}`;
  }

  function printType(type, enclosing) {
    const node = checker.typeToTypeNode(type, enclosing, PRINT_FLAGS);
    let text = ts.createPrinter({ removeComments: true }).printNode(ts.EmitHint.Unspecified, node, sourceFile);
    for (const [pattern, replacement] of RENAMES) text = text.replace(pattern, replacement);
    return text;
  }

  const mentionsOutside = (node) => {
    let found = false;
    const visit = (child) => {
      if (found) return;
      if (ts.isIdentifier(child) && outside.has(child.text) && !ts.isPropertyAccessExpression(child.parent) && !(ts.isQualifiedName(child.parent) && child.parent.right === child)) {
        found = true;
        return;
      }
      ts.forEachChild(child, visit);
    };
    visit(node);
    return found;
  };

  // Type aliases built from outside types: their structure.
  const expanded = [];
  const visitAliases = (node) => {
    if (ts.isTypeAliasDeclaration(node) && mentionsOutside(node.type)) {
      const text = printType(checker.getTypeAtLocation(node.name), node);
      edits.push({ start: node.type.getStart(sourceFile), end: node.type.getEnd(), text });
      expanded.push(node.type);
      return;
    }
    ts.forEachChild(node, visitAliases);
  };
  visitAliases(sourceFile);

  // Outside names still used elsewhere (not in an import, not in an expanded alias) become
  // local aliases, or the build fails.
  const localAliases = [];
  const imports = edits.filter((edit) => edit.importOf).map((edit) => edit.importOf);
  const within = (node, ranges) => ranges.some((range) => node.pos >= range.pos && node.end <= range.end);
  const used = new Set();
  const visitUses = (node) => {
    if (within(node, imports) || within(node, expanded)) return;
    if (ts.isIdentifier(node) && outside.has(node.text) && !ts.isPropertyAccessExpression(node.parent) && !(ts.isQualifiedName(node.parent) && node.parent.right === node)) used.add(node.text);
    ts.forEachChild(node, visitUses);
  };
  visitUses(sourceFile);
  for (const name of used) {
    if (reexported.has(name)) continue;
    const { node } = outside.get(name);
    localAliases.push(`type ${name} = ${expandSymbol(node, node)};`);
  }

  let text = sourceFile.getFullText();
  for (const edit of edits.sort((a, b) => b.start - a.start)) text = text.slice(0, edit.start) + edit.text + text.slice(edit.end);
  if (localAliases.length > 0) {
    // After the leading comment block and imports is fine: aliases are hoisted.
    text = `${text.trimEnd()}\n\n// Flattened from the server's types by scripts/pack (see flatten-types.mjs).\n${localAliases.join("\n")}\n`;
  }
  return text;
}

export function formatDiagnostics(diagnostics) {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (name) => name,
    getCurrentDirectory: () => process.cwd(),
    getNewLine: () => "\n",
  });
}

/** `any` written anywhere in these declaration files (the AnyKeyword node), as `file:line`. */
export function findAny(files) {
  const found = [];
  for (const file of files) {
    const source = ts.createSourceFile(file, ts.sys.readFile(file) ?? "", ts.ScriptTarget.Latest, true);
    const visit = (node) => {
      if (node.kind === ts.SyntaxKind.AnyKeyword) found.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`);
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

export { FlattenError };
