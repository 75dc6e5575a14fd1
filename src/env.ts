/**
 * The worker's `Env`. Its bindings come from wrangler.toml, generated into
 * worker-configuration.d.ts by `npm run types` (`wrangler types`; re-run it after changing
 * wrangler.toml; `npm run typecheck` fails while that file is stale). What each binding is for
 * is written beside it in wrangler.toml.
 *
 * wrangler.toml does not list secrets, nor the settings a deployment may add with
 * `wrangler secret put`/`--var`; they are declared here, merged into the generated interface,
 * so `env` from "cloudflare:workers"/"cloudflare:test" has them too. This file imports no code:
 * the generated file refers to the object classes, and they refer to `Env`, only as types.
 */
declare global {
  namespace Cloudflare {
    interface Env {
      /** Secret: may do everything. Without it a deployed worker refuses every request (503). */
      EDGEPOST_ROOT_KEY?: string;
      /** Secret: the key being rotated out, still accepted during the grace period. */
      EDGEPOST_ROOT_KEY_PREVIOUS?: string;
      /** Comma-separated origins allowed by CORS; `*` (the default) allows any. */
      ALLOWED_ORIGINS?: string;
      /** "true" lets push queues deliver to http: URLs (local development; `npm start` sets it). */
      PUSH_ALLOW_HTTP?: string;
    }
  }
}

/** The generated bindings (worker-configuration.d.ts) plus the secrets above. */
export type Env = Cloudflare.Env;
