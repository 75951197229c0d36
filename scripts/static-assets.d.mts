// Types of static-assets.mjs, for vitest.config.ts.
export const ASSETS_DIR: string;
export const ASSETS_PATHS: string[];
export const DASHBOARD_SOURCE: string;
export const DASHBOARD_ASSET_MODULE: string;
export function pinnedVersion(): string;
export function dashboardScriptAsset(bytes?: Uint8Array): { path: string; integrity: string };
export function writeStaticAssets(): string[];
