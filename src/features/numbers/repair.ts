import { and, eq, ne, or, sql, isNull } from "drizzle-orm";
import { phoneNumbers } from "../../db/schema";
import { ApiError } from "../../platform/errors";
import { UpstreamError } from "../../integrations/http";
import { resolveAlert } from "../alerts/alerts";
import type { PhoneNumberRow } from "../assistants/view";
import { eventIfChanged } from "./events";
import { upstreamFailure } from "../../platform/upstream-failure";
import type { Services } from "../../services";

type RepairDeps = Pick<Services, "db" | "log" | "vapi" | "stopTracker">;

interface RepairResult {
  /** False when the row already said exactly this (nothing was written). */
  changed: boolean;
  previous: { status: PhoneNumberRow["status"]; number: string | null };
  number: PhoneNumberRow;
}

/**
 * The manual fix: an operator read the number in Vapi's dashboard and records it. Vapi is asked first, and the
 * number must be the one Vapi has for this id; then the row is active with it (one batch: the row, a
 * "repaired" event if it changed, the stuck/failed alerts resolved), and its tracker stops.
 */
export async function repairNumber(deps: RepairDeps, numberId: string, number: string, by: string): Promise<RepairResult> {
  const [row] = await deps.db.select().from(phoneNumbers).where(eq(phoneNumbers.id, numberId)).limit(1);
  if (!row) throw new ApiError(404, "not_found", `Phone number ${numberId} was not found.`);
  if (row.status === "released")
    throw new ApiError(409, "number_released", `Phone number ${numberId} was released; it can no longer be repaired.`);
  if (!row.vapiPhoneNumberId)
    throw new ApiError(409, "not_in_vapi", `Phone number ${numberId} has no Vapi number yet (its creation is still under way).`);

  let inVapi;
  try {
    inVapi = await deps.vapi.getPhoneNumber(row.vapiPhoneNumberId);
  } catch (error) {
    if (error instanceof UpstreamError && error.isNotFound) {
      throw new ApiError(
        422,
        "vapi_number_not_found",
        `Vapi has no phone number ${row.vapiPhoneNumberId} (the Vapi id of ${numberId}); it cannot be ${number}.`,
        {
          vapi_phone_number_id: row.vapiPhoneNumberId,
        },
      );
    }
    throw upstreamFailure(error, "check the number in Vapi");
  }
  const vapiNumber = inVapi.number ?? null;
  if (vapiNumber !== number) {
    throw new ApiError(
      422,
      "number_mismatch",
      `Vapi has ${vapiNumber ?? "no number yet"} for ${row.vapiPhoneNumberId}, not ${number}. Copy the number Vapi shows for this id.`,
      { requested: number, vapi_number: vapiNumber, vapi_phone_number_id: row.vapiPhoneNumberId, vapi_status: inVapi.status ?? null },
    );
  }
  if (inVapi.status === "blocked") {
    throw new ApiError(
      422,
      "vapi_number_blocked",
      `Vapi reports ${number} as blocked; it cannot take calls. Give its assistant another number.`,
      {
        vapi_phone_number_id: row.vapiPhoneNumberId,
      },
    );
  }

  const at = new Date().toISOString();
  const [updated, , , , [after]] = await deps.db.batch([
    deps.db
      .update(phoneNumbers)
      .set({ status: "active", number, activatedAt: row.activatedAt ?? at, nextCheckAt: null, updatedAt: at })
      .where(
        and(
          eq(phoneNumbers.id, numberId),
          ne(phoneNumbers.status, "released"),
          or(ne(phoneNumbers.status, "active"), isNull(phoneNumbers.number), sql`${phoneNumbers.number} != ${number}`),
        ),
      )
      .returning({ id: phoneNumbers.id }),
    eventIfChanged(deps.db, numberId, "repaired", { orgId: row.orgId, assistantId: row.assistantId }, at, {
      number,
      previous_number: row.number,
      previous_status: row.status,
      by,
    }),
    resolveAlert(deps.db, "provisioning_stuck", numberId, at),
    resolveAlert(deps.db, "provisioning_failed", numberId, at),
    deps.db.select().from(phoneNumbers).where(eq(phoneNumbers.id, numberId)),
  ]);
  const changed = updated.length > 0;
  if (changed) deps.log.warn("number_repaired", { phone_number_id: numberId, number, previous_status: row.status, by });
  if (changed && row.trackerKey && (row.status === "provisioning" || row.status === "stuck")) {
    await deps
      .stopTracker(row.trackerKey, "active")
      .catch((error) => deps.log.warn("tracker_stop_failed", { phone_number_id: numberId, error }));
  }
  return { changed, previous: { status: row.status, number: row.number }, number: after ?? row };
}
