/**
 * Push settings: what `PUT /v1/queues/{q}` with `"push"` stores. The settings live in the
 * queue's config (shown in stats); the secret in its own meta row, never shown again after
 * the answer that generated it. A push update without a secret keeps the current one (so
 * changing `maxConcurrency` does not break the receiver); rotation is setting a new one.
 */
import type { Env } from "../env";
import { ApiError } from "../protocol/errors";
import * as L from "../protocol/limits";
import type { PushSettings, PushSettingsInput } from "../protocol/schemas";
import { readMeta, writeMeta } from "../storage/migrations";
import { generateSecret } from "./signing";

const SECRET_KEY = "push_secret";

export function loadPushSecret(sql: SqlStorage): string | null {
  return readMeta<string>(sql, SECRET_KEY) ?? null;
}

export interface PushUpdate {
  settings: PushSettings | null;
  secret: string | null;
  /** Set when this update generated the secret: the one answer that shows it. */
  generatedSecret?: string;
}

/** Apply `"push": {...}` or `"push": null` to the stored secret; returns the new settings. */
export function updatePush(sql: SqlStorage, input: PushSettingsInput | null, current: PushSettings | null): PushUpdate {
  if (input === null) {
    sql.exec("DELETE FROM meta WHERE key = ?", SECRET_KEY);
    return { settings: null, secret: null };
  }
  const settings: PushSettings = {
    url: input.url,
    maxConcurrency: input.maxConcurrency ?? current?.maxConcurrency ?? L.DEFAULT_PUSH_CONCURRENCY,
    timeoutSeconds: input.timeoutSeconds ?? current?.timeoutSeconds ?? L.DEFAULT_PUSH_TIMEOUT_SECONDS,
  };
  const kept = loadPushSecret(sql);
  if (input.secret !== undefined || kept === null) {
    const secret = input.secret ?? generateSecret();
    writeMeta(sql, SECRET_KEY, secret);
    return input.secret === undefined ? { settings, secret, generatedSecret: secret } : { settings, secret };
  }
  return { settings, secret: kept };
}

/**
 * The worker's check of a push URL: https always, http only where PUSH_ALLOW_HTTP is "true"
 * (local development: `npm start` sets it). Other schemes never pass the schema.
 */
export function checkPushUrl(env: Pick<Env, "PUSH_ALLOW_HTTP">, url: string): void {
  if (new URL(url).protocol === "http:" && env.PUSH_ALLOW_HTTP !== "true") {
    throw new ApiError(400, "invalid_request", "push.url: http: URLs are refused; use https: (PUSH_ALLOW_HTTP=\"true\" allows http: for local development)");
  }
}
