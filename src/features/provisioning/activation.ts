import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "../../db/client";
import { phoneNumbers } from "../../db/schema";
import type { VapiPhoneNumber } from "../../integrations/vapi";
import { raiseAlert, resolveAlert } from "../alerts/alerts";
import type { PhoneNumberRow } from "../assistants/view";
import type { Services } from "../../services";
import { eventIfChanged, NUMBER_HOLDER } from "../numbers/events";

/** Where a number's live digits were learned: the tracker's poll, a call webhook, or an operator's refresh. */
type ActivationSource = "poll" | "webhook" | "refresh";

/** Statuses in which a number may still turn out live (a call on a stuck number proves it works). */
const AWAITING_ACTIVATION = ["provisioning", "stuck"] as const;

type ProvisioningDeps = Pick<Services, "db" | "log">;

/** The tracker's key for a number: its assistant's (one tracker per assistant), else the number's own. */
export const trackerKeyFor = (assistantId: string | null, numberId: string) => assistantId ?? `number:${numberId}`;

/** The digits (or, for SIP-only numbers, the SIP URI) that make a Vapi number usable, or null while none. */
export function liveAddress(vapiNumber: Pick<VapiPhoneNumber, "status" | "number" | "sipUri">): string | null {
  if (vapiNumber.status !== "active") return null;
  return vapiNumber.number ?? vapiNumber.sipUri ?? null;
}

/**
 * Marks a number active with its digits, once: the guarded UPDATE changes a provisioning or stuck row only,
 * and the history event is written in the same batch only if that UPDATE changed a row, so replays and races
 * between the tracker, webhooks and refreshes record it once. Returns true when this call activated it.
 */
export async function markActive(deps: ProvisioningDeps, numberId: string, address: string, via: ActivationSource): Promise<boolean> {
  const at = new Date().toISOString();
  const [updated] = await deps.db.batch([
    deps.db
      .update(phoneNumbers)
      .set({ status: "active", number: address, activatedAt: at, nextCheckAt: null, updatedAt: at })
      .where(and(eq(phoneNumbers.id, numberId), inArray(phoneNumbers.status, AWAITING_ACTIVATION)))
      .returning(),
    eventIfChanged(deps.db, numberId, "provisioned", NUMBER_HOLDER, at, { number: address, via }),
    resolveAlert(deps.db, "provisioning_stuck", numberId),
  ]);
  const row = (updated as PhoneNumberRow[])[0];
  if (row) {
    const waitedMs = row.provisioningStartedAt ? Date.parse(at) - Date.parse(row.provisioningStartedAt) : null;
    deps.log.info("number_provisioned", { phone_number_id: numberId, assistant_id: row.assistantId, via, waited_ms: waitedMs });
  }
  return Boolean(row);
}

/** After the last check: stuck, with an alert an operator will see. */
export async function markStuck(deps: ProvisioningDeps, numberId: string, attempts: number): Promise<boolean> {
  const at = new Date().toISOString();
  const [updated] = await deps.db.batch([
    deps.db
      .update(phoneNumbers)
      .set({ status: "stuck", provisioningAttempts: attempts, nextCheckAt: null, updatedAt: at })
      .where(and(eq(phoneNumbers.id, numberId), eq(phoneNumbers.status, "provisioning")))
      .returning({ id: phoneNumbers.id, number: phoneNumbers.number, assistantId: phoneNumbers.assistantId }),
    eventIfChanged(deps.db, numberId, "stuck", NUMBER_HOLDER, at, { attempts }),
  ]);
  const row = (updated as { assistantId: string | null }[])[0];
  if (!row) return false;
  await raiseAlert(deps.db, deps.log, {
    kind: "provisioning_stuck",
    subject: numberId,
    message: `Number ${numberId} was still not active in Vapi after ${attempts} checks. Check it in the Vapi dashboard, then POST /api/admin/phone-numbers/${numberId}/refresh.`,
    detail: { attempts, assistant_id: row.assistantId },
  });
  return true;
}

/** Vapi blocked the number (or it vanished there): it can never be used. */
export async function markFailed(deps: ProvisioningDeps, numberId: string, reason: string): Promise<boolean> {
  const at = new Date().toISOString();
  const [updated] = await deps.db.batch([
    deps.db
      .update(phoneNumbers)
      .set({ status: "failed", nextCheckAt: null, updatedAt: at })
      .where(and(eq(phoneNumbers.id, numberId), inArray(phoneNumbers.status, AWAITING_ACTIVATION)))
      .returning({ id: phoneNumbers.id, assistantId: phoneNumbers.assistantId }),
    eventIfChanged(deps.db, numberId, "failed", NUMBER_HOLDER, at, { reason }),
  ]);
  const row = (updated as { assistantId: string | null }[])[0];
  if (!row) return false;
  await raiseAlert(deps.db, deps.log, {
    kind: "provisioning_failed",
    subject: numberId,
    message: `Number ${numberId} failed: ${reason}. Its assistant needs another number: POST /api/assistants/${row.assistantId ?? "<id>"}/phone.`,
    detail: { reason, assistant_id: row.assistantId },
  });
  return true;
}

/** The tracker's progress, mirrored in D1 so lists show it without asking each Durable Object. */
export function recordProgress(db: Db, numberId: string, attempts: number, nextCheckAt: string) {
  return db
    .update(phoneNumbers)
    .set({ provisioningAttempts: attempts, nextCheckAt })
    .where(and(eq(phoneNumbers.id, numberId), eq(phoneNumbers.status, "provisioning")));
}

export type CheckOutcome = "active" | "failed" | "pending";

/** Applies what Vapi said about a number. */
export async function applyVapiState(
  deps: ProvisioningDeps,
  numberId: string,
  vapiNumber: VapiPhoneNumber,
  via: ActivationSource,
): Promise<CheckOutcome> {
  if (vapiNumber.status === "blocked") {
    await markFailed(deps, numberId, "Vapi reports the number as blocked");
    return "failed";
  }
  const address = liveAddress(vapiNumber);
  if (address) {
    await markActive(deps, numberId, address, via);
    return "active";
  }
  return "pending";
}
