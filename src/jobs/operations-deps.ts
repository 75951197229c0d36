import type { Db, RequestCost } from "../db/client";
import { trackerStarter, trackerStub } from "../durable-objects/provisioning-tracker";
import type { Env } from "../env";
import type { SecretBox } from "../lib/crypto";
import type { Logger } from "../lib/log";
import type { Settings } from "../lib/settings";
import { createAlertWebhook, createTwilio, createUpstreams } from "../providers";
import type { AlertOptions } from "../services/alerts";
import type { CleanupDeps } from "../services/cleanup";
import type { AssistantReconcileDeps } from "../services/reconcile-assistants";
import type { ReconcileDeps } from "../services/reconcile";
import { loadTwilioCredentials } from "../services/organizations";
import type { AlertReviewDeps } from "../services/alert-review";

export interface OperationsScope {
  env: Env;
  settings: Settings;
  log: Logger;
  db: Db;
  box: SecretBox;
  cost?: RequestCost;
  /** `ctx.waitUntil` of the cron run, or the request's; alert posts run there instead of being awaited. */
  waitUntil?: (promise: Promise<unknown>) => void;
}

export type OperationsDeps = CleanupDeps & ReconcileDeps & AssistantReconcileDeps & AlertReviewDeps & { alerts: AlertOptions };

/** The dependencies of the operations services (cleanup, reconcile, alert review), for a cron run or an admin request. */
export function operationsDeps(scope: OperationsScope): OperationsDeps {
  const { env, settings, log, db, box, cost } = scope;
  return {
    db,
    log,
    settings,
    vapi: createUpstreams(env, settings, log, cost).vapi,
    twilioForOrg: async (orgId) => {
      const loaded = await loadTwilioCredentials(db, box, orgId);
      return loaded ? createTwilio(env, settings, log, loaded.credentials, cost) : null;
    },
    stopTracker: (key) => trackerStub(env, key).stop("stopped"),
    startTracking: trackerStarter(env),
    alerts: { notifier: createAlertWebhook(env, settings, log, cost), waitUntil: scope.waitUntil },
  };
}
