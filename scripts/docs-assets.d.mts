// Types of docs-assets.mjs, for vitest.config.ts.
export const ASSETS_DIR: string;
export const ASSETS_PATH: string;
export function pinnedVersion(): string;
export function writeDocsAssets(): string;
