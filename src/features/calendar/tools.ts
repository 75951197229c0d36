import { and, eq } from "drizzle-orm";
import { bookings } from "../../db/schema";
import { spokenChoice, spokenDuration } from "../../platform/spoken";
import {
  nextDate,
  notADate,
  notATime,
  spokenDay,
  spokenTime,
  spokenWeekdayAndDate,
  weekdayOf,
  WEEKDAY_NAMES,
  zonedDate,
  zonedToInstant,
} from "../../platform/time";
import { GoogleApiError } from "../../integrations/google";
import { UpstreamError } from "../../integrations/http";
import { TOOL_BOOK_APPOINTMENT, TOOL_CHECK_AVAILABILITY } from "../assistants/vapi-config";
import type { BusinessData } from "../assistants/business-data";
import { CalendarUnavailable, withAccessToken, type CalendarConnectionRow, type CalendarDeps } from "./connection";
import type { ArgumentProblem, Tool, ToolCallContext } from "../webhooks/tool-calls";

const DAY_KEYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
/** Without opening hours in the business data, weekdays 9 to 5 are assumed. */
const DEFAULT_HOURS: NonNullable<BusinessData["hours"]> = Object.fromEntries(
  ["mon", "tue", "wed", "thu", "fri"].map((d) => [d, [{ open: "09:00", close: "17:00" }]]),
);
const SLOT_STEP_MINUTES = 30;
const MAX_OFFERED = 4;
const MAX_RANGE_DAYS = 14;
const MIN_MINUTES = 10;
const MAX_MINUTES = 480;
const MAX_NAME_LENGTH = 120;
const MAX_REASON_LENGTH = 500;
const MIN_PHONE_DIGITS = 7;

/** What the assistant says when the calendar cannot be used; the reason is logged, not spoken. */
const UNAVAILABLE_LINE =
  "I can't reach the appointment calendar right now. I can take your name and number and have someone call you back to schedule.";
const RECONNECT_LINE =
  "Online booking is paused for this business at the moment. I can take your name and number and have someone call you back to schedule.";

/** The arguments each tool's JSON schema (functionToolDefinitions in assistant-config.ts) guarantees once checked. */
interface AvailabilityArgs {
  date: string;
  end_date?: string;
  duration_minutes?: number;
}
interface BookingArgs {
  start: string;
  duration_minutes?: number;
  caller_name: string;
  caller_phone: string;
  reason?: string;
}

/** What to ask when an argument is missing or does not fit its schema: exactly what is wrong. */
const QUESTIONS: Record<string, Partial<Record<ArgumentProblem, string>>> = {
  date: { missing: "Which day would you like? Please tell me a date.", invalid: "I didn't catch the date. Which day would you like?" },
  end_date: { invalid: "I didn't catch the last day to look at. Until which day should I look?" },
  duration_minutes: { invalid: "How long should the appointment be, in minutes?" },
  start: {
    missing: "Which day and time would you like the appointment?",
    invalid: "I didn't catch the day and time. When would you like the appointment?",
  },
  caller_name: {
    missing: "I need your name to book. What name should I put the appointment under?",
    invalid: "I didn't catch your name. What name should I put the appointment under?",
  },
  caller_phone: {
    missing: "I need your phone number to book. What number can we reach you at?",
    invalid: "I didn't catch that phone number. What number can we reach you at?",
  },
  reason: { invalid: "What is the appointment for?" },
};

function askFor(field: string, problem: ArgumentProblem): string {
  return (
    (Object.hasOwn(QUESTIONS, field) ? QUESTIONS[field]![problem] : undefined) ?? "Sorry, I didn't catch that. Could you say it again?"
  );
}

interface Slot {
  start: number;
  end: number;
}

/** The two function tools, answered with lines the assistant can say. */
export function calendarTools(deps: CalendarDeps): ReadonlyMap<string, Tool> {
  // The casts are what checkArguments proved against the tool's JSON schema.
  return new Map<string, Tool>([
    [TOOL_CHECK_AVAILABILITY, { askFor, answer: (context, args) => checkAvailability(deps, context, args as unknown as AvailabilityArgs) }],
    [TOOL_BOOK_APPOINTMENT, { askFor, answer: (context, args) => bookAppointment(deps, context, args as unknown as BookingArgs) }],
  ]);
}

async function withCalendar(
  deps: CalendarDeps,
  context: ToolCallContext,
  use: (token: string, connection: CalendarConnectionRow) => Promise<string>,
): Promise<string> {
  const log = deps.log.child({
    org_id: context.assistant.orgId,
    assistant_id: context.assistant.id,
    call_id: context.callId,
    tool_call_id: context.toolCallId,
  });
  try {
    if (!deps.google) throw new CalendarUnavailable("not_configured");
    return await withAccessToken(deps, context.assistant.orgId, use);
  } catch (error) {
    if (error instanceof CalendarUnavailable) {
      log.warn("calendar_tool_unavailable", { reason: error.reason });
      return error.reason === "reconnect_required" || error.reason === "not_connected" ? RECONNECT_LINE : UNAVAILABLE_LINE;
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

function dateProblem(date: string): string | null {
  const problem = notADate(date);
  return problem === null ? null : `${problem}. Which day did you mean?`;
}

function timeProblem(clock: string): string | null {
  const problem = notATime(clock);
  return problem === null ? null : `${problem}. What time would you like?`;
}

function durationProblem(minutes: number | undefined): string | null {
  if (minutes === undefined || (minutes >= MIN_MINUTES && minutes <= MAX_MINUTES)) return null;
  return `An appointment can be ${MIN_MINUTES} minutes to ${spokenDuration(MAX_MINUTES)} long. How long should it be?`;
}

function callerProblem(args: BookingArgs): string | null {
  if (args.caller_name.length > MAX_NAME_LENGTH)
    return "That name is too long for the booking. What name should I put the appointment under?";
  if ((args.caller_phone.match(/\d/g) ?? []).length < MIN_PHONE_DIGITS)
    return "That phone number seems too short. What number can we reach you at?";
  return null;
}

async function checkAvailability(deps: CalendarDeps, context: ToolCallContext, args: AvailabilityArgs): Promise<string> {
  const problem =
    dateProblem(args.date) ?? (args.end_date === undefined ? null : dateProblem(args.end_date)) ?? durationProblem(args.duration_minutes);
  if (problem) return problem;
  return withCalendar(deps, context, async (token, connection) => {
    const business = businessOf(context);
    const timeZone = timeZoneOf(business, connection);
    const minutes = args.duration_minutes ?? business.appointment_minutes ?? 60;
    const now = Date.now();
    const today = zonedDate(now, timeZone);
    // biome-ignore lint/complexity/useMathMinMax: ISO dates (strings), not numbers
    const first = args.date < today ? today : args.date;
    const last = lastDayOf(first, args.end_date);

    const candidates = openingSlots(business, timeZone, first, last, minutes, now + (business.min_notice_minutes ?? 60) * 60_000);
    if (candidates.length === 0) return `We have no openings on ${describeRange(first, last, timeZone)}. Would another day work?`;

    const busy = await busyTimes(deps, token, connection, timeZone, candidates);
    if (busy === null) return UNAVAILABLE_LINE;
    const free = candidates.filter((slot) => !busy.some((b) => overlap(slot, b)));
    if (free.length === 0) return `We're fully booked on ${describeRange(first, last, timeZone)}. Would another day work?`;
    return offer(spreadOut(free, MAX_OFFERED), timeZone);
  });
}

/** "I have 9:00 AM or 2:00 PM on Tuesday, December 1." or, over several days, "I have Tuesday the 1st at 9:00 AM or …". */
function offer(slots: Slot[], timeZone: string): string {
  const question = slots.length === 1 ? "Does that work for you?" : "Which works best?";
  const time = (s: Slot) => spokenTime(s.start, timeZone);
  if (new Set(slots.map((s) => zonedDate(s.start, timeZone))).size === 1) {
    return `I have ${spokenChoice(slots.map(time))} on ${spokenDay(slots[0]!.start, timeZone)}. ${question}`;
  }
  return `I have ${spokenChoice(slots.map((s) => `${spokenWeekdayAndDate(s.start, timeZone)} at ${time(s)}`))}. ${question}`;
}

async function bookAppointment(deps: CalendarDeps, context: ToolCallContext, args: BookingArgs): Promise<string> {
  const [day, clock] = [args.start.slice(0, 10), args.start.slice(11)];
  const problem = dateProblem(day) ?? timeProblem(clock) ?? durationProblem(args.duration_minutes) ?? callerProblem(args);
  if (problem) return problem;
  const booking = { ...args, reason: args.reason?.slice(0, MAX_REASON_LENGTH) };
  return withCalendar(deps, context, (token, connection) => book(deps, context, connection, token, day, clock.slice(0, 5), booking));
}

async function book(
  deps: CalendarDeps,
  context: ToolCallContext,
  connection: CalendarConnectionRow,
  token: string,
  day: string,
  clock: string,
  args: BookingArgs,
): Promise<string> {
  const business = businessOf(context);
  const timeZone = timeZoneOf(business, connection);
  const minutes = args.duration_minutes ?? business.appointment_minutes ?? 60;
  const start = zonedToInstant(day, clock, timeZone);
  if (start === null) return "That time doesn't exist on that day because of the clock change. Could we pick another time?";
  const slot = { start, end: start + minutes * 60_000 };
  const when = spokenWhen(slot, timeZone);

  // A replayed tool call: its booking is the one on record, whatever the replay asks for.
  const eventId = await bookingEventId(context);
  const [existing] = await deps.db.select().from(bookings).where(eqBooking(context.assistant.orgId, eventId)).limit(1);
  if (existing) {
    const booked = { start: Date.parse(existing.startsAt), end: Date.parse(existing.endsAt) };
    const same =
      sameSlot(booked, slot) &&
      existing.callerName === args.caller_name &&
      existing.callerPhone === args.caller_phone &&
      (existing.reason ?? undefined) === args.reason;
    return same ? confirmation(booked, args.caller_name, timeZone) : alreadyBooked(booked, timeZone);
  }

  const refusal = notBookable(business, timeZone, day, slot, minutes);
  if (refusal) return refusal;
  const busy = await busyTimes(deps, token, connection, timeZone, [slot]);
  if (busy === null) return UNAVAILABLE_LINE;
  /** Our event already in Google (an earlier attempt whose answer was lost): recorded, and said as it is. */
  const ownEventBooked = async (own: Slot) => {
    await recordBooking(deps, context, connection, eventId, own, args);
    return sameSlot(own, slot) ? confirmation(own, args.caller_name, timeZone) : alreadyBooked(own, timeZone);
  };
  if (busy.some((b) => overlap(slot, b))) {
    const own = await ownEventSlot(deps, token, connection, eventId);
    return own ? ownEventBooked(own) : `Sorry, ${when} was just taken. Shall I find another time?`;
  }

  const description = [
    `Booked by phone by ${context.assistant.name}.`,
    `Caller: ${args.caller_name}, ${args.caller_phone}.`,
    args.reason ? `Reason: ${args.reason}` : "",
  ]
    .filter(Boolean)
    .join("\n");
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
    // A retried tool call finds its own event already there (409), or after lost answers may: look, and say what it holds.
    const mayExist = (error instanceof GoogleApiError && error.isDuplicate) || (error instanceof UpstreamError && error.mayHaveActed);
    const own = mayExist ? await ownEventSlot(deps, token, connection, eventId).catch(() => null) : null;
    if (!own) throw error;
    return ownEventBooked(own);
  }
  await recordBooking(deps, context, connection, eventId, slot, args);
  return confirmation(slot, args.caller_name, timeZone);
}

/** Why the slot cannot be booked (past, too soon, closed, outside or past the opening hours), or null. */
function notBookable(business: BusinessData, timeZone: string, day: string, slot: Slot, minutes: number): string | null {
  const when = spokenWhen(slot, timeZone);
  const now = Date.now();
  const notice = business.min_notice_minutes ?? 60;
  if (slot.start < now) return `${when} has already passed. Which day and time would you like?`;
  if (slot.start < now + notice * 60_000) {
    return `We need at least ${spokenDuration(notice)} of notice, so ${when} is too soon. Shall I check which times are open?`;
  }

  const weekday = WEEKDAY_NAMES[weekdayOf(day)]!;
  const ranges = ((business.hours ?? DEFAULT_HOURS)[DAY_KEYS[weekdayOf(day)]!] ?? [])
    .map((r) => ({ start: zonedToInstant(day, r.open, timeZone), end: zonedToInstant(day, r.close, timeZone) }))
    .filter((r): r is Slot => r.start !== null && r.end !== null)
    .sort((a, b) => a.start - b.start);
  if (ranges.length === 0) return `We're closed on ${weekday}s. Which other day would work?`;
  if (ranges.some((r) => r.start <= slot.start && slot.end <= r.end)) return null;
  const time = spokenTime(slot.start, timeZone);
  const startsOpen = ranges.find((r) => r.start <= slot.start && slot.start < r.end);
  if (startsOpen) {
    return `A ${minutes}-minute appointment at ${time} would end after we close at ${spokenTime(startsOpen.end, timeZone)}. Would an earlier time work?`;
  }
  const hours = spokenChoice(ranges.map((r) => `from ${spokenTime(r.start, timeZone)} to ${spokenTime(r.end, timeZone)}`));
  return `${when} is outside our booking hours: on ${weekday}s we book ${hours}. What time would work for you?`;
}

const spokenWhen = (slot: Slot, timeZone: string) => `${spokenDay(slot.start, timeZone)} at ${spokenTime(slot.start, timeZone)}`;
const sameSlot = (a: Slot, b: Slot) => a.start === b.start && a.end === b.end;
const overlap = (a: Slot, b: Slot) => a.start < b.end && b.start < a.end;

function confirmation(slot: Slot, callerName: string, timeZone: string): string {
  return `You're booked for ${spokenWhen(slot, timeZone)}. We'll see you then, ${callerName.split(/\s+/)[0]}!`;
}

/** A replay asked for something else: what was booked stands, and nothing else was done. */
function alreadyBooked(slot: Slot, timeZone: string): string {
  return `You're already booked for ${spokenWhen(slot, timeZone)}, and I haven't changed that booking. Would you like another appointment as well?`;
}

/** Where our own event sits in Google, or null when it is not there; a failed look throws (unknown is not absent). */
async function ownEventSlot(deps: CalendarDeps, token: string, connection: CalendarConnectionRow, eventId: string): Promise<Slot | null> {
  const event = await deps.google!.getEvent(token, connection.calendarId, eventId);
  const start = Date.parse(event?.start.dateTime ?? "");
  const end = Date.parse(event?.end.dateTime ?? "");
  return Number.isFinite(start) && Number.isFinite(end) ? { start, end } : null;
}

async function recordBooking(
  deps: CalendarDeps,
  context: ToolCallContext,
  connection: CalendarConnectionRow,
  eventId: string,
  slot: Slot,
  args: BookingArgs,
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
  deps.log.info("appointment_booked", {
    org_id: context.assistant.orgId,
    assistant_id: context.assistant.id,
    call_id: context.callId,
    starts_at: new Date(slot.start).toISOString(),
  });
}

/** Busy intervals over the candidates' span, or null when Google cannot say (a per-calendar error is not "free"). */
async function busyTimes(
  deps: CalendarDeps,
  token: string,
  connection: CalendarConnectionRow,
  timeZone: string,
  slots: Slot[],
): Promise<Slot[] | null> {
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
function openingSlots(business: BusinessData, timeZone: string, first: string, last: string, minutes: number, notBefore: number): Slot[] {
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
  // Ranges may be listed out of order or overlap: offer each start once, in time order.
  return slots.sort((a, b) => a.start - b.start).filter((slot, i, sorted) => i === 0 || sorted[i - 1]!.start !== slot.start);
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
  return first === last
    ? spokenDay(noon(first), timeZone)
    : `${spokenDay(noon(first), timeZone)} through ${spokenDay(noon(last), timeZone)}`;
}

/** base32hex of SHA-256(call id, tool call id): the same tool call always names the same event. */
async function bookingEventId(context: Pick<ToolCallContext, "callId" | "toolCallId" | "assistant">): Promise<string> {
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
