/**
 * `any` in a package's public API, found by the TypeScript checker as a user's compiler sees
 * the installed package: every export, followed through properties, signatures, index
 * signatures and type arguments, down to types declared outside the package (lib, Node), whose
 * own members are not the package's API. Private class members are skipped: a declaration file
 * writes them without a type, and they are not callable from outside.
 */
import path from "node:path";
import ts from "typescript";

export interface AnyReport {
  /** `export.member.(param)` paths whose type is `any` (an unresolved type counts: it is `any` too). */
  anys: string[];
  /** How many distinct types were visited: shows the walk went somewhere. */
  visited: number;
  exports: string[];
}

export function findAnyInPublicApi(program: ts.Program, packageDir: string): AnyReport {
  const checker = program.getTypeChecker();
  const inPackage = (file: string) => !path.relative(packageDir, file).startsWith("..");
  const entry = program.getSourceFiles().find((file) => inPackage(file.fileName) && file.fileName.endsWith("/dist/index.d.ts"));
  if (!entry) throw new Error(`the program has no ${packageDir}/dist/index.d.ts: did the import resolve?`);
  const moduleSymbol = checker.getSymbolAtLocation(entry);
  if (!moduleSymbol) throw new Error("the package's entry is not a module");

  const anys: string[] = [];
  const seen = new Set<ts.Type>();
  const declaredInPackage = (type: ts.Type) => {
    const symbol = type.aliasSymbol ?? type.getSymbol();
    return (symbol?.declarations ?? []).some((declaration) => inPackage(declaration.getSourceFile().fileName));
  };

  const visitSignature = (signature: ts.Signature, where: string) => {
    for (const parameter of signature.getParameters()) visit(checker.getTypeOfSymbol(parameter), `${where}(${parameter.name})`);
    visit(signature.getReturnType(), `${where}()`);
  };

  const visit = (type: ts.Type, where: string): void => {
    if (type.flags & ts.TypeFlags.Any) {
      anys.push(where);
      return;
    }
    if (seen.has(type)) return;
    seen.add(type);
    if (type.isUnionOrIntersection()) {
      for (const member of type.types) visit(member, where);
      return;
    }
    for (const argument of type.aliasTypeArguments ?? []) visit(argument, `${where}<>`);
    if (!(type.flags & ts.TypeFlags.Object)) return;
    const object = type as ts.ObjectType;
    if (object.objectFlags & ts.ObjectFlags.Reference) {
      const reference = object as ts.TypeReference;
      const parameters = reference.target.typeParameters ?? [];
      checker.getTypeArguments(reference).forEach((argument, index) => {
        // A lib generic's own default (`AsyncIterator<T>` is `AsyncIterator<T, any, any>`) is
        // the lib's choice, not written by the package: only arguments that differ count.
        const parameter = parameters[index];
        const fallback = parameter && checker.getDefaultFromTypeParameter(parameter);
        if (argument.flags & ts.TypeFlags.Any && fallback && fallback.flags & ts.TypeFlags.Any && !declaredInPackage(type)) return;
        visit(argument, `${where}<>`);
      });
    }
    // Lib and Node types (Promise, AbortSignal, Response): only their arguments are ours.
    const anonymous = !type.getSymbol() || (object.objectFlags & ts.ObjectFlags.Anonymous) !== 0;
    if (!anonymous && !declaredInPackage(type)) return;
    for (const property of checker.getPropertiesOfType(type)) {
      const declaration = property.valueDeclaration ?? property.declarations?.[0];
      if (declaration && ts.getCombinedModifierFlags(declaration) & ts.ModifierFlags.Private) continue;
      visit(checker.getTypeOfSymbol(property), `${where}.${property.name}`);
    }
    for (const signature of type.getCallSignatures()) visitSignature(signature, where);
    for (const signature of type.getConstructSignatures()) visitSignature(signature, `new ${where}`);
    for (const info of checker.getIndexInfosOfType(type)) visit(info.type, `${where}[]`);
  };

  const exports = checker.getExportsOfModule(moduleSymbol);
  for (const exported of exports) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    if (symbol.flags & ts.SymbolFlags.Value) visit(checker.getTypeOfSymbol(symbol), exported.name);
    if (symbol.flags & ts.SymbolFlags.Type) visit(checker.getDeclaredTypeOfSymbol(symbol), exported.name);
  }
  return { anys, visited: seen.size, exports: exports.map((symbol) => symbol.name) };
}
