// The dev entry's wrangler config (wrangler.dev.jsonc, not committed), written from wrangler.toml so that vars and
// bindings have one source: the production config plus what only development has, the upstream simulator
// (dev/index.ts as the entry, its Durable Object and its binding). `npm run dev`, the tests (vitest.config.ts) and
// the throwaway servers of the benchmarks and the browser test (bench/lib.mjs) all use it; the tests use a copy.
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PRODUCTION_CONFIG = join(ROOT, "wrangler.toml");
/** At the repository root, like wrangler.toml: relative paths, .dev.vars and .wrangler/state stay where they are. */
export const DEV_CONFIG = join(ROOT, "wrangler.dev.jsonc");
/**
 * The tests' copy (vitest.config.ts), away from the repository's .dev.vars: wrangler reads the .dev.vars beside its
 * config into the bindings, so a developer's local settings would change the tests (and be announced, "Using
 * secrets defined in .dev.vars", on every run). The tests give every setting themselves (test/settings.ts).
 */
export const TEST_CONFIG = join(ROOT, ".wrangler/vitest/wrangler.jsonc");

const DEV_MAIN = "dev/index.ts";
const SANDBOX_CLASS = "UpstreamSandbox";
const SANDBOX_BINDING = { name: "UPSTREAM_SANDBOX", class_name: SANDBOX_CLASS };

/** The dev config from a production config (wrangler's raw config object). */
export function devConfigOf(production) {
  const bindings = production.durable_objects?.bindings ?? [];
  return {
    ...production,
    main: DEV_MAIN,
    minify: false, // local stack traces stay readable
    durable_objects: { ...production.durable_objects, bindings: [...bindings, SANDBOX_BINDING] },
    // Production deletes the simulator's class (its migration v2); development keeps it.
    migrations: (production.migrations ?? [])
      .map(({ deleted_classes, ...migration }) => {
        const deleted = (deleted_classes ?? []).filter((name) => name !== SANDBOX_CLASS);
        return deleted.length > 0 ? { ...migration, deleted_classes: deleted } : migration;
      })
      .filter((migration) => Object.keys(migration).length > 1),
  };
}

/** The config's paths (relative to the repository root in wrangler.toml) made relative to another directory. */
export function rebasedConfig(config, directory) {
  const from = (path) => relative(directory, join(ROOT, path));
  return {
    ...config,
    main: from(config.main),
    d1_databases: config.d1_databases?.map((d1) => (d1.migrations_dir ? { ...d1, migrations_dir: from(d1.migrations_dir) } : d1)),
    ...(config.assets?.directory ? { assets: { ...config.assets, directory: from(config.assets.directory) } } : {}),
  };
}

const mtime = (path) => statSync(path).mtimeMs;
const isFresh = (path) => existsSync(path) && mtime(path) >= Math.max(mtime(PRODUCTION_CONFIG), mtime(fileURLToPath(import.meta.url)));

/** Writes wrangler.dev.jsonc (or the config at `path`) unless it is newer than wrangler.toml and this script; answers its path. */
export async function writeDevConfig(path = DEV_CONFIG) {
  if (isFresh(path)) return path;
  // Imported only when needed: loading wrangler takes seconds.
  const { experimental_readRawConfig } = await import("wrangler");
  const { rawConfig } = experimental_readRawConfig({ config: PRODUCTION_CONFIG });
  const text =
    "// Written by scripts/dev-config.mjs from wrangler.toml, plus the upstream simulator. Edit those, not this file.\n" +
    `${JSON.stringify(rebasedConfig(devConfigOf(rawConfig), dirname(path)), null, 2)}\n`;
  // Through a temporary file: `npm run dev` and a test run may write it at the same time.
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
  return path;
}

/** `node scripts/dev-config.mjs` writes it and prints its path. */
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(await writeDevConfig());
}
