/**
 * Browser tests: plain Node drives Debian's Chromium (playwright-core) against the bundled
 * worker and the console's static files, served by workerd through Miniflare in a child
 * process (test/e2e/server.ts). Needs `npm run build` first (`npm run test:browser` does).
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/browser/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file starts a server and a browser; the machine has two cores.
    fileParallelism: false,
  },
});
