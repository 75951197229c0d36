import { inArray } from "drizzle-orm";
import { type Db, idChunks } from "../../db/client";
import { assistants, type ASSISTANT_STATES } from "../../db/schema";
import { UpstreamError } from "../../integrations/http";
import type { VapiAssistant } from "../../integrations/vapi";
import { listAllFromVapi } from "../../integrations/vapi-listing";
import type { Services } from "../../services";

/** A Vapi assistant younger than this may belong to a creation still under way. */
const ASSISTANT_SETTLING_MS = 60 * 60_000;
/**
 * More Vapi assistants of ours unknown to D1 than this (and than a quarter of them) looks like another
 * deployment's account (a wrong VAPI_API_KEY), not strays: those are then left alone.
 */
const MAX_UNKNOWN_WITHOUT_REVIEW = 5;

type AssistantReconcileDeps = Pick<Services, "db" | "log" | "vapi">;

type StrayReason = "duplicate" | "no_active_assistant";

interface AssistantReconcileReport {
  vapi_assistants: number;
  deleted: { vapi_assistant_id: string; switchboard_assistant_id: string; reason: StrayReason }[];
  failures: number;
}

/**
 * Deletes Vapi assistants Switchboard made (`metadata.switchboardAssistantId`) that D1 does not use: a
 * duplicate from a retried create (the row has another Vapi id), or one whose row is deleted or gone. Rows still
 * `creating` are left to the repair of interrupted creations; assistants without our metadata are never touched.
 */
export async function removeStrayAssistants(deps: AssistantReconcileDeps, nowMs = Date.now()): Promise<AssistantReconcileReport> {
  const listing = await listAllFromVapi((filter) => deps.vapi.listAssistants(filter));
  const settled = new Date(nowMs - ASSISTANT_SETTLING_MS).toISOString();
  const ours = listing.items.filter((a) => typeof switchboardIdOf(a) === "string" && a.createdAt < settled);
  const rows = await assistantRows(deps.db, [...new Set(ours.map((a) => switchboardIdOf(a)!))]);
  const report: AssistantReconcileReport = { vapi_assistants: listing.items.length, deleted: [], failures: 0 };
  const unknown = ours.filter((a) => !rows.has(switchboardIdOf(a)!)).length;
  const braked = unknown > MAX_UNKNOWN_WITHOUT_REVIEW && unknown > ours.length / 4;
  if (braked) {
    deps.log.error("reconcile_assistants_braked", {
      unknown,
      ours: ours.length,
      message: "Many Vapi assistants carry our metadata but have no row: is VAPI_API_KEY another deployment's? They were not deleted.",
    });
  }

  for (const vapiAssistant of ours) {
    const switchboardId = switchboardIdOf(vapiAssistant)!;
    if (braked && !rows.has(switchboardId)) continue;
    const reason = strayReason(rows.get(switchboardId), vapiAssistant.id);
    if (!reason) continue;
    try {
      await deps.vapi.deleteAssistant(vapiAssistant.id);
    } catch (error) {
      if (!(error instanceof UpstreamError && error.isNotFound)) {
        report.failures++;
        deps.log.error("stray_assistant_delete_failed", { vapi_assistant_id: vapiAssistant.id, assistant_id: switchboardId, error });
        continue;
      }
    }
    deps.log.warn("stray_assistant_deleted", {
      vapi_assistant_id: vapiAssistant.id,
      assistant_id: switchboardId,
      reason,
      vapi_created_at: vapiAssistant.createdAt,
    });
    report.deleted.push({ vapi_assistant_id: vapiAssistant.id, switchboard_assistant_id: switchboardId, reason });
  }
  deps.log.info("reconcile_assistants_done", {
    vapi_assistants: report.vapi_assistants,
    deleted: report.deleted.length,
    failures: report.failures,
  });
  return report;
}

type AssistantRef = { state: (typeof ASSISTANT_STATES)[number]; vapiAssistantId: string | null };

function strayReason(row: AssistantRef | undefined, vapiAssistantId: string): StrayReason | null {
  if (!row || row.state === "deleted") return "no_active_assistant";
  // Mid-way: the request (or the sweep) that owns the row finishes it.
  if (row.state === "creating" || row.state === "deleting") return null;
  return row.vapiAssistantId === vapiAssistantId ? null : "duplicate";
}

const switchboardIdOf = (assistant: VapiAssistant) => {
  const id = assistant.metadata?.switchboardAssistantId;
  return typeof id === "string" && id.length > 0 ? id : undefined;
};

/**
 * The rows of these ids: every assistant not deleted, in one read along `assistants_state_created`, then the few
 * ids left (deleted rows, or none at all) by id, in one batch. One or two round trips, however many there are.
 */
async function assistantRows(db: Db, ids: string[]): Promise<Map<string, AssistantRef>> {
  const columns = { id: assistants.id, state: assistants.state, vapiAssistantId: assistants.vapiAssistantId };
  const rows = new Map<string, AssistantRef>();
  if (ids.length === 0) return rows;
  const live = await db
    .select(columns)
    .from(assistants)
    .where(inArray(assistants.state, ["creating", "active", "deleting"]));
  const wanted = new Set(ids);
  for (const row of live) if (wanted.has(row.id)) rows.set(row.id, row);
  const [first, ...more] = idChunks(ids.filter((id) => !rows.has(id))).map((chunk) =>
    db.select(columns).from(assistants).where(inArray(assistants.id, chunk)),
  );
  if (first) for (const row of (await db.batch([first, ...more])).flat()) rows.set(row.id, row);
  return rows;
}
