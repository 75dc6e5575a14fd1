/**
 * End-to-end tests: plain Node, real sockets, against the bundled worker (dist/) served by
 * workerd through Miniflare in a child process (scripts/serve.mjs). Files run one at a time:
 * each starts its own server, and the machine has two cores.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
