import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../../platform/errors";
import { createRouter } from "../../platform/router";
import { resolveAlertById, toAlertView } from "../alerts/alerts";
import { authErrors, errorResponse, jsonResponse } from "../../platform/openapi";
import { platformAdmin, security, tags } from "./access";
import { alertIdParam, alertSchema } from "./schemas";

const resolve = createRoute({
  method: "post",
  path: "/api/admin/alerts/{id}/resolve",
  tags,
  security,
  middleware: [platformAdmin] as const,
  summary: "Resolve an alert by hand",
  description: "For alerts no condition clears by itself, such as `orphan_adopted`. Resolving a resolved alert changes nothing.",
  request: { params: alertIdParam },
  responses: {
    200: jsonResponse(alertSchema, "The alert, resolved"),
    400: errorResponse("The id is not a number"),
    ...authErrors,
    404: errorResponse("No such alert"),
  },
});

export const alertsAdminRouter = createRouter().openapi(resolve, async (c) => {
  const id = c.req.valid("param").id;
  const alert = await resolveAlertById(c.var.db, id);
  if (!alert) throw new ApiError(404, "not_found", `Alert ${id} was not found.`);
  c.var.log.info("alert_resolved_by_admin", { alert_id: id, kind: alert.kind, subject: alert.subject, user_id: c.var.caller.userId });
  return c.json(toAlertView(alert), 200);
});
