import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_CONFIG, writeDevConfig } from "./scripts/dev-config.mjs";
import { writeStaticAssets } from "./scripts/static-assets.mjs";
import { TEST_SETTINGS } from "./test/settings.ts";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  writeStaticAssets(); // wrangler.toml's [assets] directory, and the dashboard's script-asset.json, must be up to date
  return {
    plugins: [
      cloudflareTest({
        // The dev entry (dev/index.ts): the production worker plus the upstream simulator the tests drive, from a
        // copy of the dev config where no .dev.vars is read: every setting is TEST_SETTINGS.
        wrangler: { configPath: await writeDevConfig(TEST_CONFIG) },
        remoteBindings: false,
        miniflare: { bindings: { ...TEST_SETTINGS, TEST_MIGRATIONS: migrations } },
      }),
    ],
    test: {
      setupFiles: ["./test/setup/apply-migrations.ts"],
      include: ["test/**/*.test.ts", "packages/client/test/**/*.test.ts"],
      testTimeout: 20_000,
      // Logs of passing tests are noise; a failing test shows its logs.
      silent: "passed-only" as const,
    },
  };
});
