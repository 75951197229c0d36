import { and, desc, eq, lt, lte, or } from "drizzle-orm";
import type { Db } from "../../db/client";
import { assistants, phoneNumbers } from "../../db/schema";
import { ApiError, notFound } from "../../platform/errors";
import { UpstreamError } from "../../integrations/http";
import type { VapiClient } from "../../integrations/vapi";
import { buildVapiAssistant, type EmergencyContact, type Language } from "./vapi-config";
import { toAssistantView, type AssistantRow, type AssistantView, type PhoneNumberRow } from "./view";
import { businessDataSchema, type BusinessData } from "./business-data";
import { upstreamFailure } from "../../platform/upstream-failure";
import { listAllFromVapi } from "../../integrations/vapi-listing";
import {
  attachHeld,
  detachInVapi,
  detachNumberInVapi,
  holdNumber,
  releaseHold,
  startTrackingIfProvisioning,
  undoAttachment,
  type Attachment,
  type HeldNumber,
  type NumberDeps,
} from "../numbers/acquisition";
import { claimPoolNumber, letGoOfNumber, reserveFreeNumber, slotFrom, type AcquireRequest } from "../numbers/pool";
import type { BatchItem } from "drizzle-orm/batch";
import { requestInProgress } from "../../platform/idempotency";
import type { Services } from "../../services";
import { followFallbacks } from "../routing/fallback";
import { encodeAssistantCursor, type AssistantListPosition } from "./list-cursor";

/**
 * Everything assistant operations need; `webhookUrl` is where Vapi sends this deployment's webhooks, and
 * `inBackground` follows a number's fallback in Vapi after the response (edge routing).
 */
export type AssistantDeps = NumberDeps & Pick<Services, "inBackground">;

interface CreateAssistantInput {
  name?: string;
  business_data: BusinessData;
  languages: Language[];
  area_code?: string;
}

interface UpdateAssistantInput {
  name?: string | null;
  business_data?: Partial<BusinessData>;
  languages?: Language[];
}

const now = () => new Date().toISOString();

/** What a list reads of each number: the columns the assistant object shows, not the whole row. */
const numberForViewColumns = {
  id: phoneNumbers.id,
  number: phoneNumbers.number,
  provider: phoneNumbers.provider,
  status: phoneNumbers.status,
  provisioningAttempts: phoneNumbers.provisioningAttempts,
  provisioningStartedAt: phoneNumbers.provisioningStartedAt,
  nextCheckAt: phoneNumbers.nextCheckAt,
};

/** The largest page of the assistant list (and its default, so callers that never page see every assistant). */
export const ASSISTANT_PAGE_MAX = 500;

export interface AssistantPage {
  assistants: AssistantView[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}

/**
 * One page of the organisation's live assistants, newest first (created_at, then id), after `after`. The
 * keyset bound `created_at <= ?` lets the search start inside `assistants_org_state_created`; the id decides
 * only between assistants made in the same millisecond.
 */
export function assistantPageQuery(db: Db, orgId: string, limit: number, after?: AssistantListPosition) {
  const position = after
    ? and(lte(assistants.createdAt, after.createdAt), or(lt(assistants.createdAt, after.createdAt), lt(assistants.id, after.id)))
    : undefined;
  return db
    .select({ assistant: assistants, number: numberForViewColumns })
    .from(assistants)
    .leftJoin(phoneNumbers, eq(phoneNumbers.assistantId, assistants.id))
    .where(and(eq(assistants.orgId, orgId), eq(assistants.state, "active"), position))
    .orderBy(desc(assistants.createdAt), desc(assistants.id))
    .limit(limit + 1);
}

/** A page of the organisation's live assistants with their numbers: one D1 round trip, whatever the count. */
export async function listAssistants(
  deps: AssistantDeps,
  orgId: string,
  page: { limit: number; after?: AssistantListPosition } = { limit: ASSISTANT_PAGE_MAX },
): Promise<AssistantPage> {
  const rows = await assistantPageQuery(deps.db, orgId, page.limit, page.after);
  const shown = rows.slice(0, page.limit);
  const last = shown[shown.length - 1]?.assistant;
  return {
    assistants: shown.map((r) => toAssistantView(r.assistant, r.number, deps.settings.POLL_MAX_ATTEMPTS)),
    next_cursor: rows.length > page.limit && last ? encodeAssistantCursor({ createdAt: last.createdAt, id: last.id }) : null,
  };
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
    origin: "switchboard",
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
  let held: HeldNumber;
  try {
    held = await holdNumber(deps, { orgId, assistantId: id, areaCode: row.areaCode }, slotFrom(claimed, reserved));
  } catch (error) {
    // Refused before anything was made in Vapi: only the row goes.
    await deps.db.delete(assistants).where(and(eq(assistants.id, id), eq(assistants.state, "creating")));
    throw error;
  }

  let vapiAssistantId: string;
  try {
    vapiAssistantId = (await deps.vapi.createAssistant(vapiConfig(deps, row))).id;
  } catch (error) {
    await abandonCreation(deps, row, error, undefined, releaseHold(deps.db, held, id));
    throw upstreamFailure(error, "create the assistant");
  }

  let attachment: Attachment;
  try {
    attachment = await attachHeld(deps, held, { assistantId: id, orgId, areaCode: row.areaCode, vapiAssistantId });
  } catch (error) {
    // attachHeld gave the hold back itself.
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
    await startTrackingIfProvisioning(deps, attachment.number);
    await followFallbacks(deps, { numberIds: [attachment.number.id] });
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
    throw requestInProgress();
  }
  throw new ApiError(
    409,
    "idempotency_key_spent",
    "The assistant this Idempotency-Key created was deleted since. Use a new key to create another.",
  );
}

/**
 * Gives an assistant that has none a number (pool → new → the organisation's own), e.g. after its number was
 * released. The existing Vapi assistant is kept. Concurrent requests give it one number: the claim takes one
 * only while the assistant is active and holds none, so the others answer 409; a deletion that wins the race
 * makes this one answer 404, and the number it was attaching stays in the pool.
 */
export async function assignPhoneNumber(deps: AssistantDeps, orgId: string, id: string, areaCode: string | null): Promise<AssistantView> {
  const { assistant, number } = await findAssistant(deps.db, orgId, id);
  if (number && number.status !== "failed") throw alreadyHasNumber(id, number);
  if (!assistant.vapiAssistantId) throw notFound(`Assistant ${id}`);
  const request = acquireRequest(deps, { ...assistant, areaCode: areaCode ?? assistant.areaCode });
  // A failed (blocked) number is let go, once, in the batch that takes the next one.
  const letGo = number ? letGoOfNumber(deps.db, number.id, { orgId, assistantId: id }, request.now, "replaced") : [];
  const results = await deps.db.batch([...letGo, claimPoolNumber(deps.db, request), reserveFreeNumber(deps.db, request)] as unknown as [
    BatchItem<"sqlite">,
  ]);
  const [claimed, reserved] = (results as unknown[]).slice(-2) as [PhoneNumberRow[], { id: string }[]];
  if (number && (results[0] as { id: string }[]).length > 0) await detachNumberInVapi(deps, number);
  const slot = slotFrom(claimed, reserved);
  const target = { assistantId: id, orgId, areaCode: request.areaCode, vapiAssistantId: assistant.vapiAssistantId };

  let attachment: Attachment;
  try {
    if (!slot) await refuseIfAnswered(deps, orgId, id);
    attachment = await attachHeld(deps, await holdNumber(deps, target, slot), target);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.code === "already_has_number")) throw error;
    await refuseIfAnswered(deps, orgId, id);
    throw error;
  }

  try {
    const [updated] = await deps.db.batch([
      deps.db
        .update(assistants)
        .set({ phoneSource: attachment.source, updatedAt: now() })
        .where(and(eq(assistants.id, id), eq(assistants.state, "active")))
        .returning(),
      ...attachment.finalize,
    ]);
    const active = (updated as AssistantRow[])[0];
    if (!active) {
      // Deleted while the number was attached: it stays in the pool, pointing at nobody.
      await detachNumberInVapi(deps, attachment.number);
      await deps.db.batch(
        letGoOfNumber(deps.db, attachment.number.id, { orgId: attachment.number.orgId, assistantId: id }, now(), "assistant_deleted"),
      );
      throw notFound(`Assistant ${id}`);
    }
    await startTrackingIfProvisioning(deps, attachment.number);
    // The number let go of falls back to its organisation's line (or keeps its last one: see routing/fallback.ts).
    await followFallbacks(deps, { numberIds: number ? [attachment.number.id, number.id] : [attachment.number.id] });
    return toAssistantView(active, attachment.number, deps.settings.POLL_MAX_ATTEMPTS);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    deps.log.error("number_record_failed", { org_id: orgId, assistant_id: id, error });
    await undoAttachment(deps, attachment);
    throw new ApiError(503, "storage_unavailable", "The number could not be saved; nothing was kept. Try again in a moment.");
  }
}

const alreadyHasNumber = (id: string, number: Pick<PhoneNumberRow, "number" | "status">) =>
  new ApiError(
    409,
    "already_has_number",
    `Assistant ${id} already has a phone number (${number.number ?? number.status}). Delete the assistant to return it to the pool.`,
  );

/** A request that lost a race answers as if it came second: 404 if the assistant is gone, 409 if it got a number. */
async function refuseIfAnswered(deps: AssistantDeps, orgId: string, id: string): Promise<void> {
  const { number } = await findAssistant(deps.db, orgId, id);
  if (number && number.status !== "failed") throw alreadyHasNumber(id, number);
}

/** True when the assistant is no longer active: a change that failed upstream lost a race to its deletion. */
export async function deletedSince(db: Db, orgId: string, id: string): Promise<boolean> {
  const [row] = await db
    .select({ state: assistants.state })
    .from(assistants)
    .where(and(eq(assistants.id, id), eq(assistants.orgId, orgId)))
    .limit(1);
  return row?.state !== "active";
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

/** A creation's Vapi create is sent right after its row is written: Vapi dates the assistant within this window of it. */
const CREATION_WINDOW_MS = { before: 60_000, after: 10 * 60_000 };

/**
 * Vapi assistants Switchboard created for this row, found by the metadata it set on them among every assistant
 * made around the row's creation. Throws unless that listing is complete: "none" must be proven, not guessed.
 */
export async function findVapiAssistantsFor(vapi: VapiClient, row: Pick<AssistantRow, "id" | "createdAt">): Promise<string[]> {
  const createdMs = Date.parse(row.createdAt);
  const since = new Date(createdMs - CREATION_WINDOW_MS.before).toISOString();
  const until = new Date(createdMs + CREATION_WINDOW_MS.after).toISOString();
  const listing = await listAllFromVapi((filter) =>
    vapi.listAssistants({
      ...filter,
      createdAtGe: since,
      createdAtLe: filter.createdAtLe && Date.parse(filter.createdAtLe) < Date.parse(until) ? filter.createdAtLe : until,
    }),
  );
  if (!listing.complete) throw new Error(`the Vapi assistants created around ${row.createdAt} could not all be listed`);
  return listing.items.filter((a) => a.metadata?.switchboardAssistantId === row.id).map((a) => a.id);
}

/** Deletes a Vapi assistant; already gone is fine, and so is a delete whose answers were lost but which happened. */
export async function deleteVapiAssistant(vapi: VapiClient, vapiId: string): Promise<void> {
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
    throw new ApiError(
      400,
      "invalid_request",
      "The merged business data is not valid.",
      merged.error.issues.map((i) => ({ path: `business_data.${i.path.join(".")}`, code: i.code, message: i.message })),
    );
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
    // An adopted assistant keeps the configuration it came with until its business data or languages change here.
    const keepsItsOwn = assistant.origin === "adopted" && input.business_data === undefined && input.languages === undefined;
    try {
      await deps.vapi.updateAssistant(assistant.vapiAssistantId, keepsItsOwn ? { name: config.name } : config);
    } catch (error) {
      if (await deletedSince(deps.db, orgId, id)) throw notFound(`Assistant ${id}`);
      throw upstreamFailure(error, "update the assistant");
    }
  }
  const [updated] = await deps.db
    .update(assistants)
    .set({
      name: next.name,
      nameIsCustom: next.nameIsCustom,
      businessData: next.businessData,
      languages: next.languages,
      updatedAt: next.updatedAt,
    })
    .where(and(eq(assistants.id, id), eq(assistants.orgId, orgId), eq(assistants.state, "active")))
    .returning();
  if (!updated) throw notFound(`Assistant ${id}`);
  return toAssistantView(updated, number, deps.settings.POLL_MAX_ATTEMPTS);
}

/**
 * Deletes an assistant. The first request claims the row (`active` → `deleting`): a concurrent DELETE, PATCH or
 * any other change then finds no active assistant and answers 404, and only the claimant talks to Vapi. The Vapi
 * assistant is deleted (already gone is fine); if Vapi refuses, the claim is given back and the caller hears
 * why. Then its number is detached in Vapi and, in one batch, returned to the pool and the row marked deleted.
 * A crash after the claim leaves a `deleting` row that the 5-minute sweep finishes.
 */
export async function deleteAssistant(deps: AssistantDeps, orgId: string, id: string): Promise<void> {
  const [claimed] = await deps.db
    .update(assistants)
    .set({ state: "deleting", updatedAt: now() })
    .where(and(eq(assistants.id, id), eq(assistants.orgId, orgId), eq(assistants.state, "active")))
    .returning();
  if (!claimed) throw notFound(`Assistant ${id}`);
  if (claimed.vapiAssistantId) {
    try {
      await deleteVapiAssistant(deps.vapi, claimed.vapiAssistantId);
    } catch (error) {
      await deps.db
        .update(assistants)
        .set({ state: "active" })
        .where(and(eq(assistants.id, id), eq(assistants.state, "deleting")))
        .catch((revertError) => deps.log.error("assistant_delete_revert_failed", { org_id: orgId, assistant_id: id, error: revertError }));
      throw upstreamFailure(error, "delete the assistant");
    }
  }
  const numberId = await finishDeletion(deps, claimed);
  deps.log.info("assistant_deleted", { org_id: orgId, assistant_id: id, phone_number_id: numberId });
  if (numberId) await followFallbacks(deps, { numberIds: [numberId] });
}

/**
 * The end of a deletion whose Vapi assistant is gone: the number it holds now (read here, not before the claim:
 * a concurrent assignment may have given it one) is detached in Vapi, best effort (a number still pointing at a
 * deleted assistant is harmless, re-pointed on reuse and repaired by the daily reconciliation), then one batch
 * marks the row deleted and returns the number, with its history event only if this batch unassigned it.
 */
export async function finishDeletion(
  deps: Pick<AssistantDeps, "db" | "vapi" | "log" | "settings">,
  assistant: Pick<AssistantRow, "id" | "orgId">,
): Promise<string | null> {
  const [number] = await deps.db.select().from(phoneNumbers).where(eq(phoneNumbers.assistantId, assistant.id)).limit(1);
  if (number) await detachNumberInVapi(deps, number);
  const at = now();
  const markDeleted = deps.db
    .update(assistants)
    .set({ state: "deleted", deletedAt: at, updatedAt: at })
    .where(and(eq(assistants.id, assistant.id), eq(assistants.state, "deleting")));
  if (!number) {
    await markDeleted;
    return null;
  }
  await deps.db.batch([
    markDeleted,
    ...letGoOfNumber(deps.db, number.id, { orgId: assistant.orgId, assistantId: assistant.id }, at, "assistant_deleted"),
  ]);
  return number.id;
}

export function emergencyContactOf(row: Pick<AssistantRow, "emergencyContactName" | "emergencyContactPhone">): EmergencyContact | null {
  return row.emergencyContactName && row.emergencyContactPhone
    ? { name: row.emergencyContactName, phone: row.emergencyContactPhone }
    : null;
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
