import { createRoute, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import type { AppContext, AppEnv } from "../../platform/context";
import { timingSafeEqual } from "../../platform/crypto";
import { ApiError } from "../../platform/errors";
import { createRouter } from "../../platform/router";
import { callFieldsOf, observeCall, transferDestination, vapiServerMessageSchema } from "./call-events";
import { answerToolCalls, type Tool } from "./tool-calls";
import { errorResponse, jsonBody } from "../../platform/openapi";
import { calendarTools } from "../calendar/tools";
import { answerAssistantRequest } from "../routing/assistant-request";

/**
 * Checks `X-Vapi-Secret` in constant time. Registered in the app before the body limit, so nothing of an
 * unauthenticated body is read at all.
 */
export const vapiSecret = createMiddleware<AppEnv>(async (c, next) => {
  const given = c.req.header("X-Vapi-Secret") ?? "";
  if (!timingSafeEqual(given, c.var.settings.VAPI_WEBHOOK_SECRET)) {
    throw new ApiError(401, "invalid_webhook_secret", "The X-Vapi-Secret header is missing or wrong.");
  }
  await next();
});

/** The function tools assistants are created with; the calendar answers them. */
function toolHandlers(c: AppContext): ReadonlyMap<string, Tool> {
  return calendarTools(c.var.services);
}

const vapiWebhook = createRoute({
  method: "post",
  path: "/webhooks/vapi",
  tags: ["Webhooks"],
  security: [{ VapiSecret: [] }],
  summary: "Vapi server messages (calls, tool calls, transfer requests)",
  description: "Every message type is answered 200; types Switchboard does not handle have no side effect.",
  request: { body: jsonBody(vapiServerMessageSchema) },
  responses: {
    200: { description: "Handled", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
    400: errorResponse("Not a Vapi server message"),
    401: errorResponse("Missing or wrong X-Vapi-Secret"),
  },
});

export const webhooksRouter = createRouter().openapi(vapiWebhook, async (c) => {
  const { message } = c.req.valid("json");
  const deps = c.var.services;
  const fields = callFieldsOf(message, deps.log);
  // A caller is waiting (7.5 s at most): answered from one D1 read, whatever the message holds.
  if (message.type === "assistant-request") return c.json(await answerAssistantRequest(deps, fields), 200);
  if (fields) await observeCall(deps, fields);
  switch (message.type) {
    case "tool-calls":
      return c.json(await answerToolCalls(deps.db, deps.log, message, fields, toolHandlers(c), c.var.settings.TOOL_CALL_DEADLINE_MS), 200);
    case "transfer-destination-request":
      return c.json(await transferDestination(deps.db, deps.log, fields), 200);
    default:
      return c.json({}, 200);
  }
});
