/**
 * `GET /v1/openapi.json` is a valid OpenAPI 3.1 document by a real validator, the one code
 * generators and API tools use (`@readme/openapi-parser`: the OpenAPI schema, then every `$ref`
 * resolved). Issue 15: the recursive JSON type of `data` kept zod's `$defs` inside a nested
 * schema, where `#/$defs/...` points nowhere ("Missing $ref pointer").
 */
import { compileErrors, validate } from "@readme/openapi-parser";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { hoistSchemaDefs } from "../../src/http/openapi-defs";
import { ROOT_KEY, useServer } from "./server";

const server = useServer();

/** Every `$ref` in `value`, and whether a `$defs` is left anywhere. */
function refsOf(value: unknown, found = { refs: new Set<string>(), defs: 0 }) {
  if (Array.isArray(value)) for (const item of value) refsOf(item, found);
  else if (value && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) {
      if (key === "$ref" && typeof child === "string") found.refs.add(child);
      else if (key === "$defs") found.defs++;
      refsOf(child, found);
    }
  }
  return found;
}

async function expectValid(document: object): Promise<void> {
  // validate() dereferences the document it is given: hand it a copy.
  const result = await validate(structuredClone(document) as Parameters<typeof validate>[0]);
  expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
}

describe("the OpenAPI document", () => {
  it("validates with @readme/openapi-parser, every $ref resolving inside the document", async () => {
    const response = await fetch(`${server.url}/v1/openapi.json`, { headers: { authorization: `Bearer ${ROOT_KEY}` } });
    expect(response.status).toBe(200);
    const document = (await response.json()) as { openapi: string; components: { schemas?: Record<string, unknown> } };
    expect(document.openapi).toBe("3.1.0");
    await expectValid(document);

    const { refs, defs } = refsOf(document);
    expect(defs, "no $defs left inside nested schemas").toBe(0);
    for (const ref of refs) expect(ref, "a component reference").toMatch(/^#\/components\/schemas\//);
    // The recursive type of `data` is one shared component.
    expect(Object.keys(document.components.schemas ?? {})).toContain("JsonValue");
    expect(refs).toContain("#/components/schemas/JsonValue");
  });

  it("hoists unnamed recursive definitions too, sharing identical ones and keeping different ones apart", async () => {
    const Tree: z.ZodType = z.lazy(() => z.object({ label: z.string(), children: z.array(Tree) }));
    const Chain: z.ZodType = z.lazy(() => z.object({ next: Chain.nullable() }));
    const schema = (type: z.ZodType) => z.toJSONSchema(type, { io: "output" }) as Record<string, unknown>;
    const body = (type: z.ZodType) => ({ description: "OK", content: { "application/json": { schema: schema(z.object({ value: type })) } } });
    const document = {
      openapi: "3.1.0",
      info: { title: "t", version: "1" },
      paths: {
        "/a": { get: { responses: { "200": body(Tree) } } },
        "/b": { get: { responses: { "200": body(Tree) } } },
        "/c": { get: { responses: { "200": body(Chain) } } },
      },
    };
    expect(refsOf(document).defs, "zod nests $defs (the input of the fix)").toBeGreaterThan(0);
    const before = await validate(structuredClone(document) as Parameters<typeof validate>[0]);
    expect(before.valid, "the nested $defs are what the validator rejects").toBe(false);

    const hoisted = hoistSchemaDefs(document) as typeof document & { components: { schemas: Record<string, unknown> } };
    await expectValid(hoisted);
    expect(refsOf(hoisted).defs).toBe(0);
    expect(Object.keys(hoisted.components.schemas), "one component per distinct definition").toHaveLength(2);
  });
});
