import { eq, gte, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { phoneNumberEvents, phoneNumbers } from "../../db/schema";
import { outsideFreeNumbersOf, readVapiAccount } from "../numbers/account";
import { HOLDS_FREE_SLOT, type PhoneNumberEvent, poolStatsQuery, toPoolStats } from "../numbers/pool";

const DAY_MS = 86_400_000;

/** How many days GET /api/admin/phone-pool/usage covers: 1 to 90, 30 unless asked. */
export const USAGE_DAYS_DEFAULT = 30;
export const USAGE_DAYS_MAX = 90;

/** The pool at the end of one UTC day (today: as of now). */
export interface UsageDay {
  date: string;
  assigned: number;
  unassigned: number;
  provisioning: number;
  stuck: number;
  /** Free Vapi numbers held: Switchboard's rows then, plus those made outside it as counted now. */
  free_numbers: number;
}

export interface PoolUsage {
  days: number;
  as_of: string;
  /** VAPI_FREE_NUMBER_LIMIT (its value now: the setting has no history). */
  limit: number;
  /** Free numbers made outside Switchboard as last counted, included in every day's `free_numbers`. */
  free_numbers_outside: number;
  /** Oldest first; the last is today. */
  series: UsageDay[];
}

type Status = (typeof phoneNumbers.$inferSelect)["status"];
/** A number as the usage counts it; null: it did not exist (yet). */
type NumberState = { status: Status; assigned: boolean } | null;

interface WindowEvent {
  id: number;
  numberId: string;
  event: PhoneNumberEvent;
  /** The event names an assistant: for provisioned, stuck and failed, the one holding the number then. */
  withAssistant: number;
  createdAt: string;
  /** `detail.previous_status` (repaired, released by the reconciliation). */
  previousStatus: Status | null;
  /** The number's row now (null: no row). */
  status: Status | null;
  assigned: number;
  source: string | null;
}

/**
 * The pool per UTC day over the last `days` days (today included, as of `nowMs`), in one D1 round trip: today's
 * counts from `phone_numbers`, then each number the history names since the end of the first day is taken back
 * through its events, newest first, to its state at the end of each earlier day. Numbers with no event in the
 * window count the same every day. The free-number limit and the count made outside Switchboard are today's.
 */
export async function getPoolUsage(db: Db, settings: { VAPI_FREE_NUMBER_LIMIT: number }, days: number, nowMs: number): Promise<PoolUsage> {
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS; // midnight UTC
  const dates = Array.from({ length: days }, (_, i) => new Date(today - (days - 1 - i) * DAY_MS).toISOString().slice(0, 10));
  // An event at or after a day's end happened after that day; today ends now (an event stamped now has happened).
  const ends = dates.map((_, i) => new Date(i === days - 1 ? nowMs + 1 : today - (days - 2 - i) * DAY_MS).toISOString());
  const [statsRows, account, events] = await db.batch([poolStatsQuery(db), readVapiAccount(db), windowEventsQuery(db, ends[0]!)]);

  const outside = outsideFreeNumbersOf(account);
  const now = toPoolStats(statsRows, settings.VAPI_FREE_NUMBER_LIMIT, outside);
  const series: UsageDay[] = dates.map((date) => ({
    date,
    assigned: now.assigned,
    unassigned: now.unassigned,
    provisioning: now.provisioning,
    stuck: now.stuck,
    free_numbers: now.free_numbers,
  }));

  for (const history of byNumber(events)) {
    const first = history[0]!;
    const free = first.source === "vapi_free";
    const current: NumberState = first.status === null ? null : { status: first.status, assigned: Boolean(first.assigned) };
    let state = current;
    let next = history.length - 1;
    for (let day = days - 1; day >= 0; day--) {
      while (next >= 0 && history[next]!.createdAt >= ends[day]!) {
        state = stateBefore(history, next, state);
        next--;
      }
      if (state !== current) addDifference(series[day]!, state, current, free);
    }
  }
  return { days, as_of: new Date(nowMs).toISOString(), limit: settings.VAPI_FREE_NUMBER_LIMIT, free_numbers_outside: outside, series };
}

/** Every event since `since`, with its number's row now: on phone_number_events_created, the row by its key. */
function windowEventsQuery(db: Db, since: string) {
  return db
    .select({
      id: phoneNumberEvents.id,
      numberId: phoneNumberEvents.phoneNumberId,
      event: phoneNumberEvents.event,
      withAssistant: sql<number>`${phoneNumberEvents.assistantId} IS NOT NULL`,
      createdAt: phoneNumberEvents.createdAt,
      previousStatus: sql<Status | null>`json_extract(${phoneNumberEvents.detail}, '$.previous_status')`,
      status: phoneNumbers.status,
      assigned: sql<number>`${phoneNumbers.assistantId} IS NOT NULL`,
      source: phoneNumbers.source,
    })
    .from(phoneNumberEvents)
    .leftJoin(phoneNumbers, eq(phoneNumbers.id, phoneNumberEvents.phoneNumberId))
    .where(gte(phoneNumberEvents.createdAt, since));
}

/** The events grouped by number, each group in the order they were written. */
function byNumber(events: WindowEvent[]): WindowEvent[][] {
  const groups = new Map<string, WindowEvent[]>();
  for (const event of events) {
    const group = groups.get(event.numberId);
    if (group) group.push(event);
    else groups.set(event.numberId, [event]);
  }
  for (const group of groups.values()) group.sort((a, b) => a.id - b.id);
  return [...groups.values()];
}

const STATUS_CHANGES: readonly PhoneNumberEvent[] = ["created", "provisioned", "stuck", "failed", "released", "repaired"];

/** Activation and failure start from provisioning or stuck: stuck when the number's change before was "stuck". */
function awaitingStatus(history: WindowEvent[], index: number): Status {
  for (let i = index - 1; i >= 0; i--) {
    if (STATUS_CHANGES.includes(history[i]!.event)) return history[i]!.event === "stuck" ? "stuck" : "provisioning";
  }
  return "provisioning";
}

/** The number's state just before `history[index]`, from its state just after. */
function stateBefore(history: WindowEvent[], index: number, after: NumberState): NumberState {
  const e = history[index]!;
  switch (e.event) {
    case "created":
      return null;
    case "released": // the cleanup releases active, unassigned numbers; the reconciliation says what it released
      return { status: e.previousStatus ?? "active", assigned: Boolean(e.withAssistant) };
    default:
      break;
  }
  if (!after) return null; // a row gone without its history: nothing to take back
  switch (e.event) {
    case "assigned":
    case "reused":
      return { ...after, assigned: false };
    case "unassigned":
      return { ...after, assigned: true };
    case "provisioned":
    case "failed":
      return { ...after, status: awaitingStatus(history, index) };
    case "stuck":
      return { ...after, status: "provisioning" };
    case "repaired":
      return { ...after, status: e.previousStatus ?? after.status };
    default:
      return after;
  }
}

function addDifference(day: UsageDay, then: NumberState, now: NumberState, free: boolean) {
  for (const [state, sign] of [
    [then, 1],
    [now, -1],
  ] as const) {
    if (!state) continue;
    if (state.status === "active") day[state.assigned ? "assigned" : "unassigned"] += sign;
    else if (state.status === "provisioning") day.provisioning += sign;
    else if (state.status === "stuck" || state.status === "failed") day.stuck += sign;
    if (free && (HOLDS_FREE_SLOT as readonly string[]).includes(state.status)) day.free_numbers += sign;
  }
}
