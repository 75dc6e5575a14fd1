// Types `env` from "cloudflare:test" / "cloudflare:workers" as the worker's own Env.
declare namespace Cloudflare {
  interface Env extends import("../../src/env").Env {}
}
