import { and, desc, eq, isNull, lt, or, type SQL } from "drizzle-orm";
import type { Db } from "../../db/client";
import { assistants, phoneNumberEvents, phoneNumbers } from "../../db/schema";
import { encodeCursor, matchCursor } from "../../platform/cursor";
import type { PhoneNumberEvent } from "../numbers/pool";

interface HistoryQuery {
  orgId?: string;
  phoneNumberId?: string;
  limit: number;
  /** Events older than this one (from `next_cursor`). */
  beforeId?: number;
}

export interface HistoryEvent {
  id: number;
  phone_number_id: string;
  /** The number's digits as they are now (null while it has none). */
  number: string | null;
  event: PhoneNumberEvent;
  org_id: string | null;
  assistant_id: string | null;
  /** That assistant's name (it may since have been renamed or deleted). */
  assistant_name: string | null;
  detail: Record<string, unknown> | null;
  created_at: string;
}

export interface HistoryPage {
  events: HistoryEvent[];
  /** Pass back as `cursor` for the next (older) page; null on the last page. */
  next_cursor: string | null;
}

/** The assignment history, newest first, a page at a time (keyset on the event id: stable while events arrive). */
export async function listHistory(db: Db, query: HistoryQuery): Promise<HistoryPage> {
  const filters: SQL[] = [];
  // An organisation's history: events stored with it, and those of its own (Twilio) numbers stored without one
  // (a number's creation or import, written before it had an assistant).
  if (query.orgId)
    filters.push(or(eq(phoneNumberEvents.orgId, query.orgId), and(isNull(phoneNumberEvents.orgId), eq(phoneNumbers.orgId, query.orgId)))!);
  if (query.phoneNumberId) filters.push(eq(phoneNumberEvents.phoneNumberId, query.phoneNumberId));
  if (query.beforeId !== undefined) filters.push(lt(phoneNumberEvents.id, query.beforeId));
  const rows = await db
    .select({ event: phoneNumberEvents, number: phoneNumbers.number, numberOrgId: phoneNumbers.orgId, assistantName: assistants.name })
    .from(phoneNumberEvents)
    .leftJoin(phoneNumbers, eq(phoneNumbers.id, phoneNumberEvents.phoneNumberId))
    .leftJoin(assistants, eq(assistants.id, phoneNumberEvents.assistantId))
    .where(and(...filters))
    .orderBy(desc(phoneNumberEvents.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    events: page.map(({ event, number, numberOrgId, assistantName }) => ({
      id: event.id,
      phone_number_id: event.phoneNumberId,
      number: number ?? null,
      event: event.event,
      org_id: event.orgId ?? numberOrgId ?? null,
      assistant_id: event.assistantId,
      assistant_name: assistantName ?? null,
      detail: event.detail ?? null,
      created_at: event.createdAt,
    })),
    next_cursor: rows.length > query.limit && last ? encodeHistoryCursor(last.event.id) : null,
  };
}

const encodeHistoryCursor = (eventId: number) => encodeCursor(`ev1:${eventId}`);

/** The event id inside a cursor, or null when the text is not a cursor this API gave out. */
export function decodeHistoryCursor(cursor: string): number | null {
  const match = matchCursor(cursor, /^ev1:(\d{1,15})$/);
  return match ? Number(match[1]) : null;
}
