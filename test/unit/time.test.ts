import { describe, expect, it } from "vitest";
import { nextDate, spokenDay, spokenTime, weekdayOf, zonedDate, zonedParts, zonedToInstant } from "../../src/lib/time";

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
