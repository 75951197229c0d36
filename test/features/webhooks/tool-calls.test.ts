import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import { json, sampleBusiness, sandbox } from "../../helpers/api";
import { connectCalendar, created, upcoming, weekdays9to5 } from "../../helpers/faults";
import { resetState } from "../../helpers/pool";
import { webhook } from "../../helpers/provisioning";
import { zonedToInstant } from "../../../src/platform/time";

/**
 * Tool calls answer only what they may: a name must be one of the function tools the assistant was given, the
 * arguments must fit the JSON schema Vapi was given for it, and every answer is one sentence the assistant can say.
 */

const ORG = "org-tools";
const CHICAGO = "America/Chicago";
const TROUBLE = /having trouble with the calendar/;

interface Call {
  id: string;
  name: unknown;
  arguments: unknown;
}

/** One tool-calls message with several calls; the answers in order. */
async function answers(
  vapiAssistantId: string,
  calls: Call[],
  callId = "call-1",
): Promise<{ toolCallId: string; name: string; result?: string; error?: string }[]> {
  const res = await webhook({
    type: "tool-calls",
    call: { id: callId, assistantId: vapiAssistantId },
    toolCallList: calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })),
  });
  expect(res.status).toBe(200);
  return (await json(res)).results;
}

async function say(vapiAssistantId: string, name: unknown, args: unknown, ids = { call: "call-1", tool: "tool-1" }): Promise<string> {
  const [answer] = await answers(vapiAssistantId, [{ id: ids.tool, name, arguments: args }], ids.call);
  const line = answer!.result ?? answer!.error;
  expect(typeof line).toBe("string");
  return line!;
}

/** "Tuesday, December 1" for a YYYY-MM-DD, as a person would write it (the test's own formatter). */
const dayLabel = (date: string) =>
  new Intl.DateTimeFormat("en-US", { timeZone: "UTC", weekday: "long", month: "long", day: "numeric" }).format(
    Date.parse(`${date}T12:00:00Z`),
  );

/** A spoken answer: one sentence or a few, nothing broken in it. */
function expectSpeakable(line: string) {
  expect(line, line).toMatch(/^[A-Z]/);
  expect(line, line).toMatch(/[.?!]$/);
  expect(line, line).not.toMatch(/undefined|NaN|Invalid Date|null|\[object/);
  expect(line, line).not.toMatch(/ {2}|,,|, ,|\s[,.?!]|\n/);
  expect(line.split(" or ").length, line).toBeLessThanOrEqual(2);
}

/** An interval of wall-clock Chicago times on a day, as UTC ISO instants (zonedToInstant is unit-tested in time.test.ts). */
const busyInChicago = (date: string, from: string, to: string) => ({
  start: new Date(zonedToInstant(date, from, CHICAGO)!).toISOString(),
  end: new Date(zonedToInstant(date, to, CHICAGO)!).toISOString(),
});

async function bookingsOnRecord() {
  return (
    await env.DB.prepare("SELECT google_event_id, starts_at, ends_at, caller_name FROM bookings WHERE org_id = ? ORDER BY starts_at")
      .bind(ORG)
      .all<Record<string, string>>()
  ).results;
}

/** Every event in Google is on record, at the same time, and the other way round. */
async function expectCalendarMatchesRecord() {
  const events = (await sandbox().googleEvents()).map((e) => `${e.id}@${new Date(e.start.dateTime).toISOString()}`).sort();
  const booked = (await bookingsOnRecord()).map((b) => `${b.google_event_id}@${b.starts_at}`).sort();
  expect(booked).toEqual(events);
}

let vapiAssistantId: string;

beforeEach(async () => {
  await resetState();
  await env.DB.batch([
    env.DB.prepare("DELETE FROM calendar_connections"),
    env.DB.prepare("DELETE FROM oauth_states"),
    env.DB.prepare("DELETE FROM bookings"),
  ]);
  await connectCalendar(ORG);
  const assistant = await created(ORG, { business_data: { ...sampleBusiness, timezone: CHICAGO, hours: weekdays9to5 } });
  vapiAssistantId = String(assistant.vapi_assistant_id);
});

describe("a tool call reaches only the tools the assistant was given", () => {
  it.each([
    "toString",
    "__proto__",
    "constructor",
    "hasOwnProperty",
    "valueOf",
    "isPrototypeOf",
    "Check_Availability",
    "check_availability ",
    "",
  ])("%j is an unknown tool: a sentence, no calendar work", async (name) => {
    await sandbox().clearRequests();
    const [answer] = await answers(vapiAssistantId, [{ id: "t1", name, arguments: { date: upcoming(1) } }]);
    expect(answer).toEqual({
      toolCallId: "t1",
      name: name || "unknown",
      error: "I can't do that on this call. I can take a message and have someone call you back.",
    });
    expect((await sandbox().requests("google")).filter((r) => r.path.includes("/calendar/"))).toEqual([]);
  });

  it("a name that is not a string is an unknown tool too", async () => {
    for (const name of [42, { toString: "x" }, ["check_availability"], null]) {
      expect(await say(vapiAssistantId, name, { date: upcoming(1) })).toMatch(/^I can't do that on this call/);
    }
  });

  it("the tools Vapi was given are the ones answered, with the same JSON schema", async () => {
    const vapi = (await sandbox().vapiAssistants()).find((a) => a.id === vapiAssistantId) as any;
    const functions = vapi.model.tools.filter((t: any) => t.type === "function").map((t: any) => t.function);
    expect(functions.map((f: any) => f.name)).toEqual(["check_availability", "book_appointment"]);
    const booking = functions[1].parameters;
    expect(booking.required).toEqual(["start", "caller_name", "caller_phone"]);
    // What the schema refuses is what the tool refuses: a start that misses its pattern is asked for again.
    expect(new RegExp(booking.properties.start.pattern).test("2027-03-02T10:00")).toBe(true);
    expect(
      await say(vapiAssistantId, "book_appointment", { start: "2027-03-02 10:00", caller_name: "Sam", caller_phone: "+15125550123" }),
    ).toBe("I didn't catch the day and time. When would you like the appointment?");
  });
});

describe("missing or impossible arguments: the assistant asks for exactly what is wrong", () => {
  const person = { caller_name: "Sam Lee", caller_phone: "+15125550123" };
  const tuesday = () => upcoming(2);

  it.each([
    [
      "no phone",
      () => ({ start: `${tuesday()}T10:00`, caller_name: "Sam" }),
      "I need your phone number to book. What number can we reach you at?",
    ],
    [
      "no name",
      () => ({ start: `${tuesday()}T10:00`, caller_phone: "+15125550123" }),
      "I need your name to book. What name should I put the appointment under?",
    ],
    [
      "a blank name",
      () => ({ ...person, start: `${tuesday()}T10:00`, caller_name: "   " }),
      "I need your name to book. What name should I put the appointment under?",
    ],
    [
      "a null name",
      () => ({ ...person, start: `${tuesday()}T10:00`, caller_name: null }),
      "I need your name to book. What name should I put the appointment under?",
    ],
    ["no start", () => person, "Which day and time would you like the appointment?"],
    ["month 13", () => ({ ...person, start: "2027-13-02T10:00" }), "There's no month 13. Which day did you mean?"],
    ["February 30", () => ({ ...person, start: "2027-02-30T10:00" }), "February 30 isn't a date. Which day did you mean?"],
    [
      "February 29 of a common year",
      () => ({ ...person, start: "2027-02-29T10:00" }),
      "February 29 isn't a date in 2027. Which day did you mean?",
    ],
    ["year 0027", () => ({ ...person, start: "0027-03-02T10:00" }), "I didn't catch the year. Which day did you mean?"],
    ["25 o'clock", () => ({ ...person, start: `${tuesday()}T25:00` }), "There's no such time as 25:00. What time would you like?"],
    [
      "an unparseable start",
      () => ({ ...person, start: "next Tuesday at ten" }),
      "I didn't catch the day and time. When would you like the appointment?",
    ],
    [
      "a start that is not a string",
      () => ({ ...person, start: 1767225600000 }),
      "I didn't catch the day and time. When would you like the appointment?",
    ],
    [
      "a duration as text",
      () => ({ ...person, start: `${tuesday()}T10:00`, duration_minutes: "60" }),
      "How long should the appointment be, in minutes?",
    ],
    [
      "a duration of 10 hours",
      () => ({ ...person, start: `${tuesday()}T10:00`, duration_minutes: 600 }),
      "An appointment can be 10 minutes to 8 hours long. How long should it be?",
    ],
    [
      "a three-digit phone",
      () => ({ ...person, start: `${tuesday()}T10:00`, caller_phone: "555" }),
      "I didn't catch that phone number. What number can we reach you at?",
    ],
    [
      "a phone of brackets",
      () => ({ ...person, start: `${tuesday()}T10:00`, caller_phone: "((((((()" }),
      "That phone number seems too short. What number can we reach you at?",
    ],
    ["a Saturday", () => ({ ...person, start: `${upcoming(6)}T10:00` }), "We're closed on Saturdays. Which other day would work?"],
    [
      "a date long past",
      () => ({ ...person, start: "2020-01-06T10:00" }),
      "Monday, January 6 at 10:00 AM has already passed. Which day and time would you like?",
    ],
    [
      "an evening",
      () => ({ ...person, start: `${upcoming(4)}T18:30` }),
      `${dayLabel(upcoming(4))} at 6:30 PM is outside our booking hours: on Thursdays we book from 9:00 AM to 5:00 PM. What time would work for you?`,
    ],
    [
      "an hour that runs past closing",
      () => ({ ...person, start: `${upcoming(4)}T16:30`, duration_minutes: 60 }),
      "A 60-minute appointment at 4:30 PM would end after we close at 5:00 PM. Would an earlier time work?",
    ],
  ])("book_appointment with %s", async (_, args, expected) => {
    expect(await say(vapiAssistantId, "book_appointment", args())).toBe(expected);
    expect(await sandbox().googleEvents()).toEqual([]);
    expect(await bookingsOnRecord()).toEqual([]);
  });

  it.each([
    ["no date", {}, "Which day would you like? Please tell me a date."],
    ["February 30", { date: "2027-02-30" }, "February 30 isn't a date. Which day did you mean?"],
    ["month 0", { date: "2027-00-10" }, "There's no month 0. Which day did you mean?"],
    ["a date as a number", { date: 20270301 }, "I didn't catch the date. Which day would you like?"],
    ["an impossible last day", { date: "2027-03-01", end_date: "2027-04-31" }, "April 31 isn't a date. Which day did you mean?"],
    [
      "a duration of 5 minutes",
      { date: "2027-03-01", duration_minutes: 5 },
      "An appointment can be 10 minutes to 8 hours long. How long should it be?",
    ],
    ["a fractional duration", { date: "2027-03-01", duration_minutes: 12.5 }, "How long should the appointment be, in minutes?"],
  ])("check_availability with %s", async (_, args, expected) => {
    expect(await say(vapiAssistantId, "check_availability", args)).toBe(expected);
  });

  it("arguments that are not a JSON object get a sentence, not a parse error", async () => {
    for (const args of ["{not json", "[1,2]", "42", '"text"']) {
      expect(await say(vapiAssistantId, "book_appointment", args)).toBe(
        "Sorry, I didn't get the details. Could you tell me again what you'd like?",
      );
    }
  });

  it("a booking at a time off the half-hour grid, inside the hours, is booked", async () => {
    const line = await say(vapiAssistantId, "book_appointment", { ...person, start: `${tuesday()}T10:15`, duration_minutes: 30 });
    expect(line).toBe(`You're booked for ${dayLabel(tuesday())} at 10:15 AM. We'll see you then, Sam!`);
    await expectCalendarMatchesRecord();
  });
});

describe("replayed and repeated booking tool calls", () => {
  const args = () => ({
    start: `${upcoming(2)}T10:00`,
    duration_minutes: 60,
    caller_name: "Sam Lee",
    caller_phone: "+15125550123",
    reason: "AC not cooling",
  });
  const ids = { call: "call-9", tool: "tool-9" };

  it("the same id with the same arguments answers the first outcome; no second event", async () => {
    const first = await say(vapiAssistantId, "book_appointment", args(), ids);
    expect(first).toBe(`You're booked for ${dayLabel(upcoming(2))} at 10:00 AM. We'll see you then, Sam!`);
    expect(await say(vapiAssistantId, "book_appointment", args(), ids)).toBe(first);
    expect(await sandbox().googleEvents()).toHaveLength(1);
    await expectCalendarMatchesRecord();
  });

  it("the same id with other arguments says what was booked the first time, and changes nothing", async () => {
    await say(vapiAssistantId, "book_appointment", args(), ids);
    const replay = await say(vapiAssistantId, "book_appointment", { ...args(), start: `${upcoming(3)}T14:00`, caller_name: "Kim" }, ids);
    expect(replay).toBe(
      `You're already booked for ${dayLabel(upcoming(2))} at 10:00 AM, and I haven't changed that booking. Would you like another appointment as well?`,
    );
    const events = await sandbox().googleEvents();
    expect(events.map((e) => new Date(e.start.dateTime).toISOString())).toEqual([busyInChicago(upcoming(2), "10:00", "11:00").start]);
    expect((await bookingsOnRecord()).map((b) => [b.starts_at, b.caller_name])).toEqual([
      [busyInChicago(upcoming(2), "10:00", "11:00").start, "Sam Lee"],
    ]);
    await expectCalendarMatchesRecord();
  });

  it("the same id with other arguments, after the first answer was lost before it was recorded, says what Google holds", async () => {
    await say(vapiAssistantId, "book_appointment", args(), ids);
    await env.DB.prepare("DELETE FROM bookings").run(); // the event is in Google; its record was never written
    const replay = await say(vapiAssistantId, "book_appointment", { ...args(), start: `${upcoming(3)}T14:00` }, ids);
    expect(replay).toMatch(
      new RegExp(`^You're already booked for ${dayLabel(upcoming(2))} at 10:00 AM, and I haven't changed that booking\\.`),
    );
    expect(await sandbox().googleEvents()).toHaveLength(1);
    await expectCalendarMatchesRecord();
  });

  it("two bookings with different ids in one message make two events", async () => {
    const [first, second] = await answers(vapiAssistantId, [
      { id: "book-a", name: "book_appointment", arguments: args() },
      { id: "book-b", name: "book_appointment", arguments: { ...args(), start: `${upcoming(2)}T13:00`, caller_name: "Kim Park" } },
    ]);
    expect(first!.result).toBe(`You're booked for ${dayLabel(upcoming(2))} at 10:00 AM. We'll see you then, Sam!`);
    expect(second!.result).toBe(`You're booked for ${dayLabel(upcoming(2))} at 1:00 PM. We'll see you then, Kim!`);
    expect(await sandbox().googleEvents()).toHaveLength(2);
    expect(await bookingsOnRecord()).toHaveLength(2);
    await expectCalendarMatchesRecord();
  });

  it("two bookings of the same slot with different ids in one message: one booked, the other told it is taken", async () => {
    const results = await answers(vapiAssistantId, [
      { id: "book-a", name: "book_appointment", arguments: args() },
      { id: "book-b", name: "book_appointment", arguments: { ...args(), caller_name: "Kim Park" } },
    ]);
    expect(results.map((r) => r.result)).toEqual([
      `You're booked for ${dayLabel(upcoming(2))} at 10:00 AM. We'll see you then, Sam!`,
      `Sorry, ${dayLabel(upcoming(2))} at 10:00 AM was just taken. Shall I find another time?`,
    ]);
    expect(await sandbox().googleEvents()).toHaveLength(1);
    await expectCalendarMatchesRecord();
  });
});

describe("offered slots end by closing time, and read as a sentence", () => {
  it("with 60 minutes and closing at 5 PM, 4:00 PM is offered and 4:30 PM is not", async () => {
    const monday = upcoming(1);
    await sandbox().googleAddBusy(busyInChicago(monday, "09:00", "16:00"));
    expect(await say(vapiAssistantId, "check_availability", { date: monday, duration_minutes: 60 })).toBe(
      `I have 4:00 PM on ${dayLabel(monday)}. Does that work for you?`,
    );
    expect(await say(vapiAssistantId, "check_availability", { date: monday, duration_minutes: 30 })).toBe(
      `I have 4:00 PM or 4:30 PM on ${dayLabel(monday)}. Which works best?`,
    );
    expect(
      await say(vapiAssistantId, "book_appointment", {
        start: `${monday}T16:00`,
        duration_minutes: 60,
        caller_name: "Ana",
        caller_phone: "+15125550100",
      }),
    ).toMatch(/^You're booked for .* at 4:00 PM\./);
  });

  it("opening ranges listed out of order, or overlapping, are offered in time order, each time once", async () => {
    const business = {
      ...sampleBusiness,
      timezone: CHICAGO,
      hours: {
        mon: [
          { open: "14:00", close: "16:00" },
          { open: "09:00", close: "10:00" },
          { open: "14:00", close: "15:00" },
        ],
      },
    };
    await env.DB.prepare("UPDATE assistants SET business_data = ? WHERE vapi_assistant_id = ?")
      .bind(JSON.stringify(business), vapiAssistantId)
      .run();
    const monday = upcoming(1);
    expect(await say(vapiAssistantId, "check_availability", { date: monday, duration_minutes: 60 })).toBe(
      `I have 9:00 AM, 2:00 PM, 2:30 PM or 3:00 PM on ${dayLabel(monday)}. Which works best?`,
    );
  });

  it("three choices over one day: 'A, B or C' once, the day said once", async () => {
    const monday = upcoming(1);
    await sandbox().googleAddBusy(busyInChicago(monday, "09:00", "15:00"));
    expect(await say(vapiAssistantId, "check_availability", { date: monday, duration_minutes: 60 })).toBe(
      `I have 3:00 PM, 3:30 PM or 4:00 PM on ${dayLabel(monday)}. Which works best?`,
    );
  });

  it("choices over several days: each day named without commas inside the list", async () => {
    const monday = upcoming(1);
    const tuesday = new Date(Date.parse(`${monday}T12:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    await sandbox().googleAddBusy(busyInChicago(monday, "09:00", "16:00"));
    await sandbox().googleAddBusy(busyInChicago(tuesday, "10:00", "17:00"));
    const ordinal = (date: string) => {
      const d = Number(date.slice(8));
      return `${d}${d % 10 === 1 && d !== 11 ? "st" : d % 10 === 2 && d !== 12 ? "nd" : d % 10 === 3 && d !== 13 ? "rd" : "th"}`;
    };
    expect(await say(vapiAssistantId, "check_availability", { date: monday, end_date: tuesday, duration_minutes: 60 })).toBe(
      `I have Monday the ${ordinal(monday)} at 4:00 PM or Tuesday the ${ordinal(tuesday)} at 9:00 AM. Which works best?`,
    );
  });
});

describe("every answer is a sentence the assistant can say (generated)", () => {
  const clock = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 15, 30, 45)).map(([h, m]) => h * 60 + m);
  const hhmm = (minutes: number) => `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
  const range = fc
    .tuple(clock, clock)
    .filter(([a, b]) => a < b)
    .map(([a, b]) => ({ open: hhmm(a), close: hhmm(b) }));
  const day = fc.array(range, { maxLength: 2 });
  const hours = fc.record({ mon: day, tue: day, wed: day, thu: day, fri: day, sat: day, sun: day }, { requiredKeys: [] });

  /** Mostly a value the schema and the calendar accept, sometimes absent, sometimes wrong: one argument off at a time is common. */
  const mostly = <T>(valid: fc.Arbitrary<T>, wrong: fc.Arbitrary<unknown>) =>
    fc.oneof({ arbitrary: valid, weight: 8 }, { arbitrary: fc.constant(undefined), weight: 1 }, { arbitrary: wrong, weight: 1 });
  const soon = fc.integer({ min: -3, max: 20 }).map((days) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10));
  const impossibleDate = fc
    .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 19 }), fc.integer({ min: 0, max: 39 }))
    .map(([y, m, d]) => `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`);
  const wrongDate = fc.oneof(impossibleDate, fc.string({ maxLength: 12 }), fc.integer(), fc.constant(null));
  const impossibleTime = fc
    .tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }))
    .map(([h, m]) => `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`);
  const start = mostly(
    fc.tuple(soon, clock).map(([d, t]) => `${d}T${hhmm(t)}`),
    fc.oneof(
      fc.tuple(fc.oneof(soon, impossibleDate), impossibleTime).map(([d, t]) => `${d}T${t}`),
      fc.string({ maxLength: 20 }),
      fc.integer(),
    ),
  );
  const duration = mostly(
    fc.integer({ min: 1, max: 32 }).map((q) => q * 15),
    fc.oneof(fc.integer({ min: -10, max: 600 }), fc.double(), fc.string({ maxLength: 3 }), fc.constant(null)),
  );
  const name = mostly(
    fc.constantFrom("Sam Lee", "Ana", "Kim Park", "María José García"),
    fc.oneof(fc.constantFrom("", "  "), fc.string({ unit: fc.constantFrom("a", "Z", " "), maxLength: 130 }), fc.integer()),
  );
  const phone = mostly(
    fc.constantFrom("+15125550123", "(512) 555-0123", "512.555.0199"),
    fc.oneof(fc.constantFrom("555", ""), fc.string({ unit: fc.constantFrom("1", "-", " ", "(", "+"), maxLength: 35 })),
  );
  const reason = mostly(fc.constantFrom("AC not cooling", "Furnace check"), fc.integer());
  const defined = (args: Record<string, unknown>) => Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
  const availability = fc
    .record({ date: mostly(soon, wrongDate), end_date: mostly(soon, wrongDate), duration_minutes: duration })
    .map(defined);
  const booking = fc.record({ start, duration_minutes: duration, caller_name: name, caller_phone: phone, reason }).map(defined);
  const call = fc.oneof(fc.tuple(fc.constant("check_availability"), availability), fc.tuple(fc.constant("book_appointment"), booking));

  it("over argument shapes, business hours, appointment lengths and time zones", async () => {
    let n = 0;
    const lines: string[] = [];
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        hours,
        fc.constantFrom(CHICAGO, "Europe/Berlin", "Asia/Kolkata", "Pacific/Auckland"),
        fc.integer({ min: 1, max: 16 }).map((q) => q * 30),
        fc.boolean(),
        call,
        async (businessHours, timezone, appointmentMinutes, asString, [tool, args]) => {
          const business = {
            ...sampleBusiness,
            timezone,
            hours: businessHours,
            appointment_minutes: appointmentMinutes,
            min_notice_minutes: 60,
          };
          await env.DB.prepare("UPDATE assistants SET business_data = ? WHERE vapi_assistant_id = ?")
            .bind(JSON.stringify(business), vapiAssistantId)
            .run();
          n++;
          const line = await say(vapiAssistantId, tool, asString ? JSON.stringify(args) : args, { call: "call-gen", tool: `gen-${n}` });
          expectSpeakable(line);
          expect(line, JSON.stringify({ tool, args, business })).not.toMatch(TROUBLE);
          seen.add(line.replace(/\d+/g, "#").slice(0, 30));
          lines.push(line);
        },
      ),
      { seed: 20261211, numRuns: 500 },
    );
    // The generator reaches many different answers, not one refusal over and over.
    expect(seen.size).toBeGreaterThan(15);
    expect(lines.filter((l) => l.startsWith("You're booked")).length).toBeGreaterThan(2);
    expect(lines.filter((l) => l.startsWith("I have")).length).toBeGreaterThan(20);
    await expectCalendarMatchesRecord();
  });
});
