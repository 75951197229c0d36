// The Worker's static assets (wrangler.toml `[assets]`, directory public/, not committed): the script of the /docs
// page, Scalar's API reference as its npm package (@scalar/api-reference, pinned in package.json) builds it for the
// browser, copied from node_modules (less its source map comment) under a name carrying its version, and the `_headers` that let browsers keep it.
// `npm run dev`, the tests (vitest.config.ts, bench/lib.mjs), `npm run build:check` and `npm run deploy` write it
// first; a file already in place is kept.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PACKAGE = "@scalar/api-reference";
const PACKAGE_DIR = join(ROOT, "node_modules", PACKAGE);
/** The one file the browser build is (its CSS comes inside it: it adds a <style> with the page's nonce). */
const SOURCE = join(PACKAGE_DIR, "dist/browser/standalone.js");
export const ASSETS_DIR = join(ROOT, "public");
const SCRIPT_DIR = join(ASSETS_DIR, "docs/assets");
/** The URL path prefix of everything in ASSETS_DIR; wrangler.toml's run_worker_first sends every other path to the Worker. */
export const ASSETS_PATH = "/docs/assets/";

// The name changes with the version, so a browser may keep it for a year (Workers Static Assets read _headers).
const HEADERS = `${ASSETS_PATH}*
  Cache-Control: public, max-age=31536000, immutable
  X-Content-Type-Options: nosniff
`;

/** The version package.json pins; the Worker names the script with the same (src/features/system/docs.ts). */
export function pinnedVersion() {
  return JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).devDependencies[PACKAGE];
}

/** Through a temporary file: `npm run dev` and a test run may write at the same time. */
function writeAtomically(path, write) {
  const temporary = `${path}.${process.pid}.tmp`;
  write(temporary);
  renameSync(temporary, path);
}

/** Writes public/ unless it is in place; answers the script's path. Throws when node_modules holds another version than the pin. */
export function writeDocsAssets() {
  const pinned = pinnedVersion();
  const installed = existsSync(PACKAGE_DIR) ? JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8")).version : "none";
  if (installed !== pinned)
    throw new Error(`${PACKAGE} ${pinned} is pinned in package.json but ${installed} is installed: run npm install`);

  const script = join(SCRIPT_DIR, `scalar-${pinned}.js`);
  mkdirSync(SCRIPT_DIR, { recursive: true });
  // Without its last line, `//# sourceMappingURL=standalone.js.map`: the 20 MB map is not served.
  const text = readFileSync(SOURCE, "utf8").replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n");
  if (!existsSync(script) || readFileSync(script, "utf8") !== text) writeAtomically(script, (to) => writeFileSync(to, text));
  // Only this version's script: an older one would still be uploaded.
  for (const file of readdirSync(SCRIPT_DIR)) {
    if (/^scalar-.+\.js$/.test(file) && join(SCRIPT_DIR, file) !== script) rmSync(join(SCRIPT_DIR, file), { force: true });
  }
  const headers = join(ASSETS_DIR, "_headers");
  if (!existsSync(headers) || readFileSync(headers, "utf8") !== HEADERS) writeAtomically(headers, (to) => writeFileSync(to, HEADERS));
  return script;
}

/** `node scripts/docs-assets.mjs` writes them and prints the script's path. */
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(writeDocsAssets());
}
