import { createRoute, z } from "@hono/zod-openapi";
import { ApiError } from "../../platform/errors";
import { createRouter } from "../../platform/router";
import { recheckPoolNearLimit } from "../alerts/review";
import { runCleanup } from "../numbers/cleanup";
import {
  decodeTwilioCursor,
  decodeUnassignedCursor,
  getPoolOverview,
  listTwilioOrganizationsPage,
  listUnassignedPage,
  OVERVIEW_LIST_DEFAULT,
  OVERVIEW_LIST_MAX,
} from "./overview";
import { decodeHistoryCursor, listHistory } from "./history";
import { getPoolUsage } from "./usage";
import { preProvision } from "../numbers/pre-provision";
import { authErrors, errorResponse, jsonBody, jsonResponse, wholeNumber } from "../../platform/openapi";
import { platformAdmin, security, tags } from "./access";
import {
  cleanupQuerySchema,
  cleanupReportSchema,
  historyPageSchema,
  historyQuerySchema,
  poolOverviewSchema,
  poolUsageSchema,
  preProvisionBodySchema,
  preProvisionResultSchema,
  usageQuerySchema,
} from "./schemas";

const overview = createRoute({
  method: "get",
  path: "/api/admin/phone-pool",
  tags,
  security,
  middleware: [platformAdmin] as const,
  summary: "The pool at a glance",
  description:
    "Counts by state and provider, the unassigned numbers (with when cleanup would release them), numbers provisioning, stuck or failed, " +
    "Twilio per organization with this month's purchases and their cost, and the open alerts. One D1 round trip.",
  request: {
    query: z.object({
      list_limit: wholeNumber(1, OVERVIEW_LIST_MAX)
        .default(OVERVIEW_LIST_DEFAULT)
        .openapi({
          description: `The oldest unassigned and provisioning numbers, and the organizations with Twilio, listed: 1 to ${OVERVIEW_LIST_MAX}`,
        }),
    }),
  },
  responses: { 200: jsonResponse(poolOverviewSchema, "The pool"), 400: errorResponse("A bad list_limit"), ...authErrors },
});

/** A GET of `path` answering `{[key]: items, next_cursor}` a page at a time (limit 1–500, default 100; cursor). */
function pagedRoute<P extends string, K extends string, T extends z.ZodType>(path: P, summary: string, key: K, items: T, name: string) {
  return createRoute({
    method: "get",
    path,
    tags,
    security,
    middleware: [platformAdmin] as const,
    summary,
    description: "One D1 round trip a page.",
    request: {
      query: z.object({
        limit: wholeNumber(1, 500).default(100).openapi({ description: "Items per page, 1 to 500" }),
        cursor: z.string().min(1).max(400).optional().openapi({ description: "`next_cursor` of the previous page" }),
      }),
    },
    responses: {
      200: jsonResponse(
        z
          .object({
            [key]: items,
            next_cursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next page; null on the last" }),
          } as {
            [k in K]: T;
          } & { next_cursor: z.ZodNullable<z.ZodString> })
          .openapi(name),
        "A page",
      ),
      400: errorResponse("A bad limit or cursor"),
      ...authErrors,
    },
  });
}

const unassignedPage = pagedRoute(
  "/api/admin/phone-pool/unassigned",
  "Every unassigned number, the longest-waiting first, a page at a time",
  "numbers",
  poolOverviewSchema.shape.unassigned,
  "UnassignedNumbersPage",
);

const twilioPage = pagedRoute(
  "/api/admin/phone-pool/twilio",
  "Every organization with Twilio, by id, a page at a time",
  "organizations",
  poolOverviewSchema.shape.twilio.shape.organizations,
  "TwilioOrganizationsPage",
);

/** The position a cursor holds; 400 when it is not one this API gave out (decoded to null). */
function positionOf<T>(cursor: string | undefined, decode: (cursor: string) => T | null): T | undefined {
  if (cursor === undefined) return undefined;
  const position = decode(cursor);
  if (position === null) {
    throw new ApiError(400, "invalid_request", "The request is not valid: cursor: is not a cursor this API gave out (use next_cursor).", [
      { path: "cursor", code: "invalid_cursor", message: "is not a cursor this API gave out" },
    ]);
  }
  return position;
}

const history = createRoute({
  method: "get",
  path: "/api/admin/phone-pool/history",
  tags,
  security,
  middleware: [platformAdmin] as const,
  summary: "Assignment history, newest first",
  description:
    "Every change of every number (created, assigned, reused, unassigned, provisioned, stuck, failed, released, repaired). Page with `next_cursor`.",
  request: { query: historyQuerySchema },
  responses: { 200: jsonResponse(historyPageSchema, "A page of events"), 400: errorResponse("A bad limit or cursor"), ...authErrors },
});

const usage = createRoute({
  method: "get",
  path: "/api/admin/phone-pool/usage",
  tags,
  security,
  middleware: [platformAdmin] as const,
  summary: "The pool per day: assigned, unassigned, provisioning and free numbers against the limit",
  description:
    "One entry per UTC day, oldest first, each as at the end of that day (today: as of now), reconstructed from the history: " +
    "today's counts, and each number's events of the period taken back one by one. One D1 round trip.",
  request: { query: usageQuerySchema },
  responses: { 200: jsonResponse(poolUsageSchema, "The pool per day"), 400: errorResponse("A bad days"), ...authErrors },
});

const preProvisionRoute = createRoute({
  method: "post",
  path: "/api/admin/phone-pool/pre-provision",
  tags,
  security,
  middleware: [platformAdmin] as const,
  summary: "Create free numbers ahead of demand, unassigned",
  description:
    "Stops at the free-number limit or at Vapi's first refusal, and says which. New numbers provision for 2–10 minutes, then join the pool.",
  request: { body: jsonBody(preProvisionBodySchema) },
  responses: {
    200: jsonResponse(preProvisionResultSchema, "How many were created, and why it stopped"),
    400: errorResponse("Invalid body"),
    ...authErrors,
    502: errorResponse("Vapi failed; numbers already created are kept"),
    503: errorResponse("Vapi is rate limiting or storage is unavailable"),
  },
});

const cleanup = createRoute({
  method: "post",
  path: "/api/admin/phone-pool/cleanup",
  tags,
  security,
  middleware: [platformAdmin] as const,
  summary: "Run the cleanup of unused numbers now (a dry run by default)",
  description:
    "Numbers unassigned for UNUSED_NUMBER_DAYS are deleted in Vapi; numbers bought through Twilio are also released at Twilio; numbers an " +
    "organization imported go back to its list and are never released from its account. `dry_run=false` acts; otherwise nothing changes.",
  request: { query: cleanupQuerySchema },
  responses: {
    200: jsonResponse(cleanupReportSchema, "What was (or would be) done to each number"),
    400: errorResponse("A bad dry_run"),
    ...authErrors,
  },
});

export const poolAdminRouter = createRouter()
  .openapi(overview, async (c) => {
    const live = await c.var.services.calls.live().catch((error) => {
      c.var.log.warn("call_counter_unreadable", { error });
      return null;
    });
    return c.json(await getPoolOverview(c.var.db, c.var.settings, live, Date.now(), c.req.valid("query").list_limit), 200);
  })
  .openapi(unassignedPage, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    return c.json(await listUnassignedPage(c.var.db, c.var.settings, { limit, after: positionOf(cursor, decodeUnassignedCursor) }), 200);
  })
  .openapi(twilioPage, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    return c.json(
      await listTwilioOrganizationsPage(c.var.db, c.var.settings, { limit, after: positionOf(cursor, decodeTwilioCursor) }),
      200,
    );
  })
  .openapi(history, async (c) => {
    const query = c.req.valid("query");
    const beforeId = positionOf(query.cursor, decodeHistoryCursor);
    const page = await listHistory(c.var.db, { orgId: query.org_id, phoneNumberId: query.phone_number_id, limit: query.limit, beforeId });
    return c.json(page, 200);
  })
  .openapi(usage, async (c) => c.json(await getPoolUsage(c.var.db, c.var.settings, c.req.valid("query").days, Date.now()), 200))
  .openapi(preProvisionRoute, async (c) => {
    const { count, area_code } = c.req.valid("json");
    const result = await preProvision(c.var.services, count, area_code ?? null);
    if (result.created > 0) await recheckPoolNearLimit(c.var.services);
    return c.json(result, 200);
  })
  .openapi(cleanup, async (c) => {
    const dryRun = c.req.valid("query").dry_run === "true";
    const deps = c.var.services;
    const report = await runCleanup(deps, { nowMs: Date.now(), dryRun });
    if (report.released > 0) await recheckPoolNearLimit(deps);
    return c.json(report, 200);
  });
