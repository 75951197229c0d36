import type { BatchItem } from "drizzle-orm/batch";
import { isRefusal, makeFreeNumber, startTrackingIfProvisioning, type NumberDeps } from "./acquisition";
import { reserveFreeNumber } from "./pool";

export interface PreProvisionResult {
  requested: number;
  created: number;
  phone_number_ids: string[];
  /** Why fewer than requested were made: the configured limit, Vapi refusing, Vapi having none in the area code, or null when all were made. */
  stopped_because: "limit_reached" | "vapi_refused" | "area_code_unavailable" | null;
  message: string;
}

/**
 * Creates up to `count` free numbers ahead of demand, unassigned, so new assistants get one instantly once
 * they are active: the acquisition's new-number step, for nobody yet. Respects the free-number limit (each slot
 * is reserved by the same guarded statement as an assistant's) and stops at the first refusal.
 */
export async function preProvision(deps: NumberDeps, count: number, areaCode: string | null): Promise<PreProvisionResult> {
  const ids: string[] = [];
  let stopped: PreProvisionResult["stopped_because"] = null;
  for (let i = 0; i < count; i++) {
    const at = new Date().toISOString();
    const reservationId = crypto.randomUUID();
    const [reserved] = await deps.db.batch([
      reserveFreeNumber(deps.db, {
        assistantId: null,
        orgId: "",
        areaCode,
        reservationId,
        freeNumberLimit: deps.settings.VAPI_FREE_NUMBER_LIMIT,
        now: at,
      }),
    ]);
    if (reserved.length === 0) {
      stopped = "limit_reached";
      break;
    }
    const made = await makeFreeNumber(deps, reservationId, { orgId: "", assistantId: null, vapiAssistantId: null, areaCode });
    if (isRefusal(made)) {
      stopped = made.refused === "area_code" ? "area_code_unavailable" : "vapi_refused";
      break;
    }
    await deps.db.batch(made.finalize as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
    await startTrackingIfProvisioning(deps, made.number);
    ids.push(reservationId);
  }
  const limit = deps.settings.VAPI_FREE_NUMBER_LIMIT;
  const message =
    stopped === "limit_reached"
      ? `Created ${ids.length} of ${count}: the account holds its limit of ${limit} free numbers.`
      : stopped === "vapi_refused"
        ? `Created ${ids.length} of ${count}: Vapi refused the next number (see the vapi_refused_number alert).`
        : stopped === "area_code_unavailable"
          ? `Created ${ids.length} of ${count}: Vapi has no free numbers left in area code ${areaCode}. Try a nearby area code, or none.`
          : `Created ${ids.length} numbers; they are provisioning and join the pool once active.`;
  return { requested: count, created: ids.length, phone_number_ids: ids, stopped_because: stopped, message };
}
