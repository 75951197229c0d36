import { z } from "@hono/zod-openapi";
import { SUPPORTED_LANGUAGES } from "./vapi-config";
import { areaCode, businessDataSchema, e164, text } from "./business-data";
import { wholeNumber } from "../../platform/openapi";
import { ASSISTANT_PAGE_MAX } from "./assistants";

const languagesSchema = z
  .array(z.enum(SUPPORTED_LANGUAGES))
  .min(1, "give at least one language")
  .max(5, "at most 5 languages")
  .refine((list) => new Set(list).size === list.length, "languages must not repeat")
  .openapi({
    description: "Languages the receptionist speaks, the first one greets callers. More than one turns on multilingual transcription.",
    example: ["en", "es"],
  });

export const createAssistantSchema = z
  .strictObject({
    name: text(80)
      .optional()
      .openapi({ description: "Shown in the app; defaults to business_data.business_name.", example: "Cool Breeze front desk" }),
    business_data: businessDataSchema,
    languages: languagesSchema.default(["en"]),
    area_code: areaCode.optional().openapi({ description: "Preferred US area code for the assistant's number." }),
  })
  .openapi("CreateAssistant");

export const updateAssistantSchema = z
  .strictObject({
    name: text(80).nullable().optional().openapi({ description: "A new name; null goes back to following the business name." }),
    business_data: businessDataSchema.partial().optional().openapi({ description: "Fields to change; the rest are kept." }),
    languages: languagesSchema.optional(),
  })
  .refine(
    (v) => v.name !== undefined || v.business_data !== undefined || v.languages !== undefined,
    "send at least one of name, business_data, languages",
  )
  .openapi("UpdateAssistant");

export const assistantSchema = z
  .object({
    id: z.string(),
    name: z.string().openapi({ description: "Never empty: the given name, else the business name." }),
    business_data: businessDataSchema,
    languages: z.array(z.string()),
    vapi_assistant_id: z.string().nullable(),
    vapi_phone_number: z
      .string()
      .nullable()
      .openapi({ description: "E.164 digits, or null while none is known. Never a label such as Vapi-87ea540e.", example: "+14155550123" }),
    phone_provider: z.enum(["vapi", "twilio"]).nullable(),
    phone_status: z.enum(["active", "provisioning", "stuck", "none"]),
    phone_number_id: z.string().nullable(),
    phone_source: z.enum(["pool", "new", "twilio"]).nullable(),
    was_reused: z.boolean(),
    provisioning: z
      .object({ attempts: z.number().int(), max_attempts: z.number().int(), started_at: z.string(), next_check_at: z.string().nullable() })
      .nullable(),
    emergency_contact: z.object({ name: z.string(), phone: e164 }).nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Assistant", {
    example: {
      id: "93d8c5e2-6f0a-4d0b-9a51-1c2f3e4d5a6b",
      name: "Cool Breeze front desk",
      business_data: { business_name: "Cool Breeze HVAC", industry: "HVAC", timezone: "America/Chicago" },
      languages: ["en", "es"],
      vapi_assistant_id: "5b0a4c1e-8d2f-4e6a-b7c9-0d1e2f3a4b5c",
      vapi_phone_number: null,
      phone_provider: "vapi",
      phone_status: "provisioning",
      phone_number_id: "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
      phone_source: "new",
      was_reused: false,
      provisioning: { attempts: 1, max_attempts: 40, started_at: "2026-11-20T15:04:05.000Z", next_check_at: "2026-11-20T15:04:35.000Z" },
      emergency_contact: null,
      created_at: "2026-11-20T15:04:05.000Z",
      updated_at: "2026-11-20T15:04:05.000Z",
    },
  });

export const assistantListSchema = z
  .object({
    assistants: z.array(assistantSchema),
    next_cursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next page; null on the last page" }),
  })
  .openapi("AssistantList");

export const assistantListQuerySchema = z.object({
  limit: wholeNumber(1, ASSISTANT_PAGE_MAX)
    .default(ASSISTANT_PAGE_MAX)
    .openapi({ description: `Assistants per page, 1 to ${ASSISTANT_PAGE_MAX}`, example: ASSISTANT_PAGE_MAX }),
  cursor: z.string().min(1).max(300).optional().openapi({ description: "`next_cursor` of the previous page" }),
});

export const assignPhoneSchema = z
  .strictObject({ area_code: areaCode.optional().openapi({ description: "Preferred US area code; defaults to the assistant's." }) })
  .openapi("AssignPhone");

export const phoneSchema = assistantSchema
  .pick({
    vapi_phone_number: true,
    phone_provider: true,
    phone_status: true,
    phone_number_id: true,
    phone_source: true,
    was_reused: true,
    provisioning: true,
  })
  .extend({ assistant_id: z.string() })
  .openapi("AssistantPhone");
