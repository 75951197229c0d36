import type { Db, RequestCost } from "../db/client";
import { trackerStarter, trackerStub } from "../features/provisioning/tracker";
import type { Env } from "../env";
import type { SecretBox } from "../platform/crypto";
import type { Logger } from "../platform/log";
import type { Settings } from "../platform/settings";
import { createAlertWebhook, createTwilio, createUpstreams } from "../integrations/index";
import type { AlertOptions } from "../features/alerts/alerts";
import type { CleanupDeps } from "../features/numbers/cleanup";
import type { AssistantReconcileDeps } from "../features/assistants/reconcile";
import type { ReconcileDeps } from "../features/numbers/reconcile";
import { loadTwilioCredentials } from "../features/organization/twilio-settings";
import type { AlertReviewDeps } from "../features/alerts/review";

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
