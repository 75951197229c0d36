// The Worker's static assets (wrangler.toml `[assets]`, directory public/, not committed): the script of the /docs
// page, the browser build of Scalar's API reference, and the `_headers` that let browsers keep it.
//
// The build is one file of the npm package @scalar/api-reference (dist/browser/standalone.js, styles included).
// The package is not a dependency: installing it brings 277 packages (Vue, an AI SDK, …) that the one prebuilt
// file does not need. Instead the version and the registry's integrity pinned in src/features/system/scalar.json
// are fetched with `npm pack` (npm's cache, the registry `npm install` uses), checked, kept in
// node_modules/.cache/, and the file is copied (less its source-map comment: the 20 MB map is not served) under a
// name carrying its version. `npm install` (postinstall), `npm run dev`, the tests (vitest.config.ts,
// bench/lib.mjs), `npm run build:check` and `npm run deploy` write it; what is already in place is kept.
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
const SCRIPT_DIR = join(ASSETS_DIR, "docs/assets");
/** The URL path prefix of everything in ASSETS_DIR; wrangler.toml's run_worker_first sends every other path to the Worker. */
export const ASSETS_PATH = "/docs/assets/";

// The name changes with the version, so a browser may keep it for a year (Workers Static Assets read _headers).
const HEADERS = `${ASSETS_PATH}*
  Cache-Control: public, max-age=31536000, immutable
  X-Content-Type-Options: nosniff
`;

/** The version src/features/system/scalar.json pins; the Worker names the script with the same (docs.ts). */
export function pinnedVersion() {
  return PIN.version;
}

/** Through a temporary file: `npm run dev` and a test run may write at the same time. */
function writeAtomically(path, text) {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
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

/** Writes public/ unless it is in place; answers the script's path. */
export function writeDocsAssets() {
  const script = join(SCRIPT_DIR, `scalar-${PIN.version}.js`);
  if (!existsSync(script)) {
    const untar = spawnSync("tar", ["-xzOf", pinnedTarball(), MEMBER], { maxBuffer: 64 * 1024 * 1024 });
    if (untar.status !== 0) throw new Error(`tar could not read ${MEMBER}:\n${untar.stderr}`);
    // Without its last line, `//# sourceMappingURL=standalone.js.map`.
    const text = untar.stdout.toString("utf8").replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n");
    mkdirSync(SCRIPT_DIR, { recursive: true });
    writeAtomically(script, text);
  }
  // Only this version's script: an older one would still be uploaded.
  for (const file of readdirSync(SCRIPT_DIR)) {
    if (/^scalar-.+\.js$/.test(file) && join(SCRIPT_DIR, file) !== script) rmSync(join(SCRIPT_DIR, file), { force: true });
  }
  const headers = join(ASSETS_DIR, "_headers");
  if (!existsSync(headers) || readFileSync(headers, "utf8") !== HEADERS) writeAtomically(headers, HEADERS);
  return script;
}

/** `node scripts/docs-assets.mjs` writes them and prints the script's path. */
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(writeDocsAssets());
}
