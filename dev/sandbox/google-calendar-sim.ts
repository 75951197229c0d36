import type { SandboxStore } from "./store";

/** Google Calendar API v3 as the sandbox simulates it: freeBusy, events.insert/get and calendars.get on the user's own calendar. */

const EVENT = "google_event";
const MAX_WINDOW_MS = 90 * 24 * 3600 * 1000;
const CALENDAR = "https://www.googleapis.com/auth/calendar";
/** The scopes each method accepts, from the method reference pages. */
const SCOPES_FOR = {
  freeBusy: [CALENDAR, `${CALENDAR}.readonly`, `${CALENDAR}.freebusy`, `${CALENDAR}.events.freebusy`],
  insertEvent: [CALENDAR, `${CALENDAR}.events`, `${CALENDAR}.events.owned`],
  getEvent: [
    CALENDAR,
    `${CALENDAR}.readonly`,
    `${CALENDAR}.events`,
    `${CALENDAR}.events.readonly`,
    `${CALENDAR}.events.owned`,
    `${CALENDAR}.events.freebusy`,
  ],
  getCalendar: [CALENDAR, `${CALENDAR}.readonly`, `${CALENDAR}.calendars`, `${CALENDAR}.calendars.readonly`],
};
const EVENT_ID = /^[a-v0-9]{5,1024}$/;

type Json = Record<string, unknown>;

/** The account an access token belongs to; its primary calendar's id is its email. */
interface CalendarCaller {
  email: string;
  timeZone: string;
  scopes: string[];
}

interface EventTime {
  dateTime?: string;
  date?: string;
  timeZone?: string;
}

interface SimEvent extends Json {
  id: string;
  calendarId: string;
  start: EventTime;
  end: EventTime;
  created: string;
}

function apiError(status: number, reason: string, message: string, extra: { domain?: string; status?: string } = {}): Response {
  const error: Json = { errors: [{ domain: extra.domain ?? "global", reason, message }], code: status, message };
  if (extra.status) error.status = extra.status;
  return Response.json({ error }, { status });
}

export const unauthenticated = () =>
  apiError(
    401,
    "authError",
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
    {
      status: "UNAUTHENTICATED",
    },
  );
const insufficientScopes = () =>
  apiError(403, "insufficientPermissions", "Request had insufficient authentication scopes.", { status: "PERMISSION_DENIED" });
const notFound = () => apiError(404, "notFound", "Not Found");

/** A Calendar API call by the owner of a valid access token (google-sim.ts checks it and answers 401 otherwise). */
export function handleCalendarApi(
  store: SandboxStore,
  caller: CalendarCaller,
  request: Request,
  url: URL,
  path: string,
  bodyText: string,
): Response {
  const user = caller;
  const allowed = (scopes: string[]) => caller.scopes.some((s) => scopes.includes(s));

  const method = request.method;
  if (path === "/freeBusy" && method === "POST") {
    if (!allowed(SCOPES_FOR.freeBusy)) return insufficientScopes();
    return freeBusy(store, user, bodyText);
  }
  const match = /^\/calendars\/([^/]+)(?:\/events(?:\/([^/]+))?)?$/.exec(path);
  if (!match) return notFound();
  const calendarId = calendarOf(user, decodeURIComponent(match[1]!));
  const isEvents = path.includes("/events");
  const eventId = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
  if (!isEvents && method === "GET") {
    if (!allowed(SCOPES_FOR.getCalendar)) return insufficientScopes();
    if (!calendarId) return notFound();
    return Response.json({
      kind: "calendar#calendar",
      etag: `"${btoa(user.email)}"`,
      id: calendarId,
      summary: calendarId,
      timeZone: user.timeZone,
      conferenceProperties: { allowedConferenceSolutionTypes: ["hangoutsMeet"] },
    });
  }
  if (isEvents && eventId === undefined && method === "POST") {
    if (!allowed(SCOPES_FOR.insertEvent)) return insufficientScopes();
    if (!calendarId) return notFound();
    return insertEvent(store, calendarId, url, bodyText);
  }
  if (eventId !== undefined && method === "GET") {
    if (!allowed(SCOPES_FOR.getEvent)) return insufficientScopes();
    const event = calendarId ? store.getResource<SimEvent>(EVENT, `${calendarId}/${eventId}`) : null;
    return event ? Response.json(present(event)) : notFound();
  }
  return notFound();
}

/** The user's own calendar (`primary` or its email); the sandbox user reaches no other. */
function calendarOf(user: CalendarCaller, calendarId: string): string | null {
  return calendarId === "primary" || calendarId.toLowerCase() === user.email ? user.email : null;
}

function freeBusy(store: SandboxStore, user: CalendarCaller, bodyText: string): Response {
  let body: { timeMin?: unknown; timeMax?: unknown; timeZone?: unknown; items?: { id?: unknown }[] };
  try {
    body = JSON.parse(bodyText || "{}");
  } catch {
    return apiError(400, "parseError", "Parse Error");
  }
  if (typeof body.timeMin !== "string") return apiError(400, "required", "Missing timeMin.");
  if (typeof body.timeMax !== "string") return apiError(400, "required", "Missing timeMax.");
  const timeMin = Date.parse(body.timeMin);
  const timeMax = Date.parse(body.timeMax);
  if (Number.isNaN(timeMin) || Number.isNaN(timeMax)) return apiError(400, "invalid", "Bad Request");
  if (timeMax <= timeMin) return apiError(400, "timeRangeEmpty", "The specified time range is empty.", { domain: "calendar" });
  if (timeMax - timeMin > MAX_WINDOW_MS)
    return apiError(400, "timeRangeTooLong", "The requested time range is too long.", { domain: "calendar" });
  const timeZone = typeof body.timeZone === "string" ? body.timeZone : "UTC";
  if (!validTimeZone(timeZone)) return apiError(400, "invalid", `Invalid time zone: ${timeZone}`);

  const calendars: Json = {};
  for (const item of body.items ?? []) {
    const requested = String(item.id ?? "");
    const calendarId = calendarOf(user, requested);
    calendars[requested] = calendarId
      ? {
          busy: busyBlocks(store, calendarId, user.timeZone, timeMin, timeMax).map(([s, e]) => ({
            start: inZone(s, timeZone),
            end: inZone(e, timeZone),
          })),
        }
      : { errors: [{ domain: "global", reason: "notFound" }], busy: [] };
  }
  return Response.json({
    kind: "calendar#freeBusy",
    timeMin: new Date(timeMin).toISOString(),
    timeMax: new Date(timeMax).toISOString(),
    calendars,
  });
}

/** Opaque events overlapping the window, clipped to it and merged. */
function busyBlocks(store: SandboxStore, calendarId: string, calendarTimeZone: string, from: number, to: number): [number, number][] {
  const spans = eventsOf(store, calendarId)
    .filter((e) => e.status !== "cancelled" && e.transparency !== "transparent")
    .map((e) => [instant(e.start, calendarTimeZone), instant(e.end, calendarTimeZone)] as const)
    .filter((span): span is readonly [number, number] => span[0] !== null && span[1] !== null && span[0] < to && span[1] > from)
    .map(([s, e]) => [Math.max(s, from), Math.min(e, to)] as [number, number])
    .sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const span of spans) {
    const last = merged.at(-1);
    if (last && span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
    else merged.push(span);
  }
  return merged;
}

function insertEvent(store: SandboxStore, calendarId: string, url: URL, bodyText: string): Response {
  const sendUpdates = url.searchParams.get("sendUpdates");
  if (sendUpdates !== null && !["all", "externalOnly", "none"].includes(sendUpdates))
    return apiError(400, "invalid", `Invalid value for: ${sendUpdates} is not a valid value`);
  let body: Json;
  try {
    body = JSON.parse(bodyText || "{}") as Json;
  } catch {
    return apiError(400, "parseError", "Parse Error");
  }
  const id = body.id === undefined ? crypto.randomUUID().replaceAll("-", "") : body.id;
  if (typeof id !== "string" || !EVENT_ID.test(id)) return apiError(400, "invalid", "Invalid resource id value.");
  const start = body.start as EventTime | undefined;
  const end = body.end as EventTime | undefined;
  if (!end) return apiError(400, "required", "Missing end time.");
  if (!start) return apiError(400, "required", "Missing start time.");
  const from = instant(start, null);
  const to = instant(end, null);
  if (from === null) return apiError(400, "invalid", "Invalid start time.");
  if (to === null) return apiError(400, "invalid", "Invalid end time.");
  if (to <= from) return apiError(400, "timeRangeEmpty", "The specified time range is empty.", { domain: "calendar" });
  if (store.getResource(EVENT, `${calendarId}/${id}`)) return apiError(409, "duplicate", "The requested identifier already exists.");

  const now = new Date(store.now()).toISOString();
  const event: SimEvent = { ...body, id, calendarId, start, end, created: now, updated: now, status: "confirmed" };
  store.putResource(EVENT, `${calendarId}/${id}`, event, now);
  return Response.json(present(event));
}

function present(event: SimEvent): Json {
  const { calendarId, ...fields } = event;
  const self = { email: calendarId, self: true };
  return {
    kind: "calendar#event",
    etag: `"${Date.parse(event.created)}"`,
    htmlLink: `https://www.google.com/calendar/event?eid=${btoa(`${event.id} ${calendarId}`).replace(/=+$/, "")}`,
    creator: self,
    organizer: self,
    iCalUID: `${event.id}@google.com`,
    sequence: 0,
    reminders: { useDefault: true },
    eventType: "default",
    ...fields,
  };
}

function eventsOf(store: SandboxStore, calendarId: string): SimEvent[] {
  return store.listResources<SimEvent>(EVENT).filter((e) => e.calendarId === calendarId);
}

/**
 * An event time as epoch ms: `dateTime` with an offset, or wall time in its `timeZone`; an all-day `date` starts at
 * midnight in the calendar's zone. Null when unreadable (or wall time with no zone at all).
 */
function instant(time: EventTime, calendarTimeZone: string | null): number | null {
  if (typeof time.dateTime === "string") {
    if (/(Z|[+-]\d{2}:\d{2})$/i.test(time.dateTime)) return nullIfNaN(Date.parse(time.dateTime));
    return time.timeZone && validTimeZone(time.timeZone) ? wallTimeToUtc(time.dateTime, time.timeZone) : null;
  }
  if (typeof time.date === "string") {
    const zone = time.timeZone ?? calendarTimeZone ?? "UTC";
    return validTimeZone(zone) ? wallTimeToUtc(`${time.date}T00:00:00`, zone) : null;
  }
  return null;
}

const nullIfNaN = (n: number) => (Number.isNaN(n) ? null : n);

function validTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** The zone's offset from UTC at an instant, in minutes (−300 for Chicago in summer). */
function offsetMinutes(ms: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return Math.round((wall - Math.floor(ms / 1000) * 1000) / 60_000);
}

function wallTimeToUtc(local: string, timeZone: string): number | null {
  const guess = Date.parse(`${local}Z`);
  if (Number.isNaN(guess)) return null;
  const first = guess - offsetMinutes(guess, timeZone) * 60_000;
  return guess - offsetMinutes(first, timeZone) * 60_000;
}

/** RFC 3339 in the zone, as freeBusy answers for its `timeZone`: `2025-06-02T10:00:00-05:00`, or `…Z` in UTC. */
function inZone(ms: number, timeZone: string): string {
  const offset = offsetMinutes(ms, timeZone);
  const wall = new Date(ms + offset * 60_000).toISOString().slice(0, 19);
  if (offset === 0) return `${wall}Z`;
  const abs = Math.abs(offset);
  return `${wall}${offset < 0 ? "-" : "+"}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

export function listCalendarEvents(store: SandboxStore, calendarId: string): Json[] {
  return eventsOf(store, calendarId)
    .sort((a, b) => (instant(a.start, null) ?? 0) - (instant(b.start, null) ?? 0))
    .map(present);
}

/** Someone else's appointment: an opaque event from `start` to `end` (RFC 3339 with offsets). */
export function addBusyEvent(store: SandboxStore, calendarId: string, start: string, end: string): { id: string } {
  if (Number.isNaN(Date.parse(start)) || Number.isNaN(Date.parse(end)))
    throw new Error("start and end must be RFC 3339 date-times with an offset");
  const id = crypto.randomUUID().replaceAll("-", "");
  const now = new Date(store.now()).toISOString();
  const event: SimEvent = {
    id,
    calendarId,
    summary: "Busy",
    start: { dateTime: start },
    end: { dateTime: end },
    created: now,
    updated: now,
    status: "confirmed",
  };
  store.putResource(EVENT, `${calendarId}/${id}`, event, now);
  return { id };
}
