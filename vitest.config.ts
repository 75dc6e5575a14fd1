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
      miniflare: { bindings: { EDGEPOST_ROOT_KEY: "test-root-key" } },
    }),
  ],
  test: {
    include: ["test/runtime/**/*.test.ts"],
    testTimeout: 20_000,
  },
});
