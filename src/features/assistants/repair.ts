import type { AssistantDeps } from "./assistants";
import { and, eq, isNotNull, isNull, lt } from "drizzle-orm";
import type { Db } from "../../db/client";
import { assistants, phoneNumbers } from "../../db/schema";
import type { Logger } from "../../platform/log";
import type { VapiClient } from "../../integrations/vapi";
import { deleteVapiAssistant, finishDeletion, findVapiAssistantsFor } from "./assistants";

/** A creation still `creating` after this long was interrupted (a crash, or a failed compensation). */
const STALE_CREATION_MS = 10 * 60_000;

/**
 * Finishes what an interrupted `POST /api/assistants` left: deletes any Vapi assistant made for the row, then,
 * in one batch, the row, and gives back what it took from the pool (a claimed number returns, unassigned; a
 * reservation that never got its Vapi number is dropped). The caller never got a success for it, so removing it
 * loses nothing.
 */
export async function repairInterruptedCreations(db: Db, vapi: VapiClient, log: Logger, nowMs = Date.now()): Promise<number> {
  const cutoff = new Date(nowMs - STALE_CREATION_MS).toISOString();
  const stale = await db
    .select({ id: assistants.id, orgId: assistants.orgId, createdAt: assistants.createdAt, vapiAssistantId: assistants.vapiAssistantId })
    .from(assistants)
    .where(and(eq(assistants.state, "creating"), lt(assistants.createdAt, cutoff)))
    .limit(50);
  let repaired = 0;
  for (const row of stale) {
    try {
      const vapiIds = row.vapiAssistantId ? [row.vapiAssistantId] : await findVapiAssistantsFor(vapi, row);
      for (const id of vapiIds) await deleteVapiAssistant(vapi, id);
      await db.batch([
        db.delete(assistants).where(and(eq(assistants.id, row.id), eq(assistants.state, "creating"))),
        db
          .update(phoneNumbers)
          .set({ assistantId: null, assignedAt: null, updatedAt: new Date(nowMs).toISOString() })
          .where(and(eq(phoneNumbers.assistantId, row.id), isNotNull(phoneNumbers.vapiPhoneNumberId))),
        db.delete(phoneNumbers).where(and(eq(phoneNumbers.assistantId, row.id), isNull(phoneNumbers.vapiPhoneNumberId))),
      ]);
      log.warn("interrupted_creation_repaired", { org_id: row.orgId, assistant_id: row.id, vapi_assistants_deleted: vapiIds.length });
      repaired++;
    } catch (error) {
      log.error("interrupted_creation_repair_failed", { org_id: row.orgId, assistant_id: row.id, error });
    }
  }
  return repaired;
}

/** A deletion still `deleting` after this long was interrupted between its claim and its end. */
const STALE_DELETION_MS = 10 * 60_000;

/**
 * Finishes what an interrupted `DELETE /api/assistants/:id` left: the Vapi assistant is deleted (already gone is
 * fine), then the number returned and the row marked deleted, as the request would have. The caller got no 204,
 * or got one and the rest was cut off; either way the assistant was on its way out.
 */
export async function repairInterruptedDeletions(
  deps: Pick<AssistantDeps, "db" | "vapi" | "log" | "settings">,
  nowMs = Date.now(),
): Promise<number> {
  const { db, vapi, log } = deps;
  const cutoff = new Date(nowMs - STALE_DELETION_MS).toISOString();
  const stale = await db
    .select({ id: assistants.id, orgId: assistants.orgId, vapiAssistantId: assistants.vapiAssistantId })
    .from(assistants)
    .where(and(eq(assistants.state, "deleting"), lt(assistants.updatedAt, cutoff)))
    .limit(50);
  let repaired = 0;
  for (const row of stale) {
    try {
      if (row.vapiAssistantId) await deleteVapiAssistant(vapi, row.vapiAssistantId);
      const numberId = await finishDeletion(deps, row);
      log.warn("interrupted_deletion_repaired", { org_id: row.orgId, assistant_id: row.id, phone_number_id: numberId });
      repaired++;
    } catch (error) {
      log.error("interrupted_deletion_repair_failed", { org_id: row.orgId, assistant_id: row.id, error });
    }
  }
  return repaired;
}
