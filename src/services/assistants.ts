import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { assistants, phoneNumbers } from "../db/schema";
import { ApiError, notFound } from "../lib/errors";
import type { Logger } from "../lib/log";
import type { Settings } from "../lib/settings";
import { UpstreamError } from "../providers/http";
import type { VapiClient } from "../providers/vapi";
import { buildVapiAssistant, type Language } from "./assistant-config";
import { toAssistantView, type AssistantRow, type AssistantView } from "./assistant-view";
import { businessDataSchema, type BusinessData } from "./business-data";
import { upstreamFailure } from "./upstream-failure";

export interface AssistantDeps {
  db: Db;
  vapi: VapiClient;
  settings: Settings;
  log: Logger;
  /** Where Vapi sends this deployment's webhooks: `<public url>/webhooks/vapi`. */
  webhookUrl: string;
}

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

async function findAssistant(db: Db, orgId: string, id: string) {
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
 * Creates the Vapi assistant and its row. The row is written first as `creating` so that a crash between the
 * two leaves a trace the repair sweep finishes; a Vapi failure is compensated before the caller hears of it.
 */
export async function createAssistant(deps: AssistantDeps, orgId: string, input: CreateAssistantInput): Promise<AssistantView> {
  const id = crypto.randomUUID();
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
  await deps.db.insert(assistants).values(row);

  let vapiAssistantId: string;
  try {
    const created = await deps.vapi.createAssistant(vapiConfig(deps, row));
    vapiAssistantId = created.id;
  } catch (error) {
    await abandonCreation(deps, row, error);
    throw upstreamFailure(error, "create the assistant");
  }

  try {
    const [active] = await deps.db
      .update(assistants)
      .set({ vapiAssistantId, state: "active", updatedAt: now() })
      .where(and(eq(assistants.id, id), eq(assistants.state, "creating")))
      .returning();
    if (!active) throw new Error("assistant row vanished while creating");
    deps.log.info("assistant_created", { org_id: orgId, assistant_id: id, vapi_assistant_id: vapiAssistantId });
    return toAssistantView(active, null, deps.settings.POLL_MAX_ATTEMPTS);
  } catch (error) {
    deps.log.error("assistant_record_failed", { org_id: orgId, assistant_id: id, vapi_assistant_id: vapiAssistantId, error });
    await abandonCreation(deps, row, error, vapiAssistantId);
    throw new ApiError(503, "storage_unavailable", "The assistant could not be saved; nothing was kept. Try again in a moment.");
  }
}

/**
 * Undoes a half-made creation: the Vapi assistant (found by our metadata when the outcome of the create is
 * unknown) is deleted, then the row. If that fails too, the `creating` row stays for the repair sweep.
 */
async function abandonCreation(deps: AssistantDeps, row: AssistantRow, cause: unknown, knownVapiId?: string): Promise<void> {
  try {
    const vapiIds = knownVapiId
      ? [knownVapiId]
      : cause instanceof UpstreamError && cause.outcomeUnknown
        ? await findVapiAssistantsFor(deps.vapi, row)
        : [];
    for (const vapiId of vapiIds) await deleteVapiAssistant(deps.vapi, vapiId);
    await deps.db.delete(assistants).where(and(eq(assistants.id, row.id), eq(assistants.state, "creating")));
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

async function deleteVapiAssistant(vapi: VapiClient, vapiId: string): Promise<void> {
  try {
    await vapi.deleteAssistant(vapiId);
  } catch (error) {
    if (!(error instanceof UpstreamError && error.isNotFound)) throw error;
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

/** Deletes the Vapi assistant (already gone is fine) and soft-deletes the row. */
export async function deleteAssistant(deps: AssistantDeps, orgId: string, id: string): Promise<void> {
  const { assistant } = await findAssistant(deps.db, orgId, id);
  if (assistant.vapiAssistantId) {
    try {
      await deleteVapiAssistant(deps.vapi, assistant.vapiAssistantId);
    } catch (error) {
      throw upstreamFailure(error, "delete the assistant");
    }
  }
  const at = now();
  await deps.db
    .update(assistants)
    .set({ state: "deleted", deletedAt: at, updatedAt: at })
    .where(and(eq(assistants.id, id), eq(assistants.orgId, orgId), eq(assistants.state, "active")));
  deps.log.info("assistant_deleted", { org_id: orgId, assistant_id: id });
}

function vapiConfig(deps: AssistantDeps, row: AssistantRow) {
  return buildVapiAssistant({
    assistantId: row.id,
    orgId: row.orgId,
    name: row.name,
    businessData: row.businessData as BusinessData,
    languages: row.languages as Language[],
    webhookUrl: deps.webhookUrl,
    webhookSecret: deps.settings.VAPI_WEBHOOK_SECRET,
  });
}
