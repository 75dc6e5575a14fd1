/**
 * The console's connection to edgepost: the token (kept in sessionStorage, so it dies with the
 * tab and is never written to disk by a long-lived store), the SDK client, and the name
 * listings (`GET /v1/topics`, `GET /v1/queues`), which the SDK does not cover.
 */

const TOKEN_KEY = "edgepost.console.token";

export function savedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null; // storage disabled: the user signs in again on reload
  }
}

export function saveToken(token) {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // storage disabled: the token lives only in memory for this page
  }
}

export function forgetToken() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // nothing stored
  }
}

/** An API error from a listing request, shaped like the SDK's EdgepostError (status, code). */
export class ListError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ListError";
    this.status = status;
    this.code = code;
  }
}

/**
 * One page of topic or queue names, in name order: `{ names, next }`, where `next` is the
 * cursor for the following page (null on the last). A scoped token sees only the names it may
 * use, so a page can be shorter than `limit` and still have a next one.
 *
 * @param {"topic" | "queue"} kind
 */
export async function listNames(token, kind, { after, limit }) {
  const url = new URL(`/v1/${kind}s`, location.origin);
  url.searchParams.set("limit", String(limit));
  if (after) url.searchParams.set("after", after);
  let response;
  try {
    response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  } catch (error) {
    throw new ListError(0, "network_error", `cannot reach ${location.origin}: ${error instanceof Error ? error.message : error}`);
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const apiError = body && typeof body === "object" ? body.error : undefined;
    throw new ListError(response.status, apiError?.code ?? "http_error", apiError?.message ?? `HTTP ${response.status}`);
  }
  const entries = Array.isArray(body?.[`${kind}s`]) ? body[`${kind}s`] : [];
  return { names: entries.map((entry) => entry.name), next: typeof body?.next === "string" ? body.next : null };
}

/** True when an error means the credential itself is bad (not merely out of scope). */
export function isUnauthorized(error) {
  return Boolean(error && typeof error === "object" && error.status === 401);
}
