import { and, eq } from "drizzle-orm";
import { phoneNumbers } from "../../db/schema";
import { markStuck, trackerKeyFor } from "./activation";
import type { Services } from "../../services";

type SweepDeps = Pick<Services, "db" | "log" | "resumeTracker" | "stopTracker">;

interface SweepResult {
  checked: number;
  rearmed: number;
  stuck: number;
}

/**
 * The safety net under the trackers (every 5 minutes): a number past its deadline is marked stuck with an
 * alert; any other provisioning number gets its tracker resumed, which re-arms one that lost its alarm.
 */
export async function sweepProvisioning(deps: SweepDeps, nowMs = Date.now()): Promise<SweepResult> {
  // A tracker's last check falls on the deadline; give it a minute before declaring the number stuck.
  const overdue = new Date(nowMs - 60_000).toISOString();
  const rows = await deps.db.select().from(phoneNumbers).where(eq(phoneNumbers.status, "provisioning")).limit(500);
  const result: SweepResult = { checked: rows.length, rearmed: 0, stuck: 0 };
  for (const row of rows) {
    const key = row.trackerKey ?? trackerKeyFor(row.assistantId, row.id);
    try {
      if (row.provisioningDeadline && row.provisioningDeadline < overdue) {
        if (await markStuck(deps, row.id, row.provisioningAttempts)) result.stuck++;
        await deps.stopTracker(key, "stuck");
        continue;
      }
      if (!row.vapiPhoneNumberId) continue; // a reservation still being made, or repaired by its own sweep
      if (!row.trackerKey) {
        await deps.db
          .update(phoneNumbers)
          .set({ trackerKey: key })
          .where(and(eq(phoneNumbers.id, row.id), eq(phoneNumbers.status, "provisioning")));
      }
      const { rearmed } = await deps.resumeTracker(key, {
        numberId: row.id,
        vapiPhoneNumberId: row.vapiPhoneNumberId,
        assistantId: row.assistantId,
      });
      if (rearmed) {
        result.rearmed++;
        deps.log.warn("tracker_rearmed", { phone_number_id: row.id, tracker: key });
      }
    } catch (error) {
      deps.log.error("sweep_number_failed", { phone_number_id: row.id, error });
    }
  }
  return result;
}
