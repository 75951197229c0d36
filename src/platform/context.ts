import type { Context } from "hono";
import type { Db, RequestCost } from "../db/client";
import type { Env } from "../env";
import type { Upstreams } from "../integrations/index";
import type { Caller } from "./auth";
import { ApiError } from "./errors";
import type { SecretBox } from "./crypto";
import type { Logger } from "./log";
import type { Settings } from "./settings";

/** What every request carries, set by the app's middleware. */
export interface AppVariables {
  requestId: string;
  settings: Settings;
  db: Db;
  cost: RequestCost;
  log: Logger;
  upstreams: Upstreams;
  caller: Caller;
  /** AES-GCM for secrets at rest (ENCRYPTION_KEY, and ENCRYPTION_KEY_PREVIOUS while rotating). */
  secrets: SecretBox;
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
    throw new ApiError(403, "organization_required", "This route acts on an organization, and your token names none (a platform admin token without an organization claim).");
  }
  return orgId;
}

/** The public base URL of this deployment (PUBLIC_URL, else the request's own origin). */
export function publicUrl(c: AppContext): string {
  return (c.var.settings.PUBLIC_URL ?? new URL(c.req.url).origin).replace(/\/+$/, "");
}
