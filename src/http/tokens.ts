/** `POST /v1/tokens`: the root key mints scoped, expiring tokens (for browsers and services). */
import { Hono } from "hono";
import { z } from "zod";
import { Scopes } from "../auth/scopes";
import { MAX_TOKEN_TTL_SECONDS, mintToken } from "../auth/tokens";
import { requireRoot, type AppEnv } from "./auth";
import { parseWith, readJson } from "./body";

const TokenInput = z.strictObject({
  scopes: Scopes,
  ttlSeconds: z.number().int().min(1).max(MAX_TOKEN_TTL_SECONDS),
  subject: z.string().min(1).max(256).optional(),
});

export const tokenRoutes = new Hono<AppEnv>();

tokenRoutes.post("/", async (c) => {
  requireRoot(c);
  const input = parseWith(TokenInput, await readJson(c));
  return c.json(await mintToken(c.env.EDGEPOST_ROOT_KEY!, input), 201);
});
