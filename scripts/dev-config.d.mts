// Types of dev-config.mjs, for vitest.config.ts.
export const DEV_CONFIG: string;
export function devConfigOf(production: Record<string, unknown>): Record<string, unknown>;
export function writeDevConfig(): Promise<string>;
