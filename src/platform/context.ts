import type { Context } from "hono";
import type { Db, RequestCost } from "../db/client";
import type { Env } from "../env";
import type { Caller } from "./auth";
import { ApiError } from "./errors";
import type { Logger } from "./log";
import type { Settings } from "./settings";
import type { Services } from "../services";

/** What every request carries, set by the app's middleware. */
interface AppVariables {
  requestId: string;
  settings: Settings;
  db: Db;
  cost: RequestCost;
  log: Logger;
  caller: Caller;
  /** What the rules use, built once for the request (clients on first use). */
  services: Services;
}

export interface AppEnv {
  Bindings: Env;
  Variables: AppVariables;
}

export type AppContext = Context<AppEnv>;

/** The caller's organisation; only platform admins may have none, and they get a 403 here. */
export function orgOf(c: AppContext): string {
  const orgId = c.var.caller.orgId;
  if (!orgId) {
    throw new ApiError(
      403,
      "organization_required",
      "This route acts on an organization, and your token names none (a platform admin token without an organization claim).",
    );
  }
  return orgId;
}

/** The public base URL of this deployment (PUBLIC_URL, else the request's own origin). */
export function publicUrl(c: AppContext): string {
  return (c.var.settings.PUBLIC_URL ?? new URL(c.req.url).origin).replace(/\/+$/, "");
}

/** The request's `waitUntil`, so alert posts finish after the response; undefined outside a real request. */
export function waitUntilOf(c: AppContext): ((promise: Promise<unknown>) => void) | undefined {
  try {
    const ctx = c.executionCtx;
    return (promise) => ctx.waitUntil(promise);
  } catch {
    return undefined; // Hono throws when the app runs without an execution context (app.request in unit tests)
  }
}
