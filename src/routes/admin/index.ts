import { createRoute, z } from "@hono/zod-openapi";
import { trackerStub } from "../../durable-objects/provisioning-tracker";
import { requireRole } from "../../lib/middleware";
import { createRouter } from "../../lib/router";
import { refreshNumber } from "../../services/number-refresh";
import { authErrors, errorResponse, idParam, jsonBody, jsonResponse } from "../schemas";
import { areaCode } from "../../services/business-data";
import { purchaseForOrganization } from "../../services/org-numbers";
import { assistantDeps } from "../assistants";
import { twilioConfigDeps } from "../organization";
import { adminPhoneNumberSchema, toAdminPhoneNumber } from "./schemas";

const tags = ["Admin"];
const security = [{ Bearer: [] }];
const platformAdmin = requireRole("platform_admin");

const refresh = createRoute({
  method: "post",
  path: "/api/admin/phone-numbers/{id}/refresh",
  tags,
  security,
  middleware: [platformAdmin] as const,
  summary: "Check a number in Vapi now and apply the result",
  description: "For a number stuck in provisioning: if Vapi has it active, its digits are recorded and its tracker stops.",
  request: { params: idParam("phone number") },
  responses: {
    200: jsonResponse(z.object({ outcome: z.enum(["active", "failed", "pending"]), phone_number: adminPhoneNumberSchema }), "What Vapi said, and the number now"),
    ...authErrors,
    404: errorResponse("No such number"),
    409: errorResponse("The number has no Vapi id yet"),
    502: errorResponse("Vapi failed"),
  },
});

const purchase = createRoute({
  method: "post",
  path: "/api/admin/twilio/purchase",
  tags,
  security,
  middleware: [platformAdmin] as const,
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

export const adminRouter = createRouter()
  .openapi(purchase, async (c) => {
    const { org_id, area_code } = c.req.valid("json");
    const deps = { ...assistantDeps(c), box: c.var.secrets, twilioFor: twilioConfigDeps(c).twilioFor };
    const number = await purchaseForOrganization(deps, org_id, area_code ?? null);
    return c.json(toAdminPhoneNumber(number), 201);
  })
  .openapi(refresh, async (c) => {
  const { outcome, number } = await refreshNumber(
    { db: c.var.db, log: c.var.log, vapi: c.var.upstreams.vapi, stopTracker: (key) => trackerStub(c.env, key).stop("active") },
    c.req.valid("param").id,
  );
  return c.json({ outcome, phone_number: toAdminPhoneNumber(number) }, 200);
});
