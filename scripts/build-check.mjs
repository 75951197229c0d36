#!/usr/bin/env node
// `npm run build:check` (part of `npm test`): bundles the production worker exactly as `wrangler deploy` would
// (wrangler.toml: minified, source maps uploaded) without uploading it, prints the upload's size and its largest
// contributors, and fails when the gzip size is over the budget, when anything of the dev entry (dev/: the
// upstream simulator) is in the bundle, or when Scalar (the /docs page's script, a static asset beside the Worker:
// scripts/docs-assets.mjs) is. It prints what the static assets weigh.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { delimiter, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ASSETS_DIR, writeDocsAssets } from "./docs-assets.mjs";

// Raised from 225 (edge routing, call caps, the Vapi import, paging), then from 235 (the pool's usage over time: its
// route, and the dashboard's chart, whose script is sent as is). The known way back: zod's locales (about 257 KiB of the
// minified bundle, none of them used) are kept because @hono/zod-openapi extends the whole `z` namespace.
const BUDGET_GZIP_KIB = 237;
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

function main() {
  writeDocsAssets(); // wrangler.toml's [assets] directory
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

  // Modules wrangler uploads as they are, outside the bundle (the [[rules]] of wrangler.toml: the dashboard's script).
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
  const fromDev = Object.keys(metafile.inputs).filter((input) => input.startsWith("dev/"));
  if (fromDev.length > 0) fail(`the production bundle contains the dev entry's modules: ${fromDev.join(", ")}`);
  if (bundle.exports.includes("UpstreamSandbox")) fail("the production bundle exports the simulator's Durable Object UpstreamSandbox");
  if (size.gzip > BUDGET_GZIP_KIB) fail(`the upload is ${size.gzip} KiB gzip, over the budget of ${BUDGET_GZIP_KIB} KiB`);
}

main();
