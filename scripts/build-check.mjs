#!/usr/bin/env node
// `npm run build:check` (part of `npm test`): bundles the production worker exactly as `wrangler deploy` would
// (wrangler.toml: minified, source maps uploaded) without uploading it, prints the upload's size and its largest
// contributors, and fails when the gzip size is over the budget, when anything of the dev entry (dev/: the
// upstream simulator) is in the bundle, or when a browser script is (Scalar's or the dashboard's: static assets
// beside the Worker, scripts/static-assets.mjs), or when the dashboard's script the bundle names is not the asset
// of its client.browser.js. It prints what the static assets weigh.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { delimiter, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ASSETS_DIR, DASHBOARD_SOURCE, dashboardScriptAsset, writeStaticAssets } from "./static-assets.mjs";

// Back to 225 (it had been raised to 235, then 237) when the dashboard's script (about 12 KiB of it gzip) left the
// Worker for the static assets: the upload was 224.1 KiB then. The known way further down: zod's locales (about
// 257 KiB of the minified bundle, none of them used) are kept because @hono/zod-openapi extends the whole `z` namespace.
// 226 with issue 16's paged Twilio list and index-driven reads (225.05 KiB).
const BUDGET_GZIP_KIB = 226;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const OUTDIR = join(ROOT, "dist");
const METAFILE = join(OUTDIR, "bundle-meta.json");

/** `{total, gzip}` in KiB from wrangler's "Total Upload: 868.99 KiB / gzip: 226.83 KiB" line, or null. */
function uploadSize(report) {
  const match = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(report);
  return match ? { total: Number(match[1]), gzip: Number(match[2]) } : null;
}

/** Who a bundled module belongs to: its npm package, else its folder of src (a feature's room). */
function contributorOf(input) {
  const packagePath = input.split("node_modules/").at(-1);
  if (packagePath !== input) {
    const [scope, name] = packagePath.split("/");
    return scope.startsWith("@") ? `${scope}/${name}` : scope;
  }
  const parts = input.split("/");
  return parts[1] === "features" ? parts.slice(0, 3).join("/") : parts.slice(0, parts.length > 2 ? 2 : 1).join("/");
}

/** Bytes in the bundle per contributor, largest first. */
function contributors(bundleInputs) {
  const bytes = new Map();
  for (const [input, { bytesInOutput }] of Object.entries(bundleInputs)) {
    const who = contributorOf(input);
    bytes.set(who, (bytes.get(who) ?? 0) + bytesInOutput);
  }
  return [...bytes].sort((a, b) => b[1] - a[1]);
}

function dryRun() {
  rmSync(OUTDIR, { recursive: true, force: true }); // wrangler adds to it, and a former build's modules would count
  const result = spawnSync("wrangler", ["deploy", "--dry-run", "--outdir", OUTDIR, "--metafile", METAFILE], {
    cwd: ROOT,
    encoding: "utf8",
    // wrangler needs node ≥ 22: the project's node@22 comes first, also when this script is run without npm.
    env: {
      ...process.env,
      CI: "true",
      WRANGLER_SEND_METRICS: "false",
      PATH: [join(ROOT, "node_modules/.bin"), process.env.PATH].join(delimiter),
    },
  });
  const report = `${result.stdout}${result.stderr}${result.error ?? ""}`;
  if (result.status !== 0) fail(`wrangler deploy --dry-run failed:\n${report}`);
  return report;
}

function fail(message) {
  console.error(`build:check: ${message}`);
  process.exit(1);
}

/**
 * The page's script is client.browser.js as it is now: the bundle names the asset of its bytes, public/ holds that
 * file with those bytes, and neither the bundle nor the upload carries the script itself.
 */
function checkDashboardScript(bundleText, bundleInputs, beside) {
  const source = readFileSync(DASHBOARD_SOURCE);
  const { path, integrity } = dashboardScriptAsset(source);
  const rel = relative(ROOT, DASHBOARD_SOURCE);
  if (!bundleText.includes(JSON.stringify(path)) || !bundleText.includes(JSON.stringify(integrity)))
    fail(`the bundle does not name ${path} (with its integrity), the asset of ${rel} as it is now`);
  const asset = join(ASSETS_DIR, path);
  if (!existsSync(asset)) fail(`${relative(ROOT, asset)}, the dashboard's script the bundle names, is missing`);
  if (!readFileSync(asset).equals(source)) fail(`${relative(ROOT, asset)} is not ${rel}`);
  if (bundleInputs.some((input) => input.endsWith(".browser.js")) || beside.some((file) => file.endsWith(".browser.js")))
    fail(`the upload contains ${rel}, which is a static asset`);
}

function main() {
  writeStaticAssets(); // wrangler.toml's [assets] directory, and the dashboard's script-asset.json
  const size = uploadSize(dryRun());
  if (!size) fail("wrangler printed no 'Total Upload' line");
  const metafile = JSON.parse(readFileSync(METAFILE, "utf8"));
  const [bundleName, bundle] = Object.entries(metafile.outputs).find(([name]) => name.endsWith(".js")) ?? [];
  if (!bundle) fail(`no bundle in ${METAFILE}`);

  const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
  const total = Object.values(bundle.inputs).reduce((sum, { bytesInOutput }) => sum + bytesInOutput, 0);
  console.log(
    `Production upload (${relative(ROOT, resolve(ROOT, bundleName))}): ${size.total} KiB, gzip ${size.gzip} KiB (budget ${BUDGET_GZIP_KIB} KiB gzip)`,
  );
  console.log("Largest contributors (minified bytes in the bundle):");
  for (const [who, bytes] of contributors(bundle.inputs).slice(0, 5)) {
    console.log(`  ${who.padEnd(34)} ${kib(bytes).padStart(10)}  ${((100 * bytes) / total).toFixed(1).padStart(4)} %`);
  }

  // Modules wrangler would upload as they are, outside the bundle (a [[rules]] of wrangler.toml): none since the
  // dashboard's script became a static asset; they would count in the upload.
  const bundled = new Set([METAFILE, ...Object.keys(metafile.outputs).map((name) => resolve(ROOT, name))]);
  const beside = readdirSync(OUTDIR).filter((file) => file !== "README.md" && !bundled.has(join(OUTDIR, file)));
  for (const file of beside)
    console.log(`Uploaded beside the bundle: ${file.replace(/^[0-9a-f]{40}-/, "")} ${kib(statSync(join(OUTDIR, file)).size)}`);

  // Static assets: uploaded beside the Worker, outside its budget; what a browser downloads of each (compressed by Cloudflare).
  for (const file of readdirSync(ASSETS_DIR, { recursive: true })) {
    const path = join(ASSETS_DIR, file);
    if (!statSync(path).isFile() || file === "_headers") continue;
    const bytes = readFileSync(path);
    console.log(
      `Static asset: ${file} ${kib(bytes.length)} (gzip ${kib(gzipSync(bytes, { level: 9 }).length)}, brotli ${kib(brotliCompressSync(bytes).length)})`,
    );
  }

  const fromScalar = Object.keys(metafile.inputs).filter((input) => input.includes("node_modules/@scalar/"));
  if (fromScalar.length > 0) fail(`the production bundle contains Scalar, which is a static asset: ${fromScalar.slice(0, 3).join(", ")}`);
  checkDashboardScript(readFileSync(resolve(ROOT, bundleName), "utf8"), Object.keys(metafile.inputs), beside);
  const fromDev = Object.keys(metafile.inputs).filter((input) => input.startsWith("dev/"));
  if (fromDev.length > 0) fail(`the production bundle contains the dev entry's modules: ${fromDev.join(", ")}`);
  if (bundle.exports.includes("UpstreamSandbox")) fail("the production bundle exports the simulator's Durable Object UpstreamSandbox");
  if (size.gzip > BUDGET_GZIP_KIB) fail(`the upload is ${size.gzip} KiB gzip, over the budget of ${BUDGET_GZIP_KIB} KiB`);
}

main();
