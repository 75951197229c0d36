/** Wall-clock time in IANA time zones, with DST handled by asking Intl rather than assuming offsets. */

interface ZonedParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      weekday: "short",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function zonedParts(instant: number, timeZone: string): ZonedParts {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  );
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    weekday: WEEKDAYS.indexOf(parts.weekday ?? ""),
  };
}

/** The zone's offset from UTC at that instant, in ms (e.g. -5 h for New York in winter). */
function offsetAt(instant: number, timeZone: string): number {
  const p = zonedParts(instant, timeZone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - Math.floor(instant / 60_000) * 60_000;
}

/**
 * The instant a wall-clock time happens in a zone; null when it does not exist (skipped by a spring-forward).
 * An ambiguous time (repeated by a fall-back) resolves to its first occurrence.
 */
export function zonedToInstant(date: string, time: string, timeZone: string): number | null {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  const [hh, mm] = time.split(":").map(Number) as [number, number];
  const asUtc = Date.UTC(y, m - 1, d, hh, mm);
  const candidates = [
    ...new Set([asUtc - offsetAt(asUtc - 12 * 3_600_000, timeZone), asUtc - offsetAt(asUtc + 12 * 3_600_000, timeZone)]),
  ].sort((a, b) => a - b);
  for (const instant of candidates) {
    const p = zonedParts(instant, timeZone);
    if (p.year === y && p.month === m && p.day === d && p.hour === hh && p.minute === mm) return instant;
  }
  return null;
}

/** YYYY-MM-DD of an instant in a zone. */
export function zonedDate(instant: number, timeZone: string): string {
  const p = zonedParts(instant, timeZone);
  return `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
}

/** The next calendar day of a YYYY-MM-DD date. */
export function nextDate(date: string): string {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

export function weekdayOf(date: string): number {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
}

/** "Tuesday, December 1" */
export function spokenDay(instant: number, timeZone: string): string {
  return new Intl.DateTimeFormat("en-US", { timeZone, weekday: "long", month: "long", day: "numeric" }).format(new Date(instant));
}

/** "9:30 AM" */
export function spokenTime(instant: number, timeZone: string): string {
  return new Intl.DateTimeFormat("en-US", { timeZone, hour: "numeric", minute: "2-digit" }).format(new Date(instant));
}

const MONTH_NAMES = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
export const WEEKDAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/**
 * What is wrong with a YYYY-MM-DD as a calendar date, said to a caller ("February 30 isn't a date"), or null when
 * it is one. Years outside 2000–2999 are refused: `Date.UTC` reads 0–99 as 1900–1999.
 */
export function notADate(date: string): string | null {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  if (y < 2000 || y > 2999) return `I didn't catch the year`;
  if (m < 1 || m > 12) return `There's no month ${m}`;
  const daysInMonth = new Date(Date.UTC(y, m, 0)).getUTCDate();
  if (d < 1 || d > daysInMonth) return m === 2 && d === 29 ? `February 29 isn't a date in ${y}` : `${MONTH_NAMES[m - 1]} ${d} isn't a date`;
  return null;
}

/** What is wrong with an HH:MM (optionally :SS) as a time of day, said to a caller, or null when it is one. */
export function notATime(clock: string): string | null {
  const [hh, mm, ss = 0] = clock.split(":").map(Number) as [number, number, number?];
  return hh > 23 || mm > 59 || ss > 59 ? `There's no such time as ${clock.slice(0, 5)}` : null;
}

/** "Tuesday the 1st": a day within the next two weeks, short enough to repeat in a list. */
export function spokenWeekdayAndDate(instant: number, timeZone: string): string {
  const p = zonedParts(instant, timeZone);
  const suffix =
    p.day % 10 === 1 && p.day !== 11 ? "st" : p.day % 10 === 2 && p.day !== 12 ? "nd" : p.day % 10 === 3 && p.day !== 13 ? "rd" : "th";
  return `${WEEKDAY_NAMES[p.weekday]} the ${p.day}${suffix}`;
}
