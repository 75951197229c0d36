import { createRoute, z } from "@hono/zod-openapi";
import { rateLimit } from "../../platform/rate-limit";
import { createRouter } from "../../platform/router";
import { authErrors, errorResponse, jsonBody, jsonResponse } from "../../platform/openapi";
import { areaCode } from "../assistants/business-data";
import { purchaseForOrganization } from "../numbers/twilio-source";
import { alertsAdminRouter } from "./alert-routes";
import { assistantsAdminRouter } from "./resync-routes";
import { platformAdmin, security, tags } from "./access";
import { numbersAdminRouter } from "./number-routes";
import { poolAdminRouter } from "./pool-routes";
import { provisioningEventsRouter } from "./provisioning-events";
import { routingAdminRouter } from "../routing/routes";
import { vapiImportRouter } from "../vapi-import/routes";
import { adminPhoneNumberSchema, toAdminPhoneNumber } from "./schemas";

const purchase = createRoute({
  method: "post",
  path: "/api/admin/twilio/purchase",
  tags,
  security,
  middleware: [platformAdmin, rateLimit("twilio_purchase")] as const,
  summary: "Buy a Twilio number for an organization and import it into Vapi now",
  description: "The number joins that organization's pool, unassigned; only its assistants will get it.",
  request: {
    body: jsonBody(z.strictObject({ org_id: z.string().min(1).max(128), area_code: areaCode.optional() }).openapi("TwilioPurchase")),
  },
  responses: {
    201: jsonResponse(adminPhoneNumberSchema, "The bought and imported number"),
    400: errorResponse("Invalid body"),
    ...authErrors,
    409: errorResponse("`twilio_not_configured`, `twilio_no_numbers_available` (names the area code), `twilio_trial_account`"),
    422: errorResponse("Twilio refused (credentials, number)"),
    502: errorResponse("Twilio or Vapi failed; a bought number stays recorded as the organization's"),
  },
});

const twilioAdminRouter = createRouter().openapi(purchase, async (c) => {
  const { org_id, area_code } = c.req.valid("json");
  const deps = c.var.services;
  const number = await purchaseForOrganization(deps, org_id, area_code ?? null);
  return c.json(toAdminPhoneNumber(number), 201);
});

/** Platform operators only (`platform_admin`); every other role gets 403. */
export const adminRouter = createRouter()
  .route("/", poolAdminRouter)
  .route("/", provisioningEventsRouter)
  .route("/", numbersAdminRouter)
  .route("/", alertsAdminRouter)
  .route("/", assistantsAdminRouter)
  .route("/", twilioAdminRouter)
  .route("/", vapiImportRouter)
  .route("/", routingAdminRouter);
