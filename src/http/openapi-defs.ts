/**
 * zod writes a recursive type (the JSON value of a message's `data`) as a definition in `$defs`
 * beside the schema that uses it, referenced as `#/$defs/<name>`. In an OpenAPI document `#` is
 * the document's root, so once that schema sits inside a path the reference points nowhere
 * (`@readme/openapi-parser`: "Missing $ref pointer `#/$defs/__schema0`", issue 15), and code
 * generators reject the document. Here every `$defs` in the document moves to
 * `components.schemas`, its references are rewritten, and identical definitions share one entry.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const LOCAL_DEF = "#/$defs/";
const COMPONENT = "#/components/schemas/";

const isObject = (value: Json | undefined): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value);

/** The document with its `$defs` hoisted into `components.schemas` (a new object; the input is not changed). */
export function hoistSchemaDefs<T extends object>(document: T): T {
  const schemas: JsonObject = {};
  // Definitions already hoisted, keyed by their name and the whole `$defs` they came with (so a
  // name means the same thing in both), to the component they became.
  const seen = new Map<string, string>();

  const componentName = (name: string): string => {
    const base = name.replace(/^_+/, "") || "Schema";
    let candidate = base;
    for (let n = 2; candidate in schemas; n++) candidate = `${base}${n}`;
    return candidate;
  };

  const rewrite = (value: Json, renames: Map<string, string>): Json => {
    if (Array.isArray(value)) return value.map((item) => rewrite(item, renames));
    if (!isObject(value)) return value;
    const result: JsonObject = {};
    for (const [key, child] of Object.entries(value)) {
      if (key === "$ref" && typeof child === "string" && child.startsWith(LOCAL_DEF)) {
        const target = renames.get(decodeURIComponent(child.slice(LOCAL_DEF.length)));
        if (!target) throw new Error(`openapi: ${child} has no definition`);
        result[key] = COMPONENT + encodeURIComponent(target);
      } else {
        result[key] = rewrite(child, renames);
      }
    }
    return result;
  };

  const walk = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(walk);
    if (!isObject(value)) return value;
    let node = value;
    const defs = node.$defs;
    if (isObject(defs)) {
      const { $defs: _hoisted, ...rest } = node;
      const context = JSON.stringify(defs);
      const renames = new Map<string, string>();
      for (const name of Object.keys(defs)) {
        const key = `${name}\u0000${context}`;
        let target = seen.get(key);
        if (!target) {
          target = componentName(name);
          seen.set(key, target);
          schemas[target] = {}; // reserve the name
        }
        renames.set(name, target);
      }
      for (const [name, definition] of Object.entries(defs)) schemas[renames.get(name)!] = rewrite(definition, renames);
      node = rewrite(rest, renames) as JsonObject;
    }
    const result: JsonObject = {};
    for (const [key, child] of Object.entries(node)) result[key] = walk(child);
    return result;
  };

  const hoisted = walk(document as unknown as Json) as JsonObject;
  if (Object.keys(schemas).length === 0) return hoisted as unknown as T;
  const components = isObject(hoisted.components) ? hoisted.components : {};
  const existing = isObject(components.schemas) ? components.schemas : {};
  for (const name of Object.keys(schemas)) if (name in existing) throw new Error(`openapi: component schema ${name} defined twice`);
  return { ...hoisted, components: { ...components, schemas: { ...existing, ...schemas } } } as unknown as T;
}
