/** `GET /v1/topics` and `GET /v1/queues`: the names that exist, filtered to what the caller may see. */
import { Hono } from "hono";
import { z } from "zod";
import { DIRECTORY_NAME, type EntryKind } from "../directory/directory-object";
import { isAllowed, type AppEnv, type Operation } from "./auth";
import { validationError } from "./errors";

const ListQuery = z.object({
  after: z.string().max(128).optional(),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, "must be an integer")
    .transform(Number)
    .refine((n) => n >= 1 && n <= 1000, "must be 1-1000")
    .optional(),
  token: z.string().optional(),
});

export const directoryRoutes = new Hono<AppEnv>();

function listRoute(kind: EntryKind, operations: Operation[]) {
  return directoryRoutes.get(`/${kind}s`, async (c) => {
    const parsed = ListQuery.safeParse(c.req.query());
    if (!parsed.success) throw validationError(parsed.error, "query", "invalid_query");
    const limit = parsed.data.limit ?? 100;
    const entries = await c.env.DIRECTORY.getByName(DIRECTORY_NAME).list(kind, parsed.data.after ?? "", limit);
    const principal = c.get("principal");
    const visible = entries.filter((entry) => operations.some((operation) => isAllowed(principal, operation, entry.name)));
    const last = entries.length === limit ? entries[entries.length - 1]!.name : null;
    return c.json({ [`${kind}s`]: visible, next: last });
  });
}

listRoute("topic", ["subscribe", "publish", "admin"]);
listRoute("queue", ["consume", "publish", "admin"]);
