import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../platform/router";
import { repairNumber } from "../numbers/repair";
import { refreshNumber } from "../numbers/refresh";
import { authErrors, errorResponse, idParam, jsonBody, jsonResponse } from "../../platform/openapi";
import { platformAdmin, security, tags } from "./access";
import { adminPhoneNumberSchema, repairBodySchema, repairResultSchema, toAdminPhoneNumber } from "./schemas";

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
    200: jsonResponse(
      z.object({ outcome: z.enum(["active", "failed", "pending"]), phone_number: adminPhoneNumberSchema }),
      "What Vapi said, and the number now",
    ),
    ...authErrors,
    404: errorResponse("No such number"),
    409: errorResponse("The number has no Vapi id yet"),
    502: errorResponse("Vapi failed"),
  },
});

const repair = createRoute({
  method: "patch",
  path: "/api/admin/phone-numbers/{id}",
  tags,
  security,
  middleware: [platformAdmin] as const,
  summary: "Manual fix: record the number Vapi shows for this id",
  description:
    "Vapi is asked first: the number must be exactly what Vapi has for the row's Vapi id. The row becomes active with it, its tracker stops, " +
    "its stuck/failed alerts are resolved, and a `repaired` event is recorded.",
  request: { params: idParam("phone number"), body: jsonBody(repairBodySchema) },
  responses: {
    200: jsonResponse(repairResultSchema, "The number now, and what it was"),
    400: errorResponse("Invalid body (not E.164)"),
    ...authErrors,
    404: errorResponse("No such number"),
    409: errorResponse("`not_in_vapi` (no Vapi id yet) or `number_released`"),
    422: errorResponse("`number_mismatch` (names both numbers), `vapi_number_not_found`, `vapi_number_blocked`"),
    502: errorResponse("Vapi failed"),
  },
});

export const numbersAdminRouter = createRouter()
  .openapi(refresh, async (c) => {
    const { outcome, number } = await refreshNumber(c.var.services, c.req.valid("param").id);
    return c.json({ outcome, phone_number: toAdminPhoneNumber(number) }, 200);
  })
  .openapi(repair, async (c) => {
    const result = await repairNumber(c.var.services, c.req.valid("param").id, c.req.valid("json").number, c.var.caller.userId);
    return c.json({ changed: result.changed, previous: result.previous, phone_number: toAdminPhoneNumber(result.number) }, 200);
  });
