import { createRoute, z } from "@hono/zod-openapi";
import { rateLimit } from "../../platform/rate-limit";
import { createRouter } from "../../platform/router";
import { resyncAssistants } from "../assistants/resync";
import { authErrors, errorResponse, jsonResponse, wholeNumber } from "../../platform/openapi";
import { platformAdmin, security, tags } from "./access";

const resync = createRoute({
  method: "post",
  path: "/api/admin/assistants/resync",
  tags,
  security,
  middleware: [platformAdmin, rateLimit("assistant_resync")] as const,
  summary: "Push every assistant's current configuration to Vapi (after rotating VAPI_WEBHOOK_SECRET or moving PUBLIC_URL)",
  description:
    "A page of active assistants (id order) gets its prompt, tools and `server` (URL and X-Vapi-Secret) again, and its number's `server`. " +
    "Call again with `cursor` = `next_cursor` until it is null. Vapi failures are listed, not fatal.",
  request: {
    query: z.object({
      org_id: z
        .string()
        .regex(/^[\x21-\x7e]{1,128}$/, "must be an organization id (printable, no spaces)")
        .optional(),
      limit: wholeNumber(1, 25).default(10).openapi({ description: "Assistants per call (2 Vapi calls each)" }),
      cursor: z
        .string()
        .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, "must be the next_cursor of an earlier answer")
        .optional(),
    }),
  },
  responses: {
    200: jsonResponse(
      z
        .object({
          updated: z.number().int(),
          failed: z.array(z.object({ assistant_id: z.string(), error: z.string() })),
          next_cursor: z.string().nullable(),
        })
        .openapi("AssistantResync"),
      "What was pushed, and where to continue",
    ),
    400: errorResponse("Invalid query"),
    ...authErrors,
  },
});

export const assistantsAdminRouter = createRouter().openapi(resync, async (c) => {
  const { org_id, limit, cursor } = c.req.valid("query");
  return c.json(await resyncAssistants(c.var.services, { orgId: org_id, limit, cursor }), 200);
});
