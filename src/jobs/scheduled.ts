import { createDb } from "../db/client";
import type { Env } from "../env";
import { createLogger } from "../lib/log";
import { loadSettings } from "../lib/settings";
import { createUpstreams } from "../providers";
import { pruneIdempotencyKeys } from "../services/idempotency";
import { repairInterruptedCreations } from "./repair-creations";
import { sweepProvisioning } from "../services/provisioning-sweep";
import { trackerStub } from "../durable-objects/provisioning-tracker";

/** Cron expressions of wrangler.toml, by job. */
export const CRON_SWEEP = "*/5 * * * *";
export const CRON_DAILY = "17 3 * * *";

/** Dispatches a Cron Trigger to its jobs; each job logs its own outcome. */
export async function runScheduled(controller: ScheduledController, env: Env): Promise<void> {
  const settings = loadSettings(env);
  const log = createLogger({ cron: controller.cron });
  const db = createDb(env.DB);
  const upstreams = createUpstreams(env, settings, log);

  if (controller.cron === CRON_SWEEP) {
    const provisioning = await sweepProvisioning(
      {
        db,
        log,
        resumeTracker: async (key, request) => ({ rearmed: (await trackerStub(env, key).start(request)).rearmed }),
        stopTracker: (key) => trackerStub(env, key).stop("stuck"),
      },
      controller.scheduledTime,
    );
    const repaired = await repairInterruptedCreations(db, upstreams.vapi, log, controller.scheduledTime);
    log.info("sweep_done", { ...provisioning, interrupted_creations_repaired: repaired });
  } else if (controller.cron === CRON_DAILY) {
    const pruned = await pruneIdempotencyKeys(db, controller.scheduledTime);
    log.info("daily_done", { idempotency_keys_pruned: pruned });
  } else {
    log.warn("cron_unknown", { message: `No job is scheduled for "${controller.cron}"; check wrangler.toml triggers.` });
  }
}
