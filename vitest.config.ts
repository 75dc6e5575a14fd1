/**
 * Runtime tests: Vitest inside workerd through the Workers plugin, with the real Durable
 * Objects, SQLite and alarms of wrangler.toml. Each test file gets isolated storage.
 */
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: { EDGEPOST_ROOT_KEY: "test-root-key" },
        // A small publish limit so the rate-limit test reaches it quickly (wrangler.toml: 1,000).
        ratelimits: { PUBLISH_LIMITER: { namespace_id: "1001", simple: { limit: 20, period: 10 } } },
      },
    }),
  ],
  test: {
    include: ["test/runtime/**/*.test.ts"],
    testTimeout: 20_000,
  },
});
