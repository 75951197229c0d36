import type { AppContext } from "../../platform/context";
import { requireRole } from "../../platform/middleware";
import { operationsDeps, type OperationsDeps } from "../../jobs/operations-deps";

export const tags = ["Admin"];
export const security = [{ Bearer: [] }];
export const platformAdmin = requireRole("platform_admin");

/** The request's `waitUntil`, so alert posts finish after the response; undefined outside a real request. */
export function waitUntilOf(c: AppContext): ((promise: Promise<unknown>) => void) | undefined {
  try {
    const ctx = c.executionCtx;
    return (promise) => ctx.waitUntil(promise);
  } catch {
    return undefined; // Hono throws when the app runs without an execution context (app.request in unit tests)
  }
}

export function adminOperationsDeps(c: AppContext): OperationsDeps {
  return operationsDeps({
    env: c.env,
    settings: c.var.settings,
    log: c.var.log,
    db: c.var.db,
    box: c.var.secrets,
    cost: c.var.cost,
    waitUntil: waitUntilOf(c),
  });
}
