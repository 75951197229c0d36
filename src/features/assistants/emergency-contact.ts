import { and, eq } from "drizzle-orm";
import { assistants } from "../../db/schema";
import { ApiError, notFound } from "../../platform/errors";
import type { VapiAssistantInput } from "../../integrations/vapi";
import type { EmergencyContact } from "./vapi-config";
import { deletedSince, emergencyContactOf, findAssistant, vapiConfig, type AssistantDeps } from "./assistants";
import type { AssistantRow } from "./view";
import { upstreamFailure } from "../../platform/upstream-failure";
import { followFallbacks } from "../routing/fallback";

export async function getEmergencyContact(deps: AssistantDeps, orgId: string, id: string): Promise<EmergencyContact | null> {
  const { assistant } = await findAssistant(deps.db, orgId, id);
  return emergencyContactOf(assistant);
}

/**
 * Sets (or, with null, removes) the number urgent calls are transferred to. Vapi gets the assistant's model
 * with the matching transferCall tool first; D1 follows. If D1 then fails, Vapi is put back, so the stored
 * contact and the Vapi assistant never disagree.
 */
export async function setEmergencyContact(
  deps: AssistantDeps,
  orgId: string,
  id: string,
  contact: EmergencyContact | null,
): Promise<EmergencyContact | null> {
  const { assistant, number } = await findAssistant(deps.db, orgId, id);
  const next: AssistantRow = {
    ...assistant,
    emergencyContactName: contact?.name ?? null,
    emergencyContactPhone: contact?.phone ?? null,
    updatedAt: new Date().toISOString(),
  };
  let models: { next: VapiModel; previous: VapiModel } | null = null;
  if (assistant.vapiAssistantId) {
    try {
      models = await modelsFor(deps, assistant, next);
      await deps.vapi.updateAssistant(assistant.vapiAssistantId, { model: models.next });
    } catch (error) {
      if (await deletedSince(deps.db, orgId, id)) throw notFound(`Assistant ${id}`);
      throw upstreamFailure(error, contact ? "set the emergency transfer" : "remove the emergency transfer");
    }
  }
  let saved: { id: string }[];
  try {
    saved = await deps.db
      .update(assistants)
      .set({
        emergencyContactName: next.emergencyContactName,
        emergencyContactPhone: next.emergencyContactPhone,
        updatedAt: next.updatedAt,
      })
      .where(and(eq(assistants.id, id), eq(assistants.orgId, orgId), eq(assistants.state, "active")))
      .returning({ id: assistants.id });
  } catch (error) {
    deps.log.error("emergency_contact_record_failed", { org_id: orgId, assistant_id: id, error });
    if (assistant.vapiAssistantId && models) {
      await deps.vapi
        .updateAssistant(assistant.vapiAssistantId, { model: models.previous })
        .catch((revertError) => deps.log.error("emergency_contact_revert_failed", { org_id: orgId, assistant_id: id, error: revertError }));
    }
    throw new ApiError(503, "storage_unavailable", "The emergency contact could not be saved; nothing was changed. Try again in a moment.");
  }
  // Deleted meanwhile: its Vapi assistant is gone with it, so there is nothing to put back.
  if (saved.length === 0) throw notFound(`Assistant ${id}`);
  deps.log.info(contact ? "emergency_contact_set" : "emergency_contact_removed", { org_id: orgId, assistant_id: id });
  if (number) await followFallbacks(deps, { numberIds: [number.id] });
  return contact;
}

type VapiModel = NonNullable<VapiAssistantInput["model"]>;

/**
 * The model Vapi gets with the new contact, and the one to put back if D1 then fails. An adopted assistant keeps
 * its own prompt and tools (read from Vapi): only its transfer tool becomes Switchboard's.
 */
async function modelsFor(
  deps: AssistantDeps,
  assistant: AssistantRow,
  next: AssistantRow,
): Promise<{ next: VapiModel; previous: VapiModel }> {
  const ours = vapiConfig(deps, next).model!;
  if (assistant.origin !== "adopted") return { next: ours, previous: vapiConfig(deps, assistant).model! };
  const current = (await deps.vapi.getAssistant(assistant.vapiAssistantId!)).model as (VapiModel & Record<string, unknown>) | undefined;
  if (!current) return { next: ours, previous: ours };
  const transfer = (ours.tools ?? []).filter((tool) => tool.type === "transferCall");
  const kept = (current.tools ?? []).filter((tool) => tool.type !== "transferCall");
  return { next: { ...current, tools: [...kept, ...transfer] }, previous: current };
}
