import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { bookings } from "../db/schema";
import { nextDate, spokenDay, spokenTime, weekdayOf, zonedDate, zonedToInstant } from "../lib/time";
import { GoogleApiError } from "../providers/google";
import { UpstreamError } from "../providers/http";
import type { BusinessData } from "./business-data";
import { accessTokenFor, CalendarUnavailable, markReconnectRequired, type CalendarConnectionRow, type CalendarDeps } from "./calendar-connection";
import type { ToolCallContext, ToolHandler } from "./vapi-webhooks";

const DAY_KEYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
/** Without opening hours in the business data, weekdays 9 to 5 are assumed. */
const DEFAULT_HOURS: NonNullable<BusinessData["hours"]> = Object.fromEntries(
  ["mon", "tue", "wed", "thu", "fri"].map((d) => [d, [{ open: "09:00", close: "17:00" }]]),
);
const SLOT_STEP_MINUTES = 30;
const MAX_OFFERED = 4;
const MAX_RANGE_DAYS = 14;

/** What the assistant says when the calendar cannot be used; the reason is logged, not spoken. */
const UNAVAILABLE_LINE = "I can't reach the appointment calendar right now. I can take your name and number and have someone call you back to schedule.";
const RECONNECT_LINE = "Online booking is paused for this business at the moment. I can take your name and number and have someone call you back to schedule.";

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a date as YYYY-MM-DD");
const duration = z.coerce.number().int().min(10).max(480).optional();

const availabilityArgs = z.object({ date, end_date: date.optional(), duration_minutes: duration });
const bookingArgs = z.object({
  start: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/, "a start as YYYY-MM-DDTHH:MM"),
  duration_minutes: duration,
  caller_name: z.string().trim().min(1).max(120),
  caller_phone: z.string().trim().min(3).max(40),
  reason: z.string().trim().max(500).optional(),
});

interface Slot {
  start: number;
  end: number;
}

/** The two function tools, answered with lines the assistant can say. */
export function calendarToolHandlers(deps: CalendarDeps): Record<string, ToolHandler> {
  return {
    check_availability: (context, args) => withCalendar(deps, context, (token, connection) => checkAvailability(deps, context, connection, token, args)),
    book_appointment: (context, args) => withCalendar(deps, context, (token, connection) => bookAppointment(deps, context, connection, token, args)),
  };
}

async function withCalendar(
  deps: CalendarDeps,
  context: ToolCallContext,
  use: (token: string, connection: CalendarConnectionRow) => Promise<string>,
): Promise<string> {
  const log = deps.log.child({ org_id: context.assistant.orgId, assistant_id: context.assistant.id, call_id: context.callId, tool_call_id: context.toolCallId });
  try {
    if (!deps.google) throw new CalendarUnavailable("not_configured");
    const { token, connection } = await accessTokenFor(deps, context.assistant.orgId);
    return await use(token, connection);
  } catch (error) {
    if (error instanceof CalendarUnavailable) {
      log.warn("calendar_tool_unavailable", { reason: error.reason });
      return error.reason === "reconnect_required" || error.reason === "not_connected" ? RECONNECT_LINE : UNAVAILABLE_LINE;
    }
    if (error instanceof GoogleApiError && error.status === 401) {
      // The access token was revoked mid-call: the grant is gone.
      await markReconnectRequired({ db: deps.db, log }, context.assistant.orgId, "access revoked");
      log.warn("calendar_tool_unavailable", { reason: "revoked" });
      return RECONNECT_LINE;
    }
    if (error instanceof UpstreamError) {
      log.warn("calendar_tool_unavailable", { reason: "google_error", error });
      return UNAVAILABLE_LINE;
    }
    throw error;
  }
}

function businessOf(context: ToolCallContext): BusinessData {
  return context.assistant.businessData as BusinessData;
}

function timeZoneOf(business: BusinessData, connection: CalendarConnectionRow): string {
  return business.timezone ?? connection.timezone ?? "America/New_York";
}

async function checkAvailability(deps: CalendarDeps, context: ToolCallContext, connection: CalendarConnectionRow, token: string, raw: Record<string, unknown>): Promise<string> {
  const parsed = availabilityArgs.safeParse(raw);
  if (!parsed.success) return "Which day would you like? Please tell me a date.";
  const business = businessOf(context);
  const timeZone = timeZoneOf(business, connection);
  const minutes = parsed.data.duration_minutes ?? business.appointment_minutes ?? 60;
  const now = Date.now();
  const today = zonedDate(now, timeZone);
  const first = parsed.data.date < today ? today : parsed.data.date;
  const last = lastDayOf(first, parsed.data.end_date);

  const candidates = openingSlots(business, timeZone, first, last, minutes, now + (business.min_notice_minutes ?? 60) * 60_000);
  if (candidates.length === 0) return `We have no openings on ${describeRange(first, last, timeZone)}. Would another day work?`;

  const busy = await busyTimes(deps, token, connection, timeZone, candidates);
  if (busy === null) return UNAVAILABLE_LINE;
  const free = candidates.filter((slot) => !busy.some((b) => slot.start < b.end && b.start < slot.end));
  if (free.length === 0) return `We're fully booked on ${describeRange(first, last, timeZone)}. Would another day work?`;
  return `I have ${spreadOut(free, MAX_OFFERED).map((s) => `${spokenDay(s.start, timeZone)} at ${spokenTime(s.start, timeZone)}`).join(", ").replace(/, ([^,]*)$/, " or $1")}. Which works best?`;
}

async function bookAppointment(deps: CalendarDeps, context: ToolCallContext, connection: CalendarConnectionRow, token: string, raw: Record<string, unknown>): Promise<string> {
  const parsed = bookingArgs.safeParse(raw);
  if (!parsed.success) return "To book, I need the time, your name and a phone number. Could you give me those?";
  const args = parsed.data;
  const business = businessOf(context);
  const timeZone = timeZoneOf(business, connection);
  const minutes = args.duration_minutes ?? business.appointment_minutes ?? 60;
  const [day, time] = [args.start.slice(0, 10), args.start.slice(11, 16)];
  const start = zonedToInstant(day, time, timeZone);
  if (start === null) return "That time doesn't exist on that day because of the clock change. Could we pick another time?";
  const slot = { start, end: start + minutes * 60_000 };
  const when = `${spokenDay(start, timeZone)} at ${spokenTime(start, timeZone)}`;

  const eventId = await bookingEventId(context);
  const confirmation = `You're booked for ${when}. We'll see you then, ${args.caller_name.split(" ")[0]}!`;
  const [existing] = await deps.db.select({ id: bookings.id }).from(bookings).where(eqBooking(context.assistant.orgId, eventId)).limit(1);
  if (existing) return confirmation;

  const opening = openingSlots(business, timeZone, day, day, minutes, Date.now() + (business.min_notice_minutes ?? 60) * 60_000);
  if (!opening.some((o) => o.start <= slot.start && slot.end <= o.end)) {
    return `${when} is outside our booking hours. Shall I check which times are open?`;
  }
  const busy = await busyTimes(deps, token, connection, timeZone, [slot]);
  if (busy === null) return UNAVAILABLE_LINE;
  const record = () => recordBooking(deps, context, connection, eventId, slot, args);
  if (busy.some((b) => slot.start < b.end && b.start < slot.end)) {
    // Busy may be this very booking, made by an earlier attempt whose answer was lost.
    if (await ownEventExists(deps, token, connection, eventId)) {
      await record();
      return confirmation;
    }
    return `Sorry, ${when} was just taken. Shall I find another time?`;
  }

  const description = [`Booked by phone by ${context.assistant.name}.`, `Caller: ${args.caller_name}, ${args.caller_phone}.`, args.reason ? `Reason: ${args.reason}` : ""].filter(Boolean).join("\n");
  try {
    await deps.google!.insertEvent(
      token,
      connection.calendarId,
      {
        id: eventId,
        summary: `${args.reason ? args.reason.slice(0, 60) : "Appointment"} — ${args.caller_name}`,
        description,
        start: { dateTime: new Date(slot.start).toISOString(), timeZone },
        end: { dateTime: new Date(slot.end).toISOString(), timeZone },
        extendedProperties: { private: { switchboardAssistantId: context.assistant.id, switchboardCallId: context.callId ?? "" } },
      },
      { sendUpdates: "none" },
    );
  } catch (error) {
    // A retried tool call finds its own event already there: it was booked. After lost answers, look.
    const booked =
      (error instanceof GoogleApiError && error.isDuplicate) ||
      (error instanceof UpstreamError && error.mayHaveActed && (await ownEventExists(deps, token, connection, eventId)));
    if (!booked) throw error;
  }
  await record();
  return confirmation;
}

async function ownEventExists(deps: CalendarDeps, token: string, connection: CalendarConnectionRow, eventId: string): Promise<boolean> {
  return (await deps.google!.getEvent(token, connection.calendarId, eventId).catch(() => null)) !== null;
}

async function recordBooking(
  deps: CalendarDeps,
  context: ToolCallContext,
  connection: CalendarConnectionRow,
  eventId: string,
  slot: Slot,
  args: z.infer<typeof bookingArgs>,
): Promise<void> {
  await deps.db
    .insert(bookings)
    .values({
      id: crypto.randomUUID(),
      orgId: context.assistant.orgId,
      assistantId: context.assistant.id,
      callId: context.callId,
      toolCallId: context.toolCallId,
      googleEventId: eventId,
      calendarId: connection.calendarId,
      startsAt: new Date(slot.start).toISOString(),
      endsAt: new Date(slot.end).toISOString(),
      callerName: args.caller_name,
      callerPhone: args.caller_phone,
      reason: args.reason ?? null,
      createdAt: new Date().toISOString(),
    })
    .onConflictDoNothing();
  deps.log.info("appointment_booked", { org_id: context.assistant.orgId, assistant_id: context.assistant.id, call_id: context.callId, starts_at: new Date(slot.start).toISOString() });
}

/** Busy intervals over the candidates' span, or null when Google cannot say (a per-calendar error is not "free"). */
async function busyTimes(deps: CalendarDeps, token: string, connection: CalendarConnectionRow, timeZone: string, slots: Slot[]): Promise<Slot[] | null> {
  const timeMin = new Date(Math.min(...slots.map((s) => s.start))).toISOString();
  const timeMax = new Date(Math.max(...slots.map((s) => s.end))).toISOString();
  const calendars = await deps.google!.freeBusy(token, { timeMin, timeMax, timeZone, calendarIds: [connection.calendarId] });
  const calendar = calendars[connection.calendarId];
  if (!calendar || calendar.errors.length > 0) {
    deps.log.warn("freebusy_unknown", { org_id: connection.orgId, errors: calendar?.errors ?? "missing" });
    return null;
  }
  return calendar.busy.map((b) => ({ start: Date.parse(b.start), end: Date.parse(b.end) }));
}

/** Start times on the step grid inside opening hours, each at or after `notBefore`. */
export function openingSlots(business: BusinessData, timeZone: string, first: string, last: string, minutes: number, notBefore: number): Slot[] {
  const hours = business.hours ?? DEFAULT_HOURS;
  const slots: Slot[] = [];
  for (let day = first, guard = 0; day <= last && guard <= MAX_RANGE_DAYS; day = nextDate(day), guard++) {
    for (const range of hours[DAY_KEYS[weekdayOf(day)]!] ?? []) {
      const open = zonedToInstant(day, range.open, timeZone);
      const close = zonedToInstant(day, range.close, timeZone);
      if (open === null || close === null) continue;
      for (let start = open; start + minutes * 60_000 <= close; start += SLOT_STEP_MINUTES * 60_000) {
        if (start >= notBefore) slots.push({ start, end: start + minutes * 60_000 });
      }
    }
  }
  return slots;
}

/** The requested last day, at most two weeks after the first. */
function lastDayOf(first: string, requested: string | undefined): string {
  if (!requested || requested <= first) return first;
  let cap = first;
  for (let i = 1; i < MAX_RANGE_DAYS; i++) cap = nextDate(cap);
  return requested < cap ? requested : cap;
}

/** A few slots spread over the offer (first, then evenly), so the caller hears choices across the day. */
function spreadOut(slots: Slot[], count: number): Slot[] {
  if (slots.length <= count) return slots;
  const step = (slots.length - 1) / (count - 1);
  return Array.from({ length: count }, (_, i) => slots[Math.round(i * step)]!);
}

function describeRange(first: string, last: string, timeZone: string): string {
  const noon = (d: string) => zonedToInstant(d, "12:00", timeZone) ?? Date.parse(`${d}T12:00:00Z`);
  return first === last ? spokenDay(noon(first), timeZone) : `${spokenDay(noon(first), timeZone)} through ${spokenDay(noon(last), timeZone)}`;
}

/** base32hex of SHA-256(call id, tool call id): the same tool call always names the same event. */
export async function bookingEventId(context: Pick<ToolCallContext, "callId" | "toolCallId" | "assistant">): Promise<string> {
  const seed = `${context.assistant.orgId}:${context.callId ?? "no-call"}:${context.toolCallId}`;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(seed)));
  const alphabet = "0123456789abcdefghijklmnopqrstuv";
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return `sb${out.slice(0, 40)}`;
}

function eqBooking(orgId: string, eventId: string) {
  return and(eq(bookings.orgId, orgId), eq(bookings.googleEventId, eventId));
}
