#!/usr/bin/env node
// `npm run dev`: a local D1 with migrations applied, the sandbox upstream, and `wrangler dev` of the dev entry
// (dev/index.ts: the production worker plus the upstream simulator, with the static assets of public/). No account
// needed. Extra arguments go to `wrangler dev` (`npm run dev -- --port 8790`).
import { copyFileSync, existsSync, watch } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { basename, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeDevConfig } from "./dev-config.mjs";
import { readDevVars } from "./dev-vars.mjs";
import { DASHBOARD_SOURCE, writeStaticAssets } from "./static-assets.mjs";

const DEFAULT_PORT = "8787";

/**
 * The `wrangler dev` arguments for `npm run dev -- <args>`. Google's redirect follows the port: unless .dev.vars
 * sets GOOGLE_REDIRECT_URI, it is this server's callback (PUBLIC_URL, unset, already is each request's origin).
 */
export function wranglerDevArgs(config, args, devVars) {
  const extra = [];
  if (!devVars.GOOGLE_REDIRECT_URI) {
    extra.push("--var", `GOOGLE_REDIRECT_URI:http://localhost:${portOf(args)}/api/calendar/google/callback`);
  }
  return ["dev", "--config", config, "--test-scheduled", ...extra, ...args];
}

/** The port of `--port 8790` or `--port=8790`, else wrangler's default. */
export function portOf(args) {
  let port = DEFAULT_PORT;
  args.forEach((arg, i) => {
    if (arg === "--port" && args[i + 1]) port = args[i + 1];
    else if (arg.startsWith("--port=")) port = arg.slice("--port=".length);
  });
  return port;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (!existsSync(".dev.vars")) {
    copyFileSync(".dev.vars.example", ".dev.vars");
    console.log("Created .dev.vars from .dev.vars.example (sandbox mode, dev secrets).");
  }

  const config = await writeDevConfig();
  writeStaticAssets(); // public/: the /docs page's script and the dashboard's
  // An edit of the dashboard's script is a new asset and a new name in the Worker (script-asset.json): wrangler
  // dev reloads both. Its folder is watched: an editor may replace the file rather than write it.
  watch(dirname(DASHBOARD_SOURCE), (_, file) => {
    if (file !== basename(DASHBOARD_SOURCE)) return;
    try {
      writeStaticAssets();
    } catch (error) {
      console.error(`static assets: ${error.message}`);
    }
  });
  const migrate = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local", "--config", config], {
    stdio: "inherit",
    env: { ...process.env, CI: "true" },
  });
  if (migrate.status !== 0) process.exit(migrate.status ?? 1);

  const dev = spawn("wrangler", wranglerDevArgs(config, process.argv.slice(2), readDevVars()), { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
  dev.on("exit", (code) => process.exit(code ?? 0));
}
