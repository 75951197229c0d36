import { createRoute, z } from "@hono/zod-openapi";
import { trackerStub } from "../../durable-objects/provisioning-tracker";
import { requireRole } from "../../lib/middleware";
import { createRouter } from "../../lib/router";
import { refreshNumber } from "../../services/number-refresh";
import { authErrors, errorResponse, idParam, jsonResponse } from "../schemas";
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

export const adminRouter = createRouter().openapi(refresh, async (c) => {
  const { outcome, number } = await refreshNumber(
    { db: c.var.db, log: c.var.log, vapi: c.var.upstreams.vapi, stopTracker: (key) => trackerStub(c.env, key).stop("active") },
    c.req.valid("param").id,
  );
  return c.json({ outcome, phone_number: toAdminPhoneNumber(number) }, 200);
});
