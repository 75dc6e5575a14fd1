/**
 * Deleting a topic or queue by name, for the HTTP routes and any adapter (SQS DeleteQueue):
 * the object ends its links, leaves the listings and wipes itself (wipe.ts). Throws ApiError
 * 404 `not_found` when there was nothing to delete.
 */
import type { Env } from "../env";
import { ApiError } from "../protocol/errors";

export async function deleteQueue(env: Env, name: string): Promise<void> {
  if (!(await env.QUEUE.getByName(name).destroy())) throw new ApiError(404, "not_found", `queue ${name} does not exist`);
}

export async function deleteTopic(env: Env, name: string): Promise<void> {
  if (!(await env.TOPIC.getByName(name).destroy())) throw new ApiError(404, "not_found", `topic ${name} does not exist`);
}
