import { eq } from "drizzle-orm";
import { phoneNumbers } from "../../db/schema";
import { ApiError } from "../../platform/errors";
import { UpstreamError } from "../../integrations/http";
import type { PhoneNumberRow } from "../assistants/view";
import { applyVapiState, markFailed, type CheckOutcome } from "../provisioning/activation";
import { upstreamFailure } from "../../platform/upstream-failure";
import type { Services } from "../../services";

type RefreshDeps = Pick<Services, "db" | "log" | "vapi" | "stopTracker">;

/** Checks one number in Vapi right now and applies the answer, as a tracker's check would. */
export async function refreshNumber(deps: RefreshDeps, numberId: string): Promise<{ outcome: CheckOutcome; number: PhoneNumberRow }> {
  const [row] = await deps.db.select().from(phoneNumbers).where(eq(phoneNumbers.id, numberId)).limit(1);
  if (!row) throw new ApiError(404, "not_found", `Phone number ${numberId} was not found.`);
  if (!row.vapiPhoneNumberId)
    throw new ApiError(409, "not_in_vapi", `Phone number ${numberId} has no Vapi number yet (its creation is still under way).`);

  let outcome: CheckOutcome;
  try {
    outcome = await applyVapiState(deps, row.id, await deps.vapi.getPhoneNumber(row.vapiPhoneNumberId), "refresh");
  } catch (error) {
    if (!(error instanceof UpstreamError && error.isNotFound)) throw upstreamFailure(error, "check the number in Vapi");
    await markFailed(deps, row.id, "the number no longer exists in Vapi");
    outcome = "failed";
  }
  if (outcome !== "pending" && row.trackerKey) {
    await deps
      .stopTracker(row.trackerKey, "active")
      .catch((error) => deps.log.warn("tracker_stop_failed", { phone_number_id: row.id, error }));
  }
  const [after] = await deps.db.select().from(phoneNumbers).where(eq(phoneNumbers.id, numberId)).limit(1);
  return { outcome, number: after ?? row };
}
