import type { PhoneNumberRow } from "../assistants/view";
import { and, asc, eq, isNotNull, type SQL, sql } from "drizzle-orm";
import { encodeCursor, matchCursor } from "../../platform/cursor";
import type { Db } from "../../db/client";
import { assistants, organizations as organizationRows, phoneNumbers } from "../../db/schema";
import type { LiveCalls } from "../routing/call-counter";
import { openAlertsQuery, toAlertView, type AlertView } from "../alerts/alerts";
import { outsideFreeNumbersOf, readVapiAccount } from "../numbers/account";
import { lastImportOf, type ImportSummary } from "../vapi-import/report";
import {
  numberOriginOf,
  poolStateOf,
  poolStatsQuery,
  toPoolStats,
  toUnassignedNumber,
  unassignedQuery,
  waitingInPool,
  waitingSince,
  type NumberOrigin,
  type PoolStats,
  type PoolStatsRow,
  type UnassignedNumber,
} from "../numbers/pool";

const DAY_MS = 86_400_000;

interface ProviderCounts {
  total: number;
  assigned: number;
  unassigned: number;
  provisioning: number;
  stuck: number;
}

export interface ProvisioningNumber {
  phone_number_id: string;
  status: "provisioning" | "stuck" | "failed";
  origin: NumberOrigin;
  vapi_phone_number_id: string | null;
  area_code: string | null;
  org_id: string | null;
  assistant_id: string | null;
  assistant_name: string | null;
  attempts: number;
  max_attempts: number;
  started_at: string | null;
  deadline: string | null;
  next_check_at: string | null;
}

interface TwilioOrgStatus {
  org_id: string;
  configured: boolean;
  auto_purchase: boolean;
  area_code: string | null;
  /** Every Twilio number Switchboard knows for the organisation: in Vapi, or listed and waiting. */
  numbers_total: number;
  numbers_assigned: number;
  numbers_unassigned: number;
  numbers_listed: number;
  bought_this_month: number;
  bought_this_month_cost: number;
  /** Numbers bought through Switchboard the organisation still holds, and what they cost each month. */
  purchased_held: number;
  purchased_monthly_cost: number;
}

export interface PoolOverview {
  stats: PoolStats & { providers: Record<"vapi" | "twilio", ProviderCounts> };
  unassigned: (UnassignedNumber & { cleanup_after: string })[];
  provisioning: ProvisioningNumber[];
  twilio: {
    number_monthly_cost: number;
    bought_this_month: number;
    bought_this_month_cost: number;
    organizations: TwilioOrgStatus[];
  };
  alerts: AlertView[];
  /**
   * The lists above hold the oldest `limit` numbers of their kind, and the first `limit` organisations with Twilio
   * (by id); the totals say how many there are in all.
   */
  lists: { limit: number; unassigned_total: number; provisioning_total: number; twilio_organizations_total: number };
  /** Live calls against the caps; `live` is null when the call counter could not be read. */
  calls: {
    routing_mode: "direct" | "edge";
    live: number | null;
    limit: number;
    organizations: { org_id: string; live: number | null; max_concurrent_calls: number | null }[];
  };
  /** The last import of the Vapi account (`POST /api/admin/vapi/import`), dry run or not; null before the first. */
  last_import: { at: string; dry_run: boolean; summary: ImportSummary } | null;
}

interface OverviewSettings {
  VAPI_FREE_NUMBER_LIMIT: number;
  VAPI_CONCURRENCY_LIMIT: number;
  ROUTING_MODE: "direct" | "edge";
  POLL_MAX_ATTEMPTS: number;
  UNUSED_NUMBER_DAYS: number;
  TWILIO_NUMBER_MONTHLY_COST: number;
}

interface TwilioOrgRow {
  org_id: string;
  configured: number;
  auto_purchase: number;
  area_code: string | null;
  in_vapi: number;
  assigned: number;
  listed: number;
  bought_this_month: number;
  purchased_held: number;
}

/** Everything the dashboard shows about the pool, read in one D1 round trip. */
export async function getPoolOverview(
  db: Db,
  settings: OverviewSettings,
  liveCalls: LiveCalls | null = null,
  nowMs = Date.now(),
  listLimit = OVERVIEW_LIST_DEFAULT,
): Promise<PoolOverview> {
  const monthStart = startOfMonth(nowMs);
  const [statsRows, account, unassignedRows, provisioning, stuck, failed, twilioRows, [twilioTotals], alertRows, caps] = await db.batch([
    poolStatsQuery(db),
    readVapiAccount(db),
    unassignedQuery(db).limit(listLimit),
    ...provisioningQueries(db, listLimit),
    db.all<TwilioOrgRow>(twilioOrgsQuery(monthStart, listLimit)),
    db.all<{ organizations: number; bought_this_month: number }>(twilioTotalsQuery(monthStart)),
    openAlertsQuery(db),
    db
      .select({ orgId: organizationRows.id, cap: organizationRows.maxConcurrentCalls })
      .from(organizationRows)
      .where(isNotNull(organizationRows.maxConcurrentCalls)),
  ]);
  const price = settings.TWILIO_NUMBER_MONTHLY_COST;
  const boughtThisMonth = twilioTotals?.bought_this_month ?? 0;
  const stats = toPoolStats(statsRows, settings.VAPI_FREE_NUMBER_LIMIT, outsideFreeNumbersOf(account));
  return {
    stats: { ...stats, providers: providerCounts(statsRows) },
    unassigned: unassignedRows.map((row) => withCleanupDate(toUnassignedNumber(row), settings)),
    provisioning: oldestNotReady([provisioning, stuck, failed], listLimit).map((row) =>
      toProvisioningNumber(row, settings.POLL_MAX_ATTEMPTS),
    ),
    twilio: {
      number_monthly_cost: price,
      bought_this_month: boughtThisMonth,
      bought_this_month_cost: money(boughtThisMonth * price),
      organizations: twilioRows.map((row) => toTwilioOrgStatus(row, price)),
    },
    alerts: alertRows.map(toAlertView),
    lists: {
      limit: listLimit,
      unassigned_total: stats.unassigned,
      provisioning_total: stats.provisioning + stats.stuck,
      twilio_organizations_total: twilioTotals?.organizations ?? 0,
    },
    last_import: lastImportOf(account),
    calls: callsAgainstCaps(settings, liveCalls, caps),
  };
}

function callsAgainstCaps(
  settings: OverviewSettings,
  liveCalls: LiveCalls | null,
  caps: { orgId: string; cap: number | null }[],
): PoolOverview["calls"] {
  const capOf = new Map(caps.map((c) => [c.orgId, c.cap]));
  const liveOf = new Map((liveCalls?.byOrg ?? []).map((o) => [o.orgId, o.live]));
  const orgIds = [...new Set([...capOf.keys(), ...liveOf.keys()])].sort();
  return {
    routing_mode: settings.ROUTING_MODE,
    live: liveCalls?.total ?? null,
    limit: settings.VAPI_CONCURRENCY_LIMIT,
    organizations: orgIds.map((id) => ({
      org_id: id,
      live: liveCalls ? (liveOf.get(id) ?? 0) : null,
      max_concurrent_calls: capOf.get(id) ?? null,
    })),
  };
}

export function toProvisioningNumber(
  { number, assistantName }: { number: PhoneNumberRow; assistantName: string | null },
  maxAttempts: number,
): ProvisioningNumber {
  return {
    phone_number_id: number.id,
    status: number.status as ProvisioningNumber["status"],
    origin: numberOriginOf(number),
    vapi_phone_number_id: number.vapiPhoneNumberId,
    area_code: number.areaCode,
    org_id: number.orgId,
    assistant_id: number.assistantId,
    assistant_name: assistantName ?? null,
    attempts: number.provisioningAttempts,
    max_attempts: maxAttempts,
    started_at: number.provisioningStartedAt,
    deadline: number.provisioningDeadline,
    next_check_at: number.nextCheckAt,
  };
}

type NotReadyStatus = ProvisioningNumber["status"];

type ProvisioningRow = { number: PhoneNumberRow; assistantName: string | null };

/**
 * Numbers not usable yet (or ever), the oldest first: one query per status, each read in order along
 * `phone_numbers_not_ready` and stopped by its LIMIT (batch them), merged by `oldestNotReady`.
 */
export function provisioningQueries(db: Db, limit = 500) {
  return [notReadyQuery(db, "provisioning", limit), notReadyQuery(db, "stuck", limit), notReadyQuery(db, "failed", limit)] as const;
}

function notReadyQuery(db: Db, status: NotReadyStatus, limit: number) {
  return db
    .select({ number: phoneNumbers, assistantName: assistants.name })
    .from(phoneNumbers)
    .leftJoin(assistants, eq(assistants.id, phoneNumbers.assistantId))
    .where(eq(phoneNumbers.status, status))
    .orderBy(asc(sql`coalesce(${phoneNumbers.provisioningStartedAt}, ${phoneNumbers.createdAt})`), asc(phoneNumbers.id))
    .limit(limit);
}

/** The oldest `limit` of the per-status lists of `provisioningQueries`. */
export function oldestNotReady(lists: readonly ProvisioningRow[][], limit = 500): ProvisioningRow[] {
  const sinceOf = ({ number }: ProvisioningRow) => `${number.provisioningStartedAt ?? number.createdAt}|${number.id}`;
  return lists
    .flat()
    .sort((a, b) => (sinceOf(a) < sinceOf(b) ? -1 : 1))
    .slice(0, limit);
}

/** How many unassigned and provisioning numbers the overview lists by default (the oldest), and at most. */
export const OVERVIEW_LIST_DEFAULT = 100;
export const OVERVIEW_LIST_MAX = 500;

const encodeUnassignedCursor = (since: string, id: string) => encodeCursor(`un1:${since}|${id}`);

/** The position inside a cursor, or null when the text is not a cursor this API gave out. */
export function decodeUnassignedCursor(cursor: string): { since: string; id: string } | null {
  const match = matchCursor(cursor, /^un1:(\d{4}-\d{2}-\d{2}T[\d:.]+Z)\|([0-9a-f-]{36})$/);
  return match ? { since: match[1]!, id: match[2]! } : null;
}

/** A page of the unassigned numbers, the longest-waiting first (the overview lists only the oldest). */
export async function listUnassignedPage(
  db: Db,
  settings: Pick<OverviewSettings, "UNUSED_NUMBER_DAYS">,
  options: { limit: number; after?: { since: string; id: string } },
) {
  const rows = await db
    .select()
    .from(phoneNumbers)
    .where(
      and(
        waitingInPool,
        options.after ? sql`(${waitingSince}, ${phoneNumbers.id}) > (${options.after.since}, ${options.after.id})` : undefined,
      ),
    )
    .orderBy(waitingSince, phoneNumbers.id)
    .limit(options.limit + 1);
  const page = rows.slice(0, options.limit).map((row) => withCleanupDate(toUnassignedNumber(row), settings));
  const last = page[page.length - 1];
  return { numbers: page, next_cursor: rows.length > options.limit && last ? encodeUnassignedCursor(last.since, last.id) : null };
}

function withCleanupDate(view: UnassignedNumber, settings: Pick<OverviewSettings, "UNUSED_NUMBER_DAYS">) {
  return { ...view, cleanup_after: new Date(Date.parse(view.since) + settings.UNUSED_NUMBER_DAYS * DAY_MS).toISOString() };
}

/**
 * The organisations that have Twilio configured or own Twilio numbers, after the org id `after`: each part read
 * along an org-id index and merged in that order, so a LIMIT stops the reading.
 */
function twilioOrgIds(after: SQL) {
  return sql`
      SELECT id AS org_id FROM organizations WHERE twilio_credentials IS NOT NULL AND id > ${after}
      UNION SELECT org_id FROM twilio_numbers WHERE org_id > ${after}
      UNION SELECT org_id FROM phone_numbers WHERE provider = 'twilio' AND status != 'released' AND org_id > ${after}`;
}

/** This month's first instant, inlined: drizzle's D1 batch cannot bind the parameters of raw SQL. It is our own. */
function monthSql(monthStart: string) {
  if (!/^\d{4}-\d{2}-01T00:00:00\.000Z$/.test(monthStart)) throw new Error(`not a month start: ${monthStart}`);
  return sql.raw(`'${monthStart}'`);
}

/**
 * A page of the organisations with Twilio (`limit` of them, by id, after `after`), each counted by index probes of
 * its own numbers and list (`+column`: not the all-organisation indexes on source and origin), so a page costs its
 * organisations' rows, however many organisations there are. "Bought this month" counts purchases recorded since
 * the first of the month (UTC), released ones included: they were paid for.
 */
function twilioOrgsQuery(monthStart: string, limit: number, after?: string) {
  const since = monthSql(monthStart);
  return sql`
    WITH org_ids AS MATERIALIZED (
      ${twilioOrgIds(after === undefined ? sql.raw("''") : sql`${after}`)}
      ORDER BY 1 LIMIT ${sql.raw(String(Math.trunc(limit)))}
    )
    SELECT
      o.org_id AS org_id,
      coalesce(org.twilio_credentials IS NOT NULL, 0) AS configured,
      coalesce(org.twilio_auto_purchase, 0) AS auto_purchase,
      org.twilio_area_code AS area_code,
      (SELECT count(*) FROM phone_numbers p WHERE p.org_id = o.org_id AND p.provider = 'twilio' AND p.status != 'released') AS in_vapi,
      (SELECT count(*) FROM phone_numbers p WHERE p.org_id = o.org_id AND p.provider = 'twilio' AND p.status != 'released' AND p.assistant_id IS NOT NULL) AS assigned,
      (SELECT count(*) FROM twilio_numbers t WHERE t.org_id = o.org_id AND t.state != 'in_vapi') AS listed,
      (SELECT count(*) FROM phone_numbers p WHERE p.org_id = o.org_id AND +p.source = 'twilio_purchased' AND p.created_at >= ${since})
        + (SELECT count(*) FROM twilio_numbers t WHERE t.org_id = o.org_id AND +t.origin = 'purchased' AND t.phone_number_id IS NULL AND t.created_at >= ${since})
        AS bought_this_month,
      (SELECT count(*) FROM twilio_numbers t WHERE t.org_id = o.org_id AND +t.origin = 'purchased') AS purchased_held
    FROM org_ids o LEFT JOIN organizations org ON org.id = o.org_id
    ORDER BY o.org_id`;
}

/** How many organisations have Twilio, and what all of them bought this month (this month's purchases only are read). */
function twilioTotalsQuery(monthStart: string) {
  const since = monthSql(monthStart);
  return sql`
    SELECT
      (SELECT count(*) FROM (${twilioOrgIds(sql.raw("''"))})) AS organizations,
      (SELECT count(*) FROM phone_numbers WHERE source = 'twilio_purchased' AND created_at >= ${since})
        + (SELECT count(*) FROM twilio_numbers WHERE origin = 'purchased' AND created_at >= ${since} AND phone_number_id IS NULL)
        AS bought_this_month`;
}

/** The org id inside a cursor, or null when the text is not a cursor this API gave out. */
export const decodeTwilioCursor = (cursor: string): string | null => matchCursor(cursor, /^tw1:(.{1,200})$/s)?.[1] ?? null;

/** A page of the organisations with Twilio, in org id order (the overview lists the first `list_limit`). */
export async function listTwilioOrganizationsPage(
  db: Db,
  settings: Pick<OverviewSettings, "TWILIO_NUMBER_MONTHLY_COST">,
  options: { limit: number; after?: string; nowMs?: number },
) {
  const rows = await db.all<TwilioOrgRow>(twilioOrgsQuery(startOfMonth(options.nowMs ?? Date.now()), options.limit + 1, options.after));
  const page = rows.slice(0, options.limit).map((row) => toTwilioOrgStatus(row, settings.TWILIO_NUMBER_MONTHLY_COST));
  const last = page[page.length - 1];
  return { organizations: page, next_cursor: rows.length > options.limit && last ? encodeCursor(`tw1:${last.org_id}`) : null };
}

function toTwilioOrgStatus(row: TwilioOrgRow, price: number): TwilioOrgStatus {
  return {
    org_id: row.org_id,
    configured: Boolean(row.configured),
    auto_purchase: Boolean(row.auto_purchase),
    area_code: row.area_code,
    numbers_total: row.in_vapi + row.listed,
    numbers_assigned: row.assigned,
    numbers_unassigned: row.in_vapi - row.assigned,
    numbers_listed: row.listed,
    bought_this_month: row.bought_this_month,
    bought_this_month_cost: money(row.bought_this_month * price),
    purchased_held: row.purchased_held,
    purchased_monthly_cost: money(row.purchased_held * price),
  };
}

function providerCounts(rows: PoolStatsRow[]): Record<"vapi" | "twilio", ProviderCounts> {
  const empty = (): ProviderCounts => ({ total: 0, assigned: 0, unassigned: 0, provisioning: 0, stuck: 0 });
  const counts = { vapi: empty(), twilio: empty() };
  for (const row of rows) {
    counts[row.provider].total += row.n;
    counts[row.provider][poolStateOf(row)] += row.n;
  }
  return counts;
}

const money = (amount: number) => Math.round(amount * 100) / 100;

function startOfMonth(nowMs: number): string {
  const now = new Date(nowMs);
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
}
