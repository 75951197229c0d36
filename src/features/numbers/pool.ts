import { and, count, eq, getTableColumns, inArray, isNull, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { phoneNumberEvents, phoneNumbers, type PHONE_NUMBER_EVENTS } from "../../db/schema";
import type { PhoneNumberRow } from "../assistants/view";
import { eventIfChanged } from "./events";

/** Statuses of a free Vapi number that still occupies one of the account's free slots. */
export const HOLDS_FREE_SLOT = ["provisioning", "active", "stuck", "failed"] as const;

export type PhoneNumberEvent = (typeof PHONE_NUMBER_EVENTS)[number];

export interface AcquireRequest {
  /** Null when numbers are made ahead of demand, unassigned. */
  assistantId: string | null;
  orgId: string;
  areaCode: string | null;
  /** The id the number row gets if a new free number is reserved. */
  reservationId: string;
  freeNumberLimit: number;
  now: string;
}

/** What the pool gave an assistant: an existing unassigned number, or a reserved slot for a new free number. */
export type PoolSlot = { kind: "pool"; number: PhoneNumberRow } | { kind: "new"; reservationId: string };

/** A number waiting in the pool: active, without an assistant. */
export const waitingInPool = and(eq(phoneNumbers.status, "active"), isNull(phoneNumbers.assistantId));

/**
 * Since when a number has waited: since it was last unassigned, else since it was made. The pool's queue order,
 * the expression the indexes `phone_numbers_pool`, `_pool_area` and `_queue` hold.
 */
export const waitingSince = sql<string>`coalesce(${phoneNumbers.unassignedAt}, ${phoneNumbers.createdAt})`;

/**
 * Claims the best unassigned active number for the assistant, in one guarded statement: the organisation's
 * own numbers first, then the requested area code, then the one unassigned longest. Each preference is one
 * probe of the pool's queue indexes (`LIMIT 1` along `waitingSince`), tried in that order until one finds a
 * number, so a claim reads a few index entries however large the pool is. Two concurrent claims
 * cannot take the same number: the row must still be unassigned when the UPDATE runs, and the unique index
 * on `assistant_id` backs it.
 */
export function claimPoolNumber(db: Db, request: AcquireRequest) {
  const oldestWaiting = (owner: SQL, areaCode?: string) =>
    sql`(${db
      .select({ id: phoneNumbers.id })
      .from(phoneNumbers)
      .where(and(waitingInPool, owner, areaCode === undefined ? undefined : eq(phoneNumbers.areaCode, areaCode)))
      .orderBy(waitingSince)
      .limit(1)})`;
  const own = eq(phoneNumbers.orgId, request.orgId);
  const shared = isNull(phoneNumbers.orgId);
  const areaCode = request.areaCode ?? undefined;
  const probes =
    areaCode === undefined
      ? [oldestWaiting(own), oldestWaiting(shared)]
      : [oldestWaiting(own, areaCode), oldestWaiting(own), oldestWaiting(shared, areaCode), oldestWaiting(shared)];
  return db
    .update(phoneNumbers)
    .set({ assistantId: request.assistantId, assignedAt: request.now, updatedAt: request.now })
    .where(
      and(
        // coalesce evaluates its arguments in turn and stops at the first number found.
        sql`${phoneNumbers.id} = coalesce(${sql.join(probes, sql`, `)})`,
        isNull(phoneNumbers.assistantId),
        eq(phoneNumbers.status, "active"),
        mayTakeNumber(request),
      ),
    )
    .returning();
}

/**
 * An assistant takes a number only while it is being made or active, and holds no other: a concurrent request
 * that gave it one, or a deletion that claimed it, leaves this one nothing to take.
 */
function mayTakeNumber(request: AcquireRequest) {
  if (!request.assistantId) return sql`1`;
  return sql`NOT EXISTS (SELECT 1 FROM phone_numbers WHERE assistant_id = ${request.assistantId})
    AND EXISTS (SELECT 1 FROM assistants WHERE id = ${request.assistantId} AND state IN ('creating', 'active'))`;
}

/**
 * Free Vapi numbers the account holds: the rows that occupy a slot, plus those made outside Switchboard as last
 * counted (`vapi_account`). The one measure the reservation, the alerts and the overview compare to the limit.
 */
export const FREE_NUMBERS_HELD = sql`((SELECT count(*) FROM phone_numbers WHERE source = 'vapi_free' AND status IN ('provisioning', 'active', 'stuck', 'failed'))
  + coalesce((SELECT outside_free_numbers FROM vapi_account WHERE id = 'vapi'), 0))`;

/**
 * Reserves a slot for a new free Vapi number, only if the assistant got no number from the claim before it (in
 * the same batch) and the account holds fewer free numbers than the limit, provisioning ones and those made
 * outside Switchboard included, so parallel requests cannot overshoot it and Vapi is not asked for a number it
 * has no room for.
 */
export function reserveFreeNumber(db: Db, request: AcquireRequest) {
  const row: Partial<Record<keyof PhoneNumberRow, string | number | null>> = {
    id: request.reservationId,
    provider: "vapi",
    source: "vapi_free",
    origin: "switchboard",
    status: "provisioning",
    areaCode: request.areaCode,
    assistantId: request.assistantId,
    assignedAt: request.assistantId ? request.now : null,
    provisioningAttempts: 0,
    createdAt: request.now,
    updatedAt: request.now,
  };
  // INSERT … SELECT with a guard: drizzle lists every column in table order, so the SELECT does too.
  const values = sql.join(
    Object.keys(getTableColumns(phoneNumbers)).map((key) => sql`${row[key as keyof PhoneNumberRow] ?? null}`),
    sql`, `,
  );
  return db
    .insert(phoneNumbers)
    .select(
      sql`SELECT ${values}
          WHERE ${mayTakeNumber(request)}
            AND ${FREE_NUMBERS_HELD} < ${request.freeNumberLimit}`,
    )
    .returning({ id: phoneNumbers.id });
}

export function slotFrom(claimed: PhoneNumberRow[], reserved: { id: string }[]): PoolSlot | null {
  if (claimed[0]) return { kind: "pool", number: claimed[0] };
  if (reserved[0]) return { kind: "new", reservationId: reserved[0].id };
  return null;
}

/** Gives a claimed pool number back, keeping its place in the queue (its `unassigned_at` is untouched). */
export function returnClaim(db: Db, numberId: string, assistantId: string, now: string) {
  return db
    .update(phoneNumbers)
    .set({ assistantId: null, assignedAt: null, updatedAt: now })
    .where(and(eq(phoneNumbers.id, numberId), eq(phoneNumbers.assistantId, assistantId)));
}

/** Frees a reservation whose Vapi number was never made. */
export function dropReservation(db: Db, reservationId: string) {
  return db.delete(phoneNumbers).where(and(eq(phoneNumbers.id, reservationId), isNull(phoneNumbers.vapiPhoneNumberId)));
}

/** Unassigns the number of an assistant that goes away; the number returns to the pool it came from. */
/**
 * Returns a number its assistant gives up (deleted, or replaced after Vapi blocked the number): unassigned only
 * while that assistant still holds it, and its `unassigned` event only if this batch unassigned it, so racing
 * requests record it once. The first statement returns the number's id when it acted.
 */
export function letGoOfNumber(
  db: Db,
  numberId: string,
  who: { orgId: string | null; assistantId: string },
  at: string,
  reason: "assistant_deleted" | "replaced",
) {
  return [
    unassignNumber(db, numberId, at, who.assistantId).returning({ id: phoneNumbers.id }),
    eventIfChanged(db, numberId, "unassigned", who, at, { reason }),
  ] as const;
}

/** With `fromAssistantId`, only while the number is still that assistant's (a racing request may have freed it). */
export function unassignNumber(db: Db, numberId: string, now: string, fromAssistantId?: string) {
  return db
    .update(phoneNumbers)
    .set({ assistantId: null, assignedAt: null, unassignedAt: now, updatedAt: now })
    .where(
      fromAssistantId ? and(eq(phoneNumbers.id, numberId), eq(phoneNumbers.assistantId, fromAssistantId)) : eq(phoneNumbers.id, numberId),
    );
}

export function recordEvent(
  db: Db,
  event: PhoneNumberEvent,
  numberId: string,
  who: { orgId?: string | null; assistantId?: string | null },
  at: string,
  detail?: Record<string, unknown>,
) {
  return db.insert(phoneNumberEvents).values({
    phoneNumberId: numberId,
    event,
    orgId: who.orgId ?? null,
    assistantId: who.assistantId ?? null,
    detail: detail ?? null,
    createdAt: at,
  });
}

/** The name a free number gets in Vapi: it identifies the row (reconciliation finds orphans by it). ≤ 40 chars. */
export const vapiNumberName = (rowId: string) => `sb-${rowId}`;
const rowIdFromVapiName = (name: string | undefined) => (name?.startsWith("sb-") ? name.slice(3) : null);

/** Row ids are UUIDs: a hand-made number named "sb-something" is not one of ours. */
const ROW_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The row id a Vapi number's name says Switchboard made it for, or null (not one of ours). */
export function switchboardRowIdOf(name: string | undefined): string | null {
  const rowId = rowIdFromVapiName(name);
  return rowId && ROW_ID.test(rowId) ? rowId : null;
}

/** Where a number came from, as operators read it: made by Switchboard, adopted from the Vapi account, or an organisation's own Twilio number. */
export const NUMBER_ORIGINS = ["made_here", "adopted", "org_twilio"] as const;
export type NumberOrigin = (typeof NUMBER_ORIGINS)[number];

export function numberOriginOf(row: Pick<PhoneNumberRow, "origin" | "source">): NumberOrigin {
  if (row.origin === "adopted") return "adopted";
  return row.source === "twilio_imported" ? "org_twilio" : "made_here";
}

export interface PoolStats {
  total: number;
  limit: number;
  assigned: number;
  unassigned: number;
  provisioning: number;
  stuck: number;
  /** Free Vapi numbers the account holds: Switchboard's rows plus `free_numbers_outside`. */
  free_numbers: number;
  /** Free Vapi numbers made outside Switchboard and not adopted, as last counted (the import, the daily reconciliation). */
  free_numbers_outside: number;
  percent_used: number;
  by_provider: Record<"vapi" | "twilio", number>;
  by_origin: Record<NumberOrigin, number>;
}

/** Non-released numbers counted by provider, status, assigned and free (the rows `toPoolStats` folds). */
export function poolStatsQuery(db: Db) {
  // Every status but released, spelled as IN so the index skips the released rows (they only grow).
  const held = inArray(phoneNumbers.status, [...HOLDS_FREE_SLOT]);
  return db
    .select({
      provider: phoneNumbers.provider,
      status: phoneNumbers.status,
      assigned: sql<number>`${phoneNumbers.assistantId} IS NOT NULL`,
      free: sql<number>`${phoneNumbers.source} = 'vapi_free'`,
      origin: phoneNumbers.origin,
      source: phoneNumbers.source,
      n: count(),
    })
    .from(phoneNumbers)
    .where(held)
    .groupBy(phoneNumbers.provider, phoneNumbers.status, sql`3`, phoneNumbers.origin, phoneNumbers.source);
}

export type PoolStatsRow = Awaited<ReturnType<typeof poolStatsQuery>>[number];

/** The state a non-released number counts as: the four add up to `total`. */
export function poolStateOf(row: Pick<PoolStatsRow, "status" | "assigned">): "assigned" | "unassigned" | "provisioning" | "stuck" {
  if (row.status === "provisioning") return "provisioning";
  if (row.status === "stuck" || row.status === "failed") return "stuck";
  return row.assigned ? "assigned" : "unassigned";
}

/**
 * The pool at a glance, from `poolStatsQuery` (batched with the overview's other reads). Every number not released is exactly one of assigned (active, with
 * an assistant), unassigned (active, without), provisioning, or stuck (stuck or failed), so the four add up
 * to `total`. `percent_used` is free Vapi numbers held against the account's limit.
 */
export function toPoolStats(rows: PoolStatsRow[], freeNumberLimit: number, outsideFreeNumbers = 0): PoolStats {
  const stats: PoolStats = {
    total: 0,
    limit: freeNumberLimit,
    assigned: 0,
    unassigned: 0,
    provisioning: 0,
    stuck: 0,
    free_numbers: outsideFreeNumbers,
    free_numbers_outside: outsideFreeNumbers,
    percent_used: 0,
    by_provider: { vapi: 0, twilio: 0 },
    by_origin: { made_here: 0, adopted: 0, org_twilio: 0 },
  };
  for (const row of rows) {
    stats.total += row.n;
    stats.by_provider[row.provider] += row.n;
    stats.by_origin[numberOriginOf(row)] += row.n;
    if (row.free && (HOLDS_FREE_SLOT as readonly string[]).includes(row.status)) stats.free_numbers += row.n;
    stats[poolStateOf(row)] += row.n;
  }
  stats.percent_used = freeNumberLimit > 0 ? Math.round((stats.free_numbers / freeNumberLimit) * 1000) / 10 : 100;
  return stats;
}

export interface UnassignedNumber {
  id: string;
  number: string | null;
  provider: "vapi" | "twilio";
  origin: NumberOrigin;
  area_code: string | null;
  org_id: string | null;
  since: string;
}

/** Active numbers waiting for an assistant, the longest-waiting first. */
export function unassignedQuery(db: Db) {
  return db.select().from(phoneNumbers).where(waitingInPool).orderBy(waitingSince, phoneNumbers.id);
}

export const toUnassignedNumber = (r: PhoneNumberRow): UnassignedNumber => ({
  id: r.id,
  number: r.number,
  provider: r.provider,
  origin: numberOriginOf(r),
  area_code: r.areaCode,
  org_id: r.orgId,
  since: r.unassignedAt ?? r.createdAt,
});
