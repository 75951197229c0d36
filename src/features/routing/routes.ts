import { createRoute, z } from "@hono/zod-openapi";
import { authErrors, errorResponse, jsonBody, jsonResponse, wholeNumber } from "../../platform/openapi";
import { rateLimit } from "../../platform/rate-limit";
import { createRouter } from "../../platform/router";
import { platformAdmin, security, tags } from "../admin/access";
import { setCallCap } from "../organization/fallback";
import { convertRouting } from "./convert";

const conversionSchema = z
  .object({
    routing_mode: z.enum(["direct", "edge"]),
    dry_run: z.boolean(),
    numbers: z.number().int(),
    already_converted: z.number().int(),
    changed: z.number().int(),
    failed: z.number().int(),
    remaining: z.number().int().openapi({ description: "Still to change: call again while it is above 0" }),
    fallbacks_set: z.number().int().openapi({ description: "Numbers made bare that got their fallbackDestination (edge)" }),
    changes: z.array(
      z.object({
        phone_number_id: z.string(),
        vapi_phone_number_id: z.string(),
        from: z.string().nullable(),
        to: z.string().nullable(),
        outcome: z.enum(["would_change", "changed", "failed", "deferred"]),
        error: z.string().optional(),
      }),
    ),
  })
  .openapi("RoutingConversion");

const convert = createRoute({
  method: "post",
  path: "/api/admin/routing/convert",
  tags,
  security,
  middleware: [platformAdmin, rateLimit("routing_convert")] as const,
  summary: "Convert every number to the deployment's ROUTING_MODE (a dry run by default)",
  description:
    "`edge`: numbers become bare in Vapi (no `assistantId`, `server` at Switchboard) and calls are routed by `assistant-request`. " +
    "`direct`: each number carries its assistant again. Only numbers that differ are changed, so it is idempotent and resumable.",
  request: {
    query: z.object({
      dry_run: z.enum(["true", "false"]).default("true").openapi({ description: "`true` (default) only reports what would change" }),
      max_changes: wholeNumber(1, 500).default(200).openapi({ description: "Vapi updates this call makes at most" }),
    }),
  },
  responses: {
    200: jsonResponse(conversionSchema, "What changed (or would)"),
    400: errorResponse("Invalid query"),
    ...authErrors,
    502: errorResponse("Vapi could not be listed; nothing was changed"),
  },
});

const limitsSchema = z
  .object({
    org_id: z.string(),
    max_concurrent_calls: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Live calls the organization may have at once; null: no cap of its own (the account's total still holds)" }),
  })
  .openapi("OrganizationLimits");

const putLimits = createRoute({
  method: "put",
  path: "/api/admin/organizations/{org_id}/limits",
  tags,
  security,
  middleware: [platformAdmin] as const,
  summary: "Set an organization's concurrent-call cap",
  description:
    "In `edge` routing a call over the cap goes to the organization's fallback line (else a polite spoken message); in `direct` " +
    "routing the cap is measured and alerted (`calls_over_cap`), not enforced.",
  request: {
    params: z.object({ org_id: z.string().regex(/^[\x21-\x7e]{1,128}$/, "must be an organization id (printable, no spaces)") }),
    body: jsonBody(
      z
        .strictObject({ max_concurrent_calls: z.number().int().min(0).max(10_000).nullable() })
        .openapi("OrganizationLimitsInput", { example: { max_concurrent_calls: 3 } }),
    ),
  },
  responses: { 200: jsonResponse(limitsSchema, "The saved limits"), 400: errorResponse("Invalid body"), ...authErrors },
});

export const routingAdminRouter = createRouter()
  .openapi(convert, async (c) => {
    const { dry_run, max_changes } = c.req.valid("query");
    return c.json(await convertRouting(c.var.services, { dryRun: dry_run === "true", maxChanges: max_changes }), 200);
  })
  .openapi(putLimits, async (c) => {
    const { org_id } = c.req.valid("param");
    const { max_concurrent_calls } = c.req.valid("json");
    await setCallCap(c.var.db, org_id, max_concurrent_calls);
    c.var.log.info("organization_limits_set", { org_id, max_concurrent_calls });
    return c.json({ org_id, max_concurrent_calls }, 200);
  });
