import { createRoute, z } from "@hono/zod-openapi";
import { orgOf } from "../../platform/context";
import { requireRole } from "../../platform/middleware";
import { createRouter } from "../../platform/router";
import { getFallbackLine, setFallbackLine } from "./fallback";
import { deleteTwilioConfig, getTwilioConfig, saveTwilioConfig } from "./twilio-settings";
import { areaCode, e164 } from "../assistants/business-data";
import { authErrors, bearer, errorResponse, jsonBody, jsonResponse } from "../../platform/openapi";

const tags = ["Organization"];
const security = bearer("owner");
const owner = requireRole("owner");

/** Twilio's tokens and secrets are printable ASCII: anything else is a copy-paste accident, refused before Twilio. */
const secret = (name: string) =>
  z
    .string()
    .trim()
    .min(8, `${name} looks too short`)
    .max(128)
    .regex(/^[\x21-\x7e]+$/, `${name} must be printable ASCII without spaces: copy it again from the Twilio console`);

const twilioConfigSchema = z
  .strictObject({
    account_sid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, "must be a Twilio Account SID: AC followed by 32 hex characters"),
    auth_token: secret("auth_token").optional(),
    api_key_sid: z
      .string()
      .regex(/^SK[0-9a-fA-F]{32}$/, "must be a Twilio API key SID: SK followed by 32 hex characters")
      .optional(),
    api_key_secret: secret("api_key_secret").optional(),
    phone_numbers: z
      .array(e164)
      .max(100, "at most 100 numbers")
      .optional()
      .openapi({ description: "Numbers of this account Switchboard may import into Vapi" }),
    auto_purchase: z.boolean().default(false).openapi({ description: "Buy a number through Twilio when the listed ones are used up" }),
    area_code: areaCode.optional().openapi({ description: "Default area code for purchases" }),
  })
  .superRefine((v, ctx) => {
    const key = v.api_key_sid !== undefined || v.api_key_secret !== undefined;
    if (key && (v.api_key_sid === undefined || v.api_key_secret === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [v.api_key_sid === undefined ? "api_key_sid" : "api_key_secret"],
        message: "an API key needs both api_key_sid and api_key_secret",
      });
    }
    if (key === (v.auth_token !== undefined)) {
      ctx.addIssue({ code: "custom", path: ["auth_token"], message: "send either auth_token, or api_key_sid with api_key_secret" });
    }
  })
  .openapi("TwilioConfigInput");

const twilioConfigView = z
  .object({
    configured: z.boolean(),
    account_sid: z.string().nullable().openapi({ description: "Masked, e.g. AC…1a2b" }),
    credential_type: z.enum(["auth_token", "api_key"]).nullable(),
    auto_purchase: z.boolean(),
    area_code: z.string().nullable(),
    configured_at: z.string().nullable(),
    numbers: z.array(
      z.object({
        number: z.string(),
        origin: z.enum(["imported", "purchased"]),
        state: z.enum(["available", "assigned", "importing"]),
        phone_number_id: z.string().nullable(),
        assistant_id: z.string().nullable(),
        assistant_name: z.string().nullable(),
      }),
    ),
  })
  .openapi("TwilioConfig");

const put = createRoute({
  method: "put",
  path: "/api/organization/twilio",
  tags,
  security,
  middleware: [owner] as const,
  summary: "Connect the organization's Twilio account and list its numbers",
  description: "The credentials are checked against Twilio before anything is saved, stored encrypted, and never returned.",
  request: { body: jsonBody(twilioConfigSchema) },
  responses: {
    200: jsonResponse(twilioConfigView, "The saved configuration"),
    400: errorResponse("Invalid body"),
    ...authErrors,
    409: errorResponse("`twilio_number_taken`: a listed number is another organization's (`details.numbers`)"),
    422: errorResponse("`twilio_credentials_rejected`, or `twilio_number_not_in_account` naming the numbers"),
    502: errorResponse("Twilio failed"),
  },
});

const get = createRoute({
  method: "get",
  path: "/api/organization/twilio",
  tags,
  security,
  middleware: [owner] as const,
  summary: "The organization's Twilio configuration and numbers (no secrets)",
  responses: { 200: jsonResponse(twilioConfigView, "Configuration and numbers"), ...authErrors },
});

const remove = createRoute({
  method: "delete",
  path: "/api/organization/twilio",
  tags,
  security,
  middleware: [owner] as const,
  summary: "Forget the Twilio credentials; numbers in use stay until their assistants go",
  responses: { 204: { description: "Forgotten" }, ...authErrors },
});

const fallbackView = z
  .object({ phone: e164.nullable().openapi({ description: "The fallback line, or null when none is set" }) })
  .openapi("FallbackLine");

const putFallback = createRoute({
  method: "put",
  path: "/api/organization/fallback",
  tags,
  security,
  middleware: [owner] as const,
  summary: "Set the organization's fallback line: where a call goes when no assistant can take it",
  description:
    "Used for calls to the organization's numbers that have no assistant, when the organization is at its concurrent-call cap, and " +
    "(in edge routing) as each number's `fallbackDestination` in Vapi when the assistant has no emergency contact.",
  request: { body: jsonBody(z.strictObject({ phone: e164 }).openapi("FallbackLineInput")) },
  responses: { 200: jsonResponse(fallbackView, "The saved line"), 400: errorResponse("Not an E.164 number"), ...authErrors },
});

const getFallback = createRoute({
  method: "get",
  path: "/api/organization/fallback",
  tags,
  security,
  middleware: [owner] as const,
  summary: "The organization's fallback line",
  responses: { 200: jsonResponse(fallbackView, "The line, or null"), ...authErrors },
});

const deleteFallback = createRoute({
  method: "delete",
  path: "/api/organization/fallback",
  tags,
  security,
  middleware: [owner] as const,
  summary: "Remove the fallback line: calls no assistant can take hear that the number is not in service",
  responses: { 204: { description: "Removed" }, ...authErrors },
});

export const organizationRouter = createRouter()
  .openapi(put, async (c) => c.json(await saveTwilioConfig(c.var.services, orgOf(c), c.req.valid("json")), 200))
  .openapi(get, async (c) => c.json(await getTwilioConfig(c.var.db, orgOf(c)), 200))
  .openapi(remove, async (c) => {
    await deleteTwilioConfig(c.var.db, c.var.log, orgOf(c));
    return c.body(null, 204);
  })
  .openapi(putFallback, async (c) => {
    const phone = await setFallbackLine(c.var.services, orgOf(c), c.req.valid("json").phone);
    return c.json({ phone }, 200);
  })
  .openapi(getFallback, async (c) => c.json({ phone: await getFallbackLine(c.var.db, orgOf(c)) }, 200))
  .openapi(deleteFallback, async (c) => {
    await setFallbackLine(c.var.services, orgOf(c), null);
    return c.body(null, 204);
  });
