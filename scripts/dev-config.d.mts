// Types of dev-config.mjs, for vitest.config.ts.
export const DEV_CONFIG: string;
export const TEST_CONFIG: string;
export function devConfigOf(production: Record<string, unknown>): Record<string, unknown>;
export function rebasedConfig(config: Record<string, unknown>, directory: string): Record<string, unknown>;
export function writeDevConfig(path?: string): Promise<string>;
