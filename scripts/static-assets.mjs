// The Worker's static assets (wrangler.toml `[assets]`, directory public/, not committed), served by Cloudflare
// without running the Worker and kept by browsers for a year (the `_headers` written here):
// - the /docs page's script, the browser build of Scalar's API reference, named after its pinned version;
// - the operators' dashboard's script, src/features/admin/dashboard/client.browser.js as it is, named after its
//   content (dashboard-<first 12 hex of its SHA-256>.js). Its name and integrity go to script-asset.json beside it
//   (not committed either), which the page imports: the Worker names the file this run wrote.
//
// Scalar's build is one file of the npm package @scalar/api-reference (dist/browser/standalone.js, styles included).
// The package is not a dependency: installing it brings 277 packages (Vue, an AI SDK, …) that the one prebuilt
// file does not need. Instead the version and the registry's integrity pinned in src/features/system/scalar.json
// are fetched with `npm pack` (npm's cache, the registry `npm install` uses), checked, kept in
// node_modules/.cache/, and the file is copied (less its source-map comment: the 20 MB map is not served).
//
// `npm install` (postinstall), `npm run dev` (again whenever client.browser.js changes), the tests
// (vitest.config.ts, bench/lib.mjs), `npm run build:check` and `npm run deploy` write them; what is already in
// place is kept, and files of a former version or content are removed (they would still be uploaded).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PIN = JSON.parse(readFileSync(join(ROOT, "src/features/system/scalar.json"), "utf8"));
const CACHE_DIR = join(ROOT, "node_modules/.cache/scalar");
/** The one file the browser build is (its CSS comes inside it: it adds a <style> with the page's nonce). */
const MEMBER = "package/dist/browser/standalone.js";
export const ASSETS_DIR = join(ROOT, "public");
/**
 * The URL path prefixes of the files in ASSETS_DIR: wrangler.toml's run_worker_first excludes exactly these, and
 * sends every other path to the Worker, so no file can shadow a route.
 */
export const ASSETS_PATHS = ["/docs/assets/", "/admin/assets/"];
const SCALAR_DIR = join(ASSETS_DIR, "docs/assets");
const DASHBOARD_DIR = join(ASSETS_DIR, "admin/assets");
export const DASHBOARD_SOURCE = join(ROOT, "src/features/admin/dashboard/client.browser.js");
/** What the Worker imports (page.tsx): `{ path, integrity }` of the dashboard's script in ASSETS_DIR. */
export const DASHBOARD_ASSET_MODULE = join(ROOT, "src/features/admin/dashboard/script-asset.json");

// Every name changes with what is in the file, so a browser may keep it for good (Workers Static Assets read _headers).
const HEADERS = ASSETS_PATHS.map(
  (path) => `${path}*
  Cache-Control: public, max-age=31536000, immutable
  X-Content-Type-Options: nosniff
`,
).join("");

/** The version src/features/system/scalar.json pins; the Worker names the script with the same (docs.ts). */
export function pinnedVersion() {
  return PIN.version;
}

/** Where the dashboard's script with these bytes is served, and its integrity (the `<script integrity>` the browser checks). */
export function dashboardScriptAsset(bytes = readFileSync(DASHBOARD_SOURCE)) {
  const digest = createHash("sha256").update(bytes).digest();
  return { path: `/admin/assets/dashboard-${digest.toString("hex").slice(0, 12)}.js`, integrity: `sha256-${digest.toString("base64")}` };
}

/** Through a temporary file: `npm run dev` and a test run may write at the same time. Unchanged files are left alone. */
function writeIfChanged(path, content) {
  if (existsSync(path) && readFileSync(path).equals(Buffer.from(content))) return;
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, path);
}

/** Removes the files of `directory` that match `pattern`, except `kept`. */
function removeOthers(directory, pattern, kept) {
  for (const file of readdirSync(directory)) {
    if (pattern.test(file) && join(directory, file) !== kept) rmSync(join(directory, file), { force: true });
  }
}

const integrityOf = (bytes) => `sha512-${createHash("sha512").update(bytes).digest("base64")}`;

/** The pinned package's tarball, from node_modules/.cache or else through `npm pack`; throws unless it matches the pin. */
function pinnedTarball() {
  const tarball = join(CACHE_DIR, `scalar-api-reference-${PIN.version}.tgz`);
  if (!existsSync(tarball)) {
    mkdirSync(CACHE_DIR, { recursive: true });
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const pack = spawnSync(
      npm,
      ["pack", `${PIN.package}@${PIN.version}`, "--pack-destination", CACHE_DIR, "--prefer-offline", "--silent"],
      {
        encoding: "utf8",
        shell: process.platform === "win32",
      },
    );
    if (pack.status !== 0) throw new Error(`npm pack ${PIN.package}@${PIN.version} failed:\n${pack.stderr}`);
  }
  const bytes = readFileSync(tarball);
  if (integrityOf(bytes) !== PIN.integrity) {
    rmSync(tarball, { force: true });
    throw new Error(`${tarball} does not match the integrity pinned in src/features/system/scalar.json; removed it, run again`);
  }
  return tarball;
}

function writeScalarScript() {
  const script = join(SCALAR_DIR, `scalar-${PIN.version}.js`);
  if (!existsSync(script)) {
    const untar = spawnSync("tar", ["-xzOf", pinnedTarball(), MEMBER], { maxBuffer: 64 * 1024 * 1024 });
    if (untar.status !== 0) throw new Error(`tar could not read ${MEMBER}:\n${untar.stderr}`);
    // Without its last line, `//# sourceMappingURL=standalone.js.map`.
    writeIfChanged(script, untar.stdout.toString("utf8").replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n"));
  }
  removeOthers(SCALAR_DIR, /^scalar-.+\.js$/, script);
  return script;
}

function writeDashboardScript() {
  const bytes = readFileSync(DASHBOARD_SOURCE);
  const asset = dashboardScriptAsset(bytes);
  const script = join(ASSETS_DIR, asset.path);
  writeIfChanged(script, bytes);
  removeOthers(DASHBOARD_DIR, /^dashboard-.+\.js$/, script);
  // After the file: a Worker that names it finds it.
  writeIfChanged(DASHBOARD_ASSET_MODULE, `${JSON.stringify(asset, null, 2)}\n`);
  return script;
}

/** Writes public/ and script-asset.json where they are not up to date; answers the scripts' paths. */
export function writeStaticAssets() {
  const scripts = [writeScalarScript(), writeDashboardScript()];
  writeIfChanged(join(ASSETS_DIR, "_headers"), HEADERS);
  return scripts;
}

/** `node scripts/static-assets.mjs` writes them and prints the scripts' paths. */
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(writeStaticAssets().join("\n"));
}
