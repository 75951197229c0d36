import { z } from "@hono/zod-openapi";

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this pattern's purpose
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/** Characters that show nothing: spaces of every kind, format characters (zero-width space, joiners, BOM), combining marks alone. */
const INVISIBLE_ONLY = /^[\p{Z}\p{Cf}\p{M}\s]*$/u;

/** A trimmed, single-purpose text field: something visible, no control characters, bounded length. */
export const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(max, `must be at most ${max} characters`)
    .refine((v) => v.length === 0 || !INVISIBLE_ONLY.test(v), "must not be empty (it has only invisible characters)")
    .refine((v) => !CONTROL_CHARACTERS.test(v), "must not contain control characters");

export const e164 = z
  .string()
  .regex(/^\+[1-9]\d{6,14}$/, "must be an E.164 phone number such as +14155550123")
  .openapi({ example: "+14155550123" });

/** A North American area code: three digits, not starting with 0 or 1. */
export const areaCode = z
  .string()
  .regex(/^[2-9]\d{2}$/, "must be a 3-digit US area code such as 415")
  .openapi({ example: "415" });

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be a 24-hour time such as 09:00");
const openingRanges = z
  .array(z.strictObject({ open: clock, close: clock }).refine((r) => r.open < r.close, "open must be before close"))
  .max(4);

const businessHoursSchema = z
  .strictObject(
    {
      mon: openingRanges.optional(),
      tue: openingRanges.optional(),
      wed: openingRanges.optional(),
      thu: openingRanges.optional(),
      fri: openingRanges.optional(),
      sat: openingRanges.optional(),
      sun: openingRanges.optional(),
    },
    { error: (issue) => (issue.code === "unrecognized_keys" ? `is not a day: use ${DAYS.join(", ")}` : undefined) },
  )
  .openapi("BusinessHours", {
    description: "Opening hours per day (mon…sun), each a list of {open, close} 24-hour times; a missing day is closed.",
    example: { mon: [{ open: "08:00", close: "17:00" }], sat: [{ open: "09:00", close: "12:00" }] },
  });

export const businessDataSchema = z
  .strictObject({
    business_name: text(120),
    industry: text(80).optional(),
    description: text(2000).optional(),
    services: z.array(text(120)).max(50).optional(),
    hours: businessHoursSchema.optional(),
    timezone: z.string().refine(isTimeZone, "must be an IANA time zone such as America/New_York").optional(),
    address: text(300).optional(),
    phone: e164.optional(),
    website: z
      .url({ protocol: /^https?$/, message: "must be an http(s) URL" })
      .max(300)
      .optional(),
    emergencies: z
      .array(text(120))
      .max(20)
      .optional()
      .openapi({
        description: "What counts as an emergency (the assistant transfers these to the emergency contact)",
        example: ["gas smell", "no heat below 40°F"],
      }),
    appointment_minutes: z.number().int().min(10).max(480).optional().openapi({ description: "Default appointment length; 60 when unset" }),
    min_notice_minutes: z.number().int().min(0).max(20_160).optional().openapi({ description: "Earliest booking from now; 60 when unset" }),
  })
  .openapi("BusinessData", {
    example: {
      business_name: "Cool Breeze HVAC",
      industry: "HVAC",
      services: ["AC repair", "Furnace installation"],
      hours: { mon: [{ open: "08:00", close: "17:00" }] },
      timezone: "America/Chicago",
    },
  });

export type BusinessData = z.infer<typeof businessDataSchema>;
