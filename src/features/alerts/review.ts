import { and, eq, sql, type SQL } from "drizzle-orm";
import { alerts } from "../../db/schema";
import { raiseAlert, resolveAlert, type AlertKind } from "./alerts";
import { FREE_NUMBERS_HELD, poolStatsQuery, toPoolStats, type PoolStats } from "../numbers/pool";
import { outsideFreeNumbersOf, readVapiAccount } from "../numbers/account";
import type { Services } from "../../services";

type AlertReviewDeps = Pick<Services, "db" | "log" | "settings"> & Partial<Pick<Services, "alerts">>;

interface AlertChange {
  kind: string;
  subject: string;
}

interface AlertReview {
  raised: AlertChange[];
  resolved: AlertChange[];
}

/** Free numbers held at or above this share of the limit raise `pool_near_limit`. */
const NEAR_LIMIT_SHARE = 0.8;

/**
 * The 5-minute review: resolves every alert whose condition has cleared (one batch of guarded UPDATEs), then
 * raises or resolves `pool_near_limit` from the pool's numbers. `orphan_adopted` stays until an operator
 * resolves it; `calendar_reconnect_required` is resolved by the calendar code when the organisation reconnects.
 */
export async function reviewAlerts(deps: AlertReviewDeps, at = new Date().toISOString()): Promise<AlertReview> {
  const { db } = deps;
  const limit = deps.settings.VAPI_FREE_NUMBER_LIMIT;
  const resolveWhen = (kind: AlertKind, cleared: SQL) =>
    db
      .update(alerts)
      .set({ status: "resolved", resolvedAt: at })
      .where(and(eq(alerts.kind, kind), eq(alerts.status, "open"), cleared))
      .returning({ kind: alerts.kind, subject: alerts.subject });

  const [statsRows, account, ...cleared] = await db.batch([
    poolStatsQuery(db),
    readVapiAccount(db),
    // Room for a new free number, or an unassigned shared number, means the next request gets one.
    resolveWhen(
      "pool_exhausted",
      sql`(${FREE_NUMBERS_HELD} < ${limit}
           OR EXISTS (SELECT 1 FROM phone_numbers WHERE status = 'active' AND assistant_id IS NULL AND org_id IS NULL))`,
    ),
    // A free number made after the refusal: Vapi accepts numbers again.
    resolveWhen(
      "vapi_refused_number",
      sql`EXISTS (SELECT 1 FROM phone_numbers p WHERE p.source = 'vapi_free' AND p.vapi_phone_number_id IS NOT NULL AND p.created_at > alerts.created_at)`,
    ),
    // A free number made in that area code after the refusal: Vapi has numbers there again.
    resolveWhen(
      "vapi_area_code_unavailable",
      sql`EXISTS (SELECT 1 FROM phone_numbers p WHERE p.source = 'vapi_free' AND p.area_code = alerts.subject AND p.vapi_phone_number_id IS NOT NULL AND p.created_at > alerts.created_at)`,
    ),
    resolveWhen(
      "twilio_numbers_exhausted",
      sql`(EXISTS (SELECT 1 FROM twilio_numbers t WHERE t.org_id = alerts.subject AND t.state = 'listed')
           OR EXISTS (SELECT 1 FROM phone_numbers p WHERE p.org_id = alerts.subject AND p.status = 'active' AND p.assistant_id IS NULL)
           OR EXISTS (SELECT 1 FROM organizations o WHERE o.id = alerts.subject AND o.twilio_auto_purchase = 1 AND o.twilio_credentials IS NOT NULL))`,
    ),
    resolveWhen(
      "provisioning_stuck",
      sql`NOT EXISTS (SELECT 1 FROM phone_numbers p WHERE p.id = alerts.subject AND p.status IN ('provisioning', 'stuck'))`,
    ),
    resolveWhen("provisioning_failed", sql`NOT EXISTS (SELECT 1 FROM phone_numbers p WHERE p.id = alerts.subject AND p.status = 'failed')`),
  ]);
  const review: AlertReview = { raised: [], resolved: cleared.flat() };
  const nearLimit = await checkPoolNearLimit(deps, toPoolStats(statsRows, limit, outsideFreeNumbersOf(account)), at);
  if (nearLimit === "raised") review.raised.push({ kind: "pool_near_limit", subject: "pool" });
  if (nearLimit === "resolved") review.resolved.push({ kind: "pool_near_limit", subject: "pool" });
  if (review.raised.length + review.resolved.length > 0) deps.log.info("alerts_reviewed", { ...review });
  return review;
}

function isNearLimit(stats: Pick<PoolStats, "free_numbers" | "limit">): boolean {
  // A limit of 0 means no free numbers at all (Twilio only): nothing to be near.
  return stats.limit > 0 && stats.free_numbers >= stats.limit * NEAR_LIMIT_SHARE;
}

/** Raises `pool_near_limit` at ≥ 80 % of the free-number limit, resolves it below (one statement either way). */
async function checkPoolNearLimit(
  deps: AlertReviewDeps,
  stats: Pick<PoolStats, "free_numbers" | "limit">,
  at = new Date().toISOString(),
): Promise<"raised" | "resolved" | "unchanged"> {
  if (isNearLimit(stats)) {
    const percent = Math.round((stats.free_numbers / stats.limit) * 100);
    const opened = await raiseAlert(
      deps.db,
      deps.log,
      {
        kind: "pool_near_limit",
        subject: "pool",
        message:
          `${stats.free_numbers} of ${stats.limit} free Vapi numbers are held (${percent}%). New assistants will soon need a number from an ` +
          "organization's Twilio account. Delete assistants nobody uses, run the cleanup, or raise VAPI_FREE_NUMBER_LIMIT if the Vapi plan allows.",
        detail: { free_numbers: stats.free_numbers, limit: stats.limit },
      },
      deps.alerts,
    );
    return opened ? "raised" : "unchanged";
  }
  const resolved = await resolveAlert(deps.db, "pool_near_limit", "pool", at).returning({ id: alerts.id });
  return resolved.length > 0 ? "resolved" : "unchanged";
}

/** After a change to the pool (pre-provision, cleanup): the near-limit alert follows at once, not at the next cron. */
export async function recheckPoolNearLimit(deps: AlertReviewDeps): Promise<void> {
  try {
    const [statsRows, account] = await deps.db.batch([poolStatsQuery(deps.db), readVapiAccount(deps.db)]);
    await checkPoolNearLimit(deps, toPoolStats(statsRows, deps.settings.VAPI_FREE_NUMBER_LIMIT, outsideFreeNumbersOf(account)));
  } catch (error) {
    deps.log.error("pool_alert_check_failed", { error });
  }
}
