import type { Env } from "../env";
import { createLogger, type Logger } from "../platform/log";
import { loadSettings } from "../platform/settings";
import { deliverPendingAlerts } from "../features/alerts/alerts";
import { reviewAlerts } from "../features/alerts/review";
import { runCleanup } from "../features/numbers/cleanup";
import { pruneIdempotencyKeys } from "../platform/idempotency";
import { removeStrayAssistants } from "../features/assistants/reconcile";
import { reconcileNumbers } from "../features/numbers/reconcile";
import { sweepProvisioning } from "../features/provisioning/sweep";
import { createServices } from "../services";
import { repairInterruptedCreations, repairInterruptedDeletions } from "../features/assistants/repair";

/** Cron expressions of wrangler.toml, by job. */
const CRON_SWEEP = "*/5 * * * *";
const CRON_DAILY = "17 3 * * *";

/**
 * Dispatches a Cron Trigger to its jobs. Each job logs its own outcome, and a failing job is logged without
 * stopping the ones after it.
 */
export async function runScheduled(controller: ScheduledController, env: Env, ctx?: Pick<ExecutionContext, "waitUntil">): Promise<void> {
  const settings = loadSettings(env);
  const log = createLogger({ cron: controller.cron });
  // The cron creates no Vapi number, so no webhook URL is needed when PUBLIC_URL is unset.
  const deps = createServices({
    env,
    settings,
    log,
    publicUrl: settings.PUBLIC_URL ?? "",
    waitUntil: ctx ? (promise) => ctx.waitUntil(promise) : undefined,
  });
  const db = deps.db;
  const now = controller.scheduledTime;

  if (controller.cron === CRON_SWEEP) {
    await runJob(log, "provisioning_sweep", () => sweepProvisioning(deps, now));
    await runJob(log, "interrupted_creations", () => repairInterruptedCreations(db, deps.vapi, log, now));
    await runJob(log, "interrupted_deletions", () => repairInterruptedDeletions(deps, now));
    await runJob(log, "alert_review", () => reviewAlerts(deps, new Date(now).toISOString()));
    const notifier = deps.alerts.notifier;
    if (notifier) await runJob(log, "alert_delivery", () => deliverPendingAlerts(db, log, notifier));
  } else if (controller.cron === CRON_DAILY) {
    await runJob(log, "reconcile_numbers", () => reconcileNumbers(deps, now));
    await runJob(log, "reconcile_assistants", () => removeStrayAssistants(deps, now));
    await runJob(log, "cleanup", () => runCleanup(deps, { nowMs: now, dryRun: false }));
    await runJob(log, "idempotency_keys", async () => ({ pruned: await pruneIdempotencyKeys(db, now) }));
  } else {
    log.warn("cron_unknown", { message: `No job is scheduled for "${controller.cron}"; check wrangler.toml triggers.` });
  }
}

/** Runs one job; its summary (or failure) is logged as `job_done` / `job_failed`. */
async function runJob(log: Logger, job: string, run: () => Promise<unknown>): Promise<void> {
  const started = Date.now();
  try {
    const result = await run();
    log.info("job_done", { job, ms: Date.now() - started, ...summary(result) });
  } catch (error) {
    log.error("job_failed", { job, ms: Date.now() - started, error });
  }
}

/** Counts rather than lists: a job's report may name hundreds of numbers. */
function summary(result: unknown): Record<string, unknown> {
  if (typeof result === "number") return { count: result };
  if (!result || typeof result !== "object") return {};
  return Object.fromEntries(Object.entries(result).map(([key, value]) => [key, Array.isArray(value) ? value.length : value]));
}
