import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { alerts } from "../db/schema";
import type { Logger } from "../lib/log";

export const ALERT_KINDS = [
  "pool_near_limit",
  "pool_exhausted",
  "vapi_refused_number",
  "twilio_numbers_exhausted",
  "provisioning_stuck",
  "provisioning_failed",
  "calendar_reconnect_required",
  "orphan_adopted",
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/**
 * Opens an alert unless one of the same kind and subject is already open (the partial unique index makes
 * this one statement). Returns true when a new alert was opened.
 */
export async function raiseAlert(
  db: Db,
  log: Logger,
  alert: { kind: AlertKind; subject: string; message: string; detail?: Record<string, unknown> },
): Promise<boolean> {
  const opened = await db
    .insert(alerts)
    .values({ ...alert, detail: alert.detail ?? null, status: "open", createdAt: new Date().toISOString() })
    .onConflictDoNothing()
    .returning({ id: alerts.id });
  if (opened.length > 0) log.warn("alert_opened", { kind: alert.kind, subject: alert.subject, message: alert.message });
  return opened.length > 0;
}

export function resolveAlert(db: Db, kind: AlertKind, subject: string) {
  return db
    .update(alerts)
    .set({ status: "resolved", resolvedAt: new Date().toISOString() })
    .where(and(eq(alerts.kind, kind), eq(alerts.subject, subject), eq(alerts.status, "open")));
}
