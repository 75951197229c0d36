#!/usr/bin/env node
// `npm run dev`: a local D1 with migrations applied, the sandbox upstream, and `wrangler dev` of the dev entry
// (dev/index.ts: the production worker plus the upstream simulator, with the static assets of public/). No account needed.
import { copyFileSync, existsSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { writeDevConfig } from "./dev-config.mjs";
import { writeDocsAssets } from "./docs-assets.mjs";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("Created .dev.vars from .dev.vars.example (sandbox mode, dev secrets).");
}

const config = await writeDevConfig();
writeDocsAssets(); // public/: the /docs page's script
const migrate = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local", "--config", config], {
  stdio: "inherit",
  env: { ...process.env, CI: "true" },
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const args = ["dev", "--config", config, "--test-scheduled", ...process.argv.slice(2)];
const dev = spawn("wrangler", args, { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));
