import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { assistants, phoneNumbers } from "../db/schema";
import { ApiError, notFound } from "../lib/errors";
import { UpstreamError } from "../providers/http";
import type { VapiClient } from "../providers/vapi";
import { buildVapiAssistant, type EmergencyContact, type Language } from "./assistant-config";
import { toAssistantView, type AssistantRow, type AssistantView } from "./assistant-view";
import { businessDataSchema, type BusinessData } from "./business-data";
import { upstreamFailure } from "./upstream-failure";
import { attachNumber, detachInVapi, poolExhausted, type AssignmentTarget, type Attachment, type NumberDeps } from "./number-assignment";
import { claimPoolNumber, dropReservation, recordEvent, reserveFreeNumber, returnClaim, slotFrom, unassignNumber, type AcquireRequest, type PoolSlot } from "./pool";
import type { BatchItem } from "drizzle-orm/batch";

/** Everything assistant operations need; `webhookUrl` is where Vapi sends this deployment's webhooks. */
export type AssistantDeps = NumberDeps;

export interface CreateAssistantInput {
  name?: string;
  business_data: BusinessData;
  languages: Language[];
  area_code?: string;
}

export interface UpdateAssistantInput {
  name?: string | null;
  business_data?: Partial<BusinessData>;
  languages?: Language[];
}

const now = () => new Date().toISOString();

/** The organisation's live assistants with their numbers: one D1 round trip, whatever the count. */
export async function listAssistants(deps: AssistantDeps, orgId: string): Promise<AssistantView[]> {
  const rows = await deps.db
    .select({ assistant: assistants, number: phoneNumbers })
    .from(assistants)
    .leftJoin(phoneNumbers, eq(phoneNumbers.assistantId, assistants.id))
    .where(and(eq(assistants.orgId, orgId), eq(assistants.state, "active")))
    .orderBy(desc(assistants.createdAt), desc(assistants.id));
  return rows.map((r) => toAssistantView(r.assistant, r.number, deps.settings.POLL_MAX_ATTEMPTS));
}

export async function getAssistant(deps: AssistantDeps, orgId: string, id: string): Promise<AssistantView> {
  const row = await findAssistant(deps.db, orgId, id);
  return toAssistantView(row.assistant, row.number, deps.settings.POLL_MAX_ATTEMPTS);
}

export async function findAssistant(db: Db, orgId: string, id: string) {
  const [row] = await db
    .select({ assistant: assistants, number: phoneNumbers })
    .from(assistants)
    .leftJoin(phoneNumbers, eq(phoneNumbers.assistantId, assistants.id))
    .where(and(eq(assistants.id, id), eq(assistants.orgId, orgId), eq(assistants.state, "active")))
    .limit(1);
  if (!row) throw notFound(`Assistant ${id}`);
  return row;
}

/**
 * Creates the Vapi assistant, its row and its number. One batch writes the row as `creating` and claims a pool
 * number or reserves a new free one; with no number to give, the caller gets 409 before Vapi is called.
 * Then Vapi gets the assistant and the number is pointed at it; a final batch records both. Every failure on
 * the way is compensated before the caller hears of it, and a crash leaves a `creating` row the sweep repairs.
 */
export async function createAssistant(
  deps: AssistantDeps,
  orgId: string,
  input: CreateAssistantInput,
  options: { id?: string } = {},
): Promise<AssistantView> {
  const id = options.id ?? crypto.randomUUID();
  const createdAt = now();
  const row: AssistantRow = {
    id,
    orgId,
    name: input.name ?? input.business_data.business_name,
    nameIsCustom: input.name !== undefined,
    businessData: input.business_data,
    languages: input.languages,
    areaCode: input.area_code ?? null,
    vapiAssistantId: null,
    state: "creating",
    phoneSource: null,
    emergencyContactName: null,
    emergencyContactPhone: null,
    createdAt,
    updatedAt: createdAt,
    deletedAt: null,
  };
  const request = acquireRequest(deps, row);
  let claimed, reserved;
  try {
    [, claimed, reserved] = await deps.db.batch([
      deps.db.insert(assistants).values(row),
      claimPoolNumber(deps.db, request),
      reserveFreeNumber(deps.db, request),
    ]);
  } catch (error) {
    // A given id (derived from an Idempotency-Key) already exists: this request was made before.
    if (options.id && /UNIQUE constraint failed: assistants\.id/.test(String(error))) return existingCreation(deps, orgId, id);
    throw error;
  }
  const slot = slotFrom(claimed, reserved);
  if (!slot && !(await deps.orgNumbers?.mayProvide(deps, orgId))) {
    await deps.db.delete(assistants).where(eq(assistants.id, id));
    throw await poolExhausted(deps, orgId);
  }

  let vapiAssistantId: string;
  try {
    vapiAssistantId = (await deps.vapi.createAssistant(vapiConfig(deps, row))).id;
  } catch (error) {
    await abandonCreation(deps, row, error, undefined, slot ? releaseSlot(deps.db, slot, id) : []);
    throw upstreamFailure(error, "create the assistant");
  }

  const target = { assistantId: id, orgId, areaCode: row.areaCode, vapiAssistantId };
  let attachment: Attachment;
  try {
    attachment = slot ? await attachNumber(deps, slot, target) : await orgNumberOrExhausted(deps, target);
  } catch (error) {
    // attachNumber gave the slot back itself.
    await abandonCreation(deps, row, error, vapiAssistantId);
    throw error;
  }

  const at = now();
  try {
    const [activated] = await deps.db.batch([
      deps.db
        .update(assistants)
        .set({ vapiAssistantId, state: "active", phoneSource: attachment.source, updatedAt: at })
        .where(and(eq(assistants.id, id), eq(assistants.state, "creating")))
        .returning(),
      ...attachment.finalize,
    ]);
    const active = (activated as AssistantRow[])[0];
    if (!active) throw new Error("assistant row vanished while creating");
    deps.log.info("assistant_created", {
      org_id: orgId,
      assistant_id: id,
      vapi_assistant_id: vapiAssistantId,
      phone_number_id: attachment.number.id,
      phone_source: attachment.source,
    });
    await startTrackingIfProvisioning(deps, attachment);
    return toAssistantView(active, attachment.number, deps.settings.POLL_MAX_ATTEMPTS);
  } catch (error) {
    deps.log.error("assistant_record_failed", { org_id: orgId, assistant_id: id, vapi_assistant_id: vapiAssistantId, error });
    await detachInVapi(deps, attachment);
    await abandonCreation(deps, row, error, vapiAssistantId, attachment.undo);
    throw new ApiError(503, "storage_unavailable", "The assistant could not be saved; nothing was kept. Try again in a moment.");
  }
}

/** The outcome of an earlier create with the same id: its assistant, or 409 while it is still being made. */
async function existingCreation(deps: AssistantDeps, orgId: string, id: string): Promise<AssistantView> {
  const [row] = await deps.db
    .select({ assistant: assistants, number: phoneNumbers })
    .from(assistants)
    .leftJoin(phoneNumbers, eq(phoneNumbers.assistantId, assistants.id))
    .where(and(eq(assistants.id, id), eq(assistants.orgId, orgId)))
    .limit(1);
  if (row?.assistant.state === "active") return toAssistantView(row.assistant, row.number, deps.settings.POLL_MAX_ATTEMPTS);
  if (row?.assistant.state === "creating") {
    throw new ApiError(409, "idempotency_request_in_progress", "A request with this Idempotency-Key is still being processed. Retry in a few seconds.", undefined, { "Retry-After": "2" });
  }
  throw new ApiError(409, "idempotency_key_spent", "The assistant this Idempotency-Key created was deleted since. Use a new key to create another.");
}

/**
 * Gives an assistant that has none a number (pool → new → the organisation's own), e.g. after its number was
 * released. The existing Vapi assistant is kept.
 */
export async function assignPhoneNumber(deps: AssistantDeps, orgId: string, id: string, areaCode: string | null): Promise<AssistantView> {
  const { assistant, number } = await findAssistant(deps.db, orgId, id);
  if (number && number.status !== "failed") {
    throw new ApiError(409, "already_has_number", `Assistant ${id} already has a phone number (${number.number ?? number.status}). Delete the assistant to return it to the pool.`);
  }
  if (!assistant.vapiAssistantId) throw notFound(`Assistant ${id}`);
  if (number) {
    // A failed (blocked) number is let go before a new one is given.
    await deps.db.batch([unassignNumber(deps.db, number.id, now()), recordEvent(deps.db, "unassigned", number.id, { orgId, assistantId: id }, now(), { reason: "replaced" })]);
  }
  const request = acquireRequest(deps, { ...assistant, areaCode: areaCode ?? assistant.areaCode });
  const [claimed, reserved] = await deps.db.batch([claimPoolNumber(deps.db, request), reserveFreeNumber(deps.db, request)]);
  const slot = slotFrom(claimed, reserved);
  const target = { assistantId: id, orgId, areaCode: request.areaCode, vapiAssistantId: assistant.vapiAssistantId };
  const attachment = slot ? await attachNumber(deps, slot, target) : await orgNumberOrExhausted(deps, target);
  const at = now();
  try {
    const [updated] = await deps.db.batch([
      deps.db.update(assistants).set({ phoneSource: attachment.source, updatedAt: at }).where(eq(assistants.id, id)).returning(),
      ...attachment.finalize,
    ]);
    await startTrackingIfProvisioning(deps, attachment);
    return toAssistantView((updated as AssistantRow[])[0] ?? assistant, attachment.number, deps.settings.POLL_MAX_ATTEMPTS);
  } catch (error) {
    deps.log.error("number_record_failed", { org_id: orgId, assistant_id: id, error });
    await detachInVapi(deps, attachment);
    await deps.db.batch(attachment.undo as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]).catch(() => undefined);
    throw new ApiError(503, "storage_unavailable", "The number could not be saved; nothing was kept. Try again in a moment.");
  }
}

function acquireRequest(deps: AssistantDeps, row: Pick<AssistantRow, "id" | "orgId" | "areaCode">): AcquireRequest {
  return {
    assistantId: row.id,
    orgId: row.orgId,
    areaCode: row.areaCode,
    reservationId: crypto.randomUUID(),
    freeNumberLimit: deps.settings.VAPI_FREE_NUMBER_LIMIT,
    now: now(),
  };
}

async function orgNumberOrExhausted(deps: AssistantDeps, target: AssignmentTarget): Promise<Attachment> {
  const attachment = await deps.orgNumbers?.provide(deps, target);
  if (attachment) return attachment;
  throw await poolExhausted(deps, target.orgId);
}

function releaseSlot(db: Db, slot: PoolSlot, assistantId: string): BatchItem<"sqlite">[] {
  return slot.kind === "pool" ? [returnClaim(db, slot.number.id, assistantId, now())] : [dropReservation(db, slot.reservationId)];
}

async function startTrackingIfProvisioning(deps: AssistantDeps, attachment: Attachment): Promise<void> {
  const number = attachment.number;
  if (number.status !== "provisioning" || !number.vapiPhoneNumberId || !deps.startTracking) return;
  try {
    await deps.startTracking({ assistantId: number.assistantId!, numberId: number.id, vapiPhoneNumberId: number.vapiPhoneNumberId });
  } catch (error) {
    // The cron sweep re-arms trackers of provisioning numbers, so this is repaired within minutes.
    deps.log.error("tracker_start_failed", { phone_number_id: number.id, error });
  }
}

/**
 * Undoes a half-made creation: the Vapi assistant (found by our metadata when the outcome of the create is
 * unknown) is deleted, then the row, with `alsoUndo` (a claim or reservation) in the same batch. If that fails
 * too, the `creating` row stays for the repair sweep.
 */
async function abandonCreation(
  deps: AssistantDeps,
  row: AssistantRow,
  cause: unknown,
  knownVapiId?: string,
  alsoUndo: BatchItem<"sqlite">[] = [],
): Promise<void> {
  try {
    const vapiIds = knownVapiId
      ? [knownVapiId]
      : cause instanceof UpstreamError && cause.mayHaveActed
        ? await findVapiAssistantsFor(deps.vapi, row)
        : [];
    for (const vapiId of vapiIds) await deleteVapiAssistant(deps.vapi, vapiId);
    await deps.db.batch([deps.db.delete(assistants).where(and(eq(assistants.id, row.id), eq(assistants.state, "creating"))), ...alsoUndo]);
    deps.log.warn("assistant_creation_abandoned", { org_id: row.orgId, assistant_id: row.id, vapi_assistants_deleted: vapiIds.length });
  } catch (error) {
    deps.log.error("assistant_compensation_failed", { org_id: row.orgId, assistant_id: row.id, error });
  }
}

/** Vapi assistants Switchboard created for this row, found by the metadata it set on them. */
export async function findVapiAssistantsFor(vapi: VapiClient, row: Pick<AssistantRow, "id" | "createdAt">): Promise<string[]> {
  const since = new Date(Date.parse(row.createdAt) - 60_000).toISOString();
  const candidates = await vapi.listAssistants({ createdAtGe: since, limit: 1000 });
  return candidates.filter((a) => a.metadata?.switchboardAssistantId === row.id).map((a) => a.id);
}

/** Deletes a Vapi assistant; already gone is fine, and so is a delete whose answers were lost but which happened. */
async function deleteVapiAssistant(vapi: VapiClient, vapiId: string): Promise<void> {
  try {
    await vapi.deleteAssistant(vapiId);
  } catch (error) {
    if (error instanceof UpstreamError && error.isNotFound) return;
    if (error instanceof UpstreamError && error.mayHaveActed) {
      const gone = await vapi.getAssistant(vapiId).then(
        () => false,
        (check) => check instanceof UpstreamError && check.isNotFound,
      );
      if (gone) return;
    }
    throw error;
  }
}

/** Renames or updates business data and languages; Vapi is updated first so D1 never claims what Vapi lacks. */
export async function updateAssistant(deps: AssistantDeps, orgId: string, id: string, input: UpdateAssistantInput): Promise<AssistantView> {
  const { assistant, number } = await findAssistant(deps.db, orgId, id);
  const merged = businessDataSchema.safeParse({ ...(assistant.businessData as BusinessData), ...input.business_data });
  if (!merged.success) {
    throw new ApiError(400, "invalid_request", "The merged business data is not valid.", merged.error.issues.map((i) => ({ path: `business_data.${i.path.join(".")}`, code: i.code, message: i.message })));
  }
  const nameIsCustom = input.name === null ? false : input.name !== undefined ? true : assistant.nameIsCustom;
  const next: AssistantRow = {
    ...assistant,
    businessData: merged.data,
    languages: input.languages ?? assistant.languages,
    nameIsCustom,
    name: input.name ?? (nameIsCustom ? assistant.name : merged.data.business_name),
    updatedAt: now(),
  };

  if (assistant.vapiAssistantId) {
    const { metadata: _metadata, ...config } = vapiConfig(deps, next);
    try {
      await deps.vapi.updateAssistant(assistant.vapiAssistantId, config);
    } catch (error) {
      throw upstreamFailure(error, "update the assistant");
    }
  }
  const [updated] = await deps.db
    .update(assistants)
    .set({ name: next.name, nameIsCustom: next.nameIsCustom, businessData: next.businessData, languages: next.languages, updatedAt: next.updatedAt })
    .where(and(eq(assistants.id, id), eq(assistants.orgId, orgId), eq(assistants.state, "active")))
    .returning();
  if (!updated) throw notFound(`Assistant ${id}`);
  return toAssistantView(updated, number, deps.settings.POLL_MAX_ATTEMPTS);
}

/**
 * Deletes the Vapi assistant (already gone is fine), detaches its number in Vapi, and in one batch soft-deletes
 * the row and returns the number to the pool it came from. Nothing is deleted from Vapi but the assistant.
 */
export async function deleteAssistant(deps: AssistantDeps, orgId: string, id: string): Promise<void> {
  const { assistant, number } = await findAssistant(deps.db, orgId, id);
  if (assistant.vapiAssistantId) {
    try {
      await deleteVapiAssistant(deps.vapi, assistant.vapiAssistantId);
    } catch (error) {
      throw upstreamFailure(error, "delete the assistant");
    }
  }
  if (number?.vapiPhoneNumberId) {
    // Best effort: a number still pointing at a deleted assistant is harmless, re-pointed on reuse and
    // repaired by the daily reconciliation.
    await deps.vapi.updatePhoneNumber(number.vapiPhoneNumberId, { assistantId: null }).catch((error) => {
      deps.log.warn("number_detach_failed", { phone_number_id: number.id, error });
    });
  }
  const at = now();
  const softDelete = deps.db
    .update(assistants)
    .set({ state: "deleted", deletedAt: at, updatedAt: at })
    .where(and(eq(assistants.id, id), eq(assistants.orgId, orgId), eq(assistants.state, "active")));
  if (number) {
    await deps.db.batch([
      softDelete,
      unassignNumber(deps.db, number.id, at),
      recordEvent(deps.db, "unassigned", number.id, { orgId, assistantId: id }, at, { reason: "assistant_deleted" }),
    ]);
  } else {
    await softDelete;
  }
  deps.log.info("assistant_deleted", { org_id: orgId, assistant_id: id, phone_number_id: number?.id ?? null });
}

export function emergencyContactOf(row: Pick<AssistantRow, "emergencyContactName" | "emergencyContactPhone">): EmergencyContact | null {
  return row.emergencyContactName && row.emergencyContactPhone ? { name: row.emergencyContactName, phone: row.emergencyContactPhone } : null;
}

export function vapiConfig(deps: Pick<AssistantDeps, "webhookUrl" | "settings">, row: AssistantRow) {
  return buildVapiAssistant({
    assistantId: row.id,
    orgId: row.orgId,
    name: row.name,
    businessData: row.businessData as BusinessData,
    languages: row.languages as Language[],
    emergencyContact: emergencyContactOf(row),
    webhookUrl: deps.webhookUrl,
    webhookSecret: deps.settings.VAPI_WEBHOOK_SECRET,
  });
}
