import { and, asc, eq, gt, inArray, isNotNull, ne, sql, type SQL } from "drizzle-orm";
import { assistants, organizations, phoneNumbers } from "../../db/schema";
import type { Services } from "../../services";
import { CONNECTING } from "./assistant-request";
import { routesAtEdge } from "./mode";

/**
 * In edge routing each number carries a `fallbackDestination` in Vapi, used when the `assistant-request` answer
 * fails (Switchboard down or slow): its assistant's emergency contact, else the organisation's fallback line.
 * `phone_numbers.vapi_fallback` records what Switchboard last set there, so a sync changes only what differs.
 */

/** At most this many numbers a sync: a request's background task stays short; the daily repair pages through all. */
export const FALLBACK_SYNC_BATCH = 100;

/** The organisation that answers for a number: its assistant's, else its own (an organisation's unassigned number). */
const owningOrg = sql`coalesce(${assistants.orgId}, ${phoneNumbers.orgId})`;

/** The fallback a number should carry: the active assistant's emergency contact, else its organisation's line. */
export const wantedFallback = sql<string | null>`coalesce(
  case when ${assistants.state} = 'active' then ${assistants.emergencyContactPhone} end,
  ${organizations.fallbackPhone}
)`;

/** Which numbers a sync looks at: these, an organisation's, or every one (from `after`, in id order). */
export type FallbackScope = { numberIds: string[] } | { orgId: string } | { after?: string };

export type FallbackDeps = Pick<Services, "db" | "vapi" | "log" | "settings">;

export interface FallbackSyncReport {
  /** Numbers whose wanted fallback differed from the recorded one. */
  differing: number;
  updated: number;
  failed: number;
  /** Numbers that should carry none any more: Vapi cannot be told so, and they keep their last one. */
  not_cleared: string[];
  /** The last number looked at when the batch was full: more may follow it (every-number scope). */
  next: string | null;
}

/**
 * The rows that may be the organisation's numbers, found along indexes (its own numbers, and those of its
 * assistants), so an organisation's sync reads its numbers rather than every row; `owningOrg` still decides.
 */
const numbersOf = (orgId: string) =>
  sql`(SELECT id FROM phone_numbers WHERE org_id = ${orgId}
    UNION SELECT n.id FROM assistants a JOIN phone_numbers n ON n.assistant_id = a.id WHERE a.org_id = ${orgId})`;

function scopeFilter(scope: FallbackScope): SQL | undefined {
  if ("numberIds" in scope) return inArray(phoneNumbers.id, scope.numberIds);
  if ("orgId" in scope) return and(sql`${owningOrg} = ${scope.orgId}`, sql`${phoneNumbers.id} IN ${numbersOf(scope.orgId)}`);
  return scope.after ? gt(phoneNumbers.id, scope.after) : undefined;
}

/**
 * Makes the Vapi `fallbackDestination` of the numbers in `scope` what D1 wants: one D1 read finds those whose
 * wanted fallback differs from `vapi_fallback`, each is PATCHed in Vapi, and `vapi_fallback` is recorded only if
 * it still holds the value read (a concurrent sync that got there first is not overwritten). A failure is logged
 * and left to the daily reconciliation. Does nothing in direct routing, where Vapi routes calls itself.
 */
export async function syncFallbacks(deps: FallbackDeps, scope: FallbackScope): Promise<FallbackSyncReport> {
  const report: FallbackSyncReport = { differing: 0, updated: 0, failed: 0, not_cleared: [], next: null };
  if (!routesAtEdge(deps.settings)) return report;
  if ("numberIds" in scope && scope.numberIds.length === 0) return report;
  const rows = await deps.db
    .select({
      id: phoneNumbers.id,
      vapiPhoneNumberId: phoneNumbers.vapiPhoneNumberId,
      recorded: phoneNumbers.vapiFallback,
      wanted: wantedFallback,
    })
    .from(phoneNumbers)
    .leftJoin(assistants, eq(assistants.id, phoneNumbers.assistantId))
    .leftJoin(organizations, eq(organizations.id, owningOrg))
    .where(
      and(
        ne(phoneNumbers.status, "released"),
        isNotNull(phoneNumbers.vapiPhoneNumberId),
        sql`${wantedFallback} is not ${phoneNumbers.vapiFallback}`,
        scopeFilter(scope),
      ),
    )
    .orderBy(asc(phoneNumbers.id))
    .limit(FALLBACK_SYNC_BATCH);
  report.differing = rows.length;
  if (rows.length === FALLBACK_SYNC_BATCH) report.next = rows[rows.length - 1]!.id;

  for (const row of rows) {
    if (row.wanted === null) {
      report.not_cleared.push(row.id);
      continue;
    }
    try {
      await deps.vapi.updatePhoneNumber(row.vapiPhoneNumberId!, {
        fallbackDestination: { type: "number", number: row.wanted, message: CONNECTING },
      });
      await deps.db
        .update(phoneNumbers)
        .set({ vapiFallback: row.wanted })
        .where(and(eq(phoneNumbers.id, row.id), sql`${phoneNumbers.vapiFallback} is ${row.recorded}`));
      report.updated++;
    } catch (error) {
      report.failed++;
      deps.log.warn("fallback_sync_failed", { phone_number_id: row.id, vapi_phone_number_id: row.vapiPhoneNumberId, error });
    }
  }
  if (report.not_cleared.length > 0) {
    deps.log.warn("fallback_not_cleared", {
      count: report.not_cleared.length,
      phone_number_ids: report.not_cleared.slice(0, 20),
      reason: "Vapi cannot remove a fallbackDestination: the number keeps its last one",
    });
  }
  if (report.updated + report.failed > 0) {
    deps.log.info("fallbacks_synced", { updated: report.updated, failed: report.failed, more: report.next !== null });
  }
  return report;
}

/** Every number, page by page: the daily repair. */
export async function syncAllFallbacks(deps: FallbackDeps): Promise<Omit<FallbackSyncReport, "next">> {
  const total = { differing: 0, updated: 0, failed: 0, not_cleared: [] as string[] };
  let after: string | undefined;
  do {
    const page = await syncFallbacks(deps, { after });
    total.differing += page.differing;
    total.updated += page.updated;
    total.failed += page.failed;
    total.not_cleared.push(...page.not_cleared);
    after = page.next ?? undefined;
  } while (after);
  return total;
}

/**
 * After a change that moves a number's fallback (an assistant gets or loses a number, an emergency contact or a
 * fallback line changes): the sync runs after the response, so the request itself makes no extra Vapi call.
 */
export async function followFallbacks(deps: Pick<Services, "settings" | "log" | "inBackground">, scope: FallbackScope): Promise<void> {
  if (!routesAtEdge(deps.settings)) return;
  await deps.inBackground(async (services) => {
    try {
      await syncFallbacks(services, scope);
    } catch (error) {
      deps.log.warn("fallback_sync_failed", { scope, error });
    }
  });
}
