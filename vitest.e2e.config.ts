// `npm run test:e2e` (part of `npm test`): the tests that run in Node, not workerd. Each e2e test runs against a
// throwaway `wrangler dev`:
// - the dashboard's browser test drives Debian's Chromium with playwright-core against the dev entry in sandbox
//   mode; without /usr/bin/chromium (or the browser E2E_CHROMIUM names) it is skipped with a notice. CI installs
//   Chromium in .ci/run;
// - the production bundle's test runs the worker exactly as wrangler.toml builds it (minified, no simulator);
// - the docs' browser test opens /docs in Chromium against that same build (static assets included).
// Then the scripts' tests (test/scripts/) and the client package as a frontend installs it (packages/client/test/).
import { existsSync } from "node:fs";
import { defineConfig } from "vitest/config";

const CHROMIUM = process.env.E2E_CHROMIUM || "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) {
  console.warn(`\n[e2e] ${CHROMIUM} not found: the browser tests (dashboard, docs) are SKIPPED (apt-get install -y chromium to run it).\n`);
}

export default defineConfig({
  test: {
    environment: "node",
    include: ["test/e2e/**/*.e2e.mjs", "test/scripts/**/*.test.mjs", "packages/client/test/**/*.test.mjs"],
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 180_000, // wrangler's migrations and start
    teardownTimeout: 30_000,
  },
});
