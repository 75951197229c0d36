import { describe, expect, it } from "vitest";
import { spokenChoice, spokenDuration } from "../../src/platform/spoken";
import {
  nextDate,
  notADate,
  notATime,
  spokenDay,
  spokenTime,
  spokenWeekdayAndDate,
  weekdayOf,
  zonedDate,
  zonedParts,
  zonedToInstant,
} from "../../src/platform/time";

describe("zoned time", () => {
  it("converts wall-clock times to instants in and out of DST", () => {
    expect(new Date(zonedToInstant("2026-01-15", "09:00", "America/New_York")!).toISOString()).toBe("2026-01-15T14:00:00.000Z");
    expect(new Date(zonedToInstant("2026-07-15", "09:00", "America/New_York")!).toISOString()).toBe("2026-07-15T13:00:00.000Z");
    expect(new Date(zonedToInstant("2026-07-15", "09:00", "Europe/Berlin")!).toISOString()).toBe("2026-07-15T07:00:00.000Z");
    expect(new Date(zonedToInstant("2026-07-15", "09:00", "Asia/Kolkata")!).toISOString()).toBe("2026-07-15T03:30:00.000Z");
  });

  it("knows a time skipped by the spring-forward does not exist, and takes the first of a repeated one", () => {
    // 2026-03-08: New York jumps from 02:00 to 03:00.
    expect(zonedToInstant("2026-03-08", "02:30", "America/New_York")).toBeNull();
    expect(new Date(zonedToInstant("2026-03-08", "03:00", "America/New_York")!).toISOString()).toBe("2026-03-08T07:00:00.000Z");
    // 2026-11-01: 01:30 happens twice; the first is still EDT (UTC-4).
    expect(new Date(zonedToInstant("2026-11-01", "01:30", "America/New_York")!).toISOString()).toBe("2026-11-01T05:30:00.000Z");
  });

  it("reads parts, dates and weekdays in a zone", () => {
    const instant = Date.parse("2026-11-27T03:30:00Z");
    expect(zonedParts(instant, "America/Chicago")).toEqual({ year: 2026, month: 11, day: 26, hour: 21, minute: 30, weekday: 4 });
    expect(zonedDate(instant, "America/Chicago")).toBe("2026-11-26");
    expect(zonedDate(instant, "UTC")).toBe("2026-11-27");
    expect(nextDate("2026-12-31")).toBe("2027-01-01");
    expect(weekdayOf("2026-11-26")).toBe(4);
    expect(spokenDay(instant, "America/Chicago")).toBe("Thursday, November 26");
    expect(spokenTime(instant, "America/Chicago")).toBe("9:30 PM");
  });
});

describe("what the assistant says about dates and lists", () => {
  it("names what is wrong with an impossible date or time, and passes real ones", () => {
    expect(notADate("2027-02-28")).toBeNull();
    expect(notADate("2028-02-29")).toBeNull();
    expect(notADate("2027-02-29")).toBe("February 29 isn't a date in 2027");
    expect(notADate("2027-02-30")).toBe("February 30 isn't a date");
    expect(notADate("2027-04-31")).toBe("April 31 isn't a date");
    expect(notADate("2027-01-00")).toBe("January 0 isn't a date");
    expect(notADate("2027-13-01")).toBe("There's no month 13");
    expect(notADate("2027-00-01")).toBe("There's no month 0");
    expect(notADate("0027-03-01")).toBe("I didn't catch the year");
    expect(notATime("23:59")).toBeNull();
    expect(notATime("09:30:59")).toBeNull();
    expect(notATime("24:00")).toBe("There's no such time as 24:00");
    expect(notATime("10:60")).toBe("There's no such time as 10:60");
  });

  it("joins a choice with commas and one final 'or'", () => {
    expect(spokenChoice([])).toBe("");
    expect(spokenChoice(["A"])).toBe("A");
    expect(spokenChoice(["A", "B"])).toBe("A or B");
    expect(spokenChoice(["A", "B", "C"])).toBe("A, B or C");
    expect(spokenChoice(["Tuesday, December 1 at 9:00 AM", "2 PM"])).toBe("Tuesday, December 1 at 9:00 AM or 2 PM");
  });

  it("says days in a list without commas, and durations in words", () => {
    const at = (iso: string) => Date.parse(iso);
    expect(spokenWeekdayAndDate(at("2026-12-01T15:00:00Z"), "America/Chicago")).toBe("Tuesday the 1st");
    expect(spokenWeekdayAndDate(at("2026-12-02T15:00:00Z"), "America/Chicago")).toBe("Wednesday the 2nd");
    expect(spokenWeekdayAndDate(at("2026-12-03T15:00:00Z"), "America/Chicago")).toBe("Thursday the 3rd");
    expect(spokenWeekdayAndDate(at("2026-12-11T15:00:00Z"), "America/Chicago")).toBe("Friday the 11th");
    expect(spokenWeekdayAndDate(at("2026-12-22T15:00:00Z"), "America/Chicago")).toBe("Tuesday the 22nd");
    expect(spokenDuration(30)).toBe("30 minutes");
    expect(spokenDuration(60)).toBe("1 hour");
    expect(spokenDuration(480)).toBe("8 hours");
    expect(spokenDuration(1440)).toBe("1 day");
  });
});
