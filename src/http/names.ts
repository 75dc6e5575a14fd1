import type { Context } from "hono";
import { ApiError } from "../protocol/errors";
import { isValidName, NAME_PATTERN_SOURCE } from "../protocol/names";

/** A topic or queue name from the path, validated against the contract's pattern. */
export function nameParam(c: Context, param: "topic" | "queue"): string {
  const name = c.req.param(param);
  if (!name || !isValidName(name)) {
    throw new ApiError(400, "invalid_name", `${param} name must match ${NAME_PATTERN_SOURCE}`);
  }
  return name;
}
