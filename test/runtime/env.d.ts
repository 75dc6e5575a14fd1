// Types `env` from "cloudflare:test" / "cloudflare:workers" as the worker's own Env.
type EdgepostEnv = import("../../src/env").Env;
declare namespace Cloudflare {
  interface Env extends EdgepostEnv {}
}
