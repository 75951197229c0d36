import { and, asc, desc, eq, isNull } from "drizzle-orm";
import type { Db } from "../../db/client";
import { alerts } from "../../db/schema";
import type { Logger } from "../../platform/log";

export const ALERT_KINDS = [
  "pool_near_limit",
  "pool_exhausted",
  "vapi_refused_number",
  "vapi_area_code_unavailable",
  "twilio_numbers_exhausted",
  "provisioning_stuck",
  "provisioning_failed",
  "calendar_reconnect_required",
  "orphan_adopted",
  "calls_over_cap",
  "cleanup_backlog",
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

type AlertRow = typeof alerts.$inferSelect;

interface NewAlert {
  kind: AlertKind;
  subject: string;
  message: string;
  detail?: Record<string, unknown>;
}

/** Where new alerts are posted (ALERT_WEBHOOK_URL), as `{"text": …}`. */
interface AlertNotifier {
  post(text: string): Promise<void>;
}

/**
 * How a new alert reaches people beyond the dashboard. Without a notifier an alert is only recorded; the
 * 5-minute cron posts open alerts nobody was notified of (`deliverPendingAlerts`).
 */
export interface AlertOptions {
  notifier?: AlertNotifier | null;
  /** Lets the post finish after the response (`c.executionCtx.waitUntil`, `ctx.waitUntil`); without it the post is awaited. */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/**
 * Opens an alert unless one of the same kind and subject is already open (the partial unique index makes
 * this one statement), and posts a new one to the webhook. Returns true when a new alert was opened.
 */
export async function raiseAlert(db: Db, log: Logger, alert: NewAlert, options: AlertOptions = {}): Promise<boolean> {
  const [opened] = await db
    .insert(alerts)
    .values({ ...alert, detail: alert.detail ?? null, status: "open", createdAt: new Date().toISOString() })
    .onConflictDoNothing()
    .returning();
  if (!opened) return false;
  log.warn("alert_opened", { alert_id: opened.id, kind: alert.kind, subject: alert.subject, message: alert.message });
  if (options.notifier) {
    const delivery = deliverAlert(db, log, options.notifier, opened);
    if (options.waitUntil) options.waitUntil(delivery);
    else await delivery;
  }
  return true;
}

/** Resolves the open alert of this kind and subject, if any (a statement, so it can join a batch). */
export function resolveAlert(db: Db, kind: AlertKind, subject: string, at = new Date().toISOString()) {
  return db
    .update(alerts)
    .set({ status: "resolved", resolvedAt: at })
    .where(and(eq(alerts.kind, kind), eq(alerts.subject, subject), eq(alerts.status, "open")));
}

/** An operator resolves an alert by id; null when there is no such alert. Resolving a resolved alert changes nothing. */
export async function resolveAlertById(db: Db, id: number, at = new Date().toISOString()): Promise<AlertRow | null> {
  const [resolved, [current]] = await db.batch([
    db
      .update(alerts)
      .set({ status: "resolved", resolvedAt: at })
      .where(and(eq(alerts.id, id), eq(alerts.status, "open")))
      .returning(),
    db.select().from(alerts).where(eq(alerts.id, id)),
  ]);
  return resolved[0] ?? current ?? null;
}

export const openAlertsQuery = (db: Db, limit = 100) =>
  db.select().from(alerts).where(eq(alerts.status, "open")).orderBy(desc(alerts.id)).limit(limit);

const alertText = (alert: Pick<AlertRow, "kind" | "subject" | "message">) =>
  `[Switchboard] ${alert.kind} (${alert.subject}): ${alert.message}`;

/**
 * Posts one alert, at most once: `notified_at` is claimed by a guarded UPDATE before the post, so concurrent
 * deliveries (a request and the cron) cannot both send it. A failed post is logged, not retried: it may have
 * arrived (a timeout), and a second message is worse than a missing one the dashboard still shows.
 */
export async function deliverAlert(
  db: Db,
  log: Logger,
  notifier: AlertNotifier,
  alert: Pick<AlertRow, "id" | "kind" | "subject" | "message">,
): Promise<boolean> {
  try {
    const [claimed] = await db
      .update(alerts)
      .set({ notifiedAt: new Date().toISOString() })
      .where(and(eq(alerts.id, alert.id), isNull(alerts.notifiedAt)))
      .returning({ id: alerts.id });
    if (!claimed) return false;
    await notifier.post(alertText(alert));
    log.info("alert_posted", { alert_id: alert.id, kind: alert.kind, subject: alert.subject });
    return true;
  } catch (error) {
    log.error("alert_post_failed", { alert_id: alert.id, kind: alert.kind, subject: alert.subject, error });
    return false;
  }
}

/** Posts open alerts that were raised without a notifier (by code paths that have no webhook client). */
export async function deliverPendingAlerts(db: Db, log: Logger, notifier: AlertNotifier, limit = 20): Promise<number> {
  const pending = await db
    .select()
    .from(alerts)
    .where(and(eq(alerts.status, "open"), isNull(alerts.notifiedAt)))
    .orderBy(asc(alerts.id))
    .limit(limit);
  let posted = 0;
  for (const alert of pending) if (await deliverAlert(db, log, notifier, alert)) posted++;
  return posted;
}

export interface AlertView {
  id: number;
  kind: AlertKind;
  subject: string;
  status: "open" | "resolved";
  message: string;
  detail: Record<string, unknown> | null;
  created_at: string;
  resolved_at: string | null;
  notified_at: string | null;
}

export const toAlertView = (row: AlertRow): AlertView => ({
  id: row.id,
  kind: row.kind as AlertKind, // only raiseAlert writes alerts, and it takes an AlertKind
  subject: row.subject,
  status: row.status,
  message: row.message,
  detail: row.detail ?? null,
  created_at: row.createdAt,
  resolved_at: row.resolvedAt,
  notified_at: row.notifiedAt,
});
