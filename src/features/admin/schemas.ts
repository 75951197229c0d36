import { z } from "@hono/zod-openapi";
import { PHONE_NUMBER_EVENTS } from "../../db/schema";
import { ALERT_KINDS } from "../alerts/alerts";
import type { PhoneNumberRow } from "../assistants/view";
import { areaCode, e164 } from "../assistants/business-data";
import { wholeNumber } from "../../platform/openapi";
import { NUMBER_ORIGINS, numberOriginOf } from "../numbers/pool";
import { USAGE_DAYS_DEFAULT, USAGE_DAYS_MAX } from "./usage";

/** A number as operators see it: everything but secrets. */
export const adminPhoneNumberSchema = z
  .object({
    id: z.string(),
    number: z.string().nullable(),
    status: z.enum(["provisioning", "active", "stuck", "failed", "released"]),
    provider: z.enum(["vapi", "twilio"]),
    source: z.enum(["vapi_free", "twilio_imported", "twilio_purchased"]),
    origin: z.enum(NUMBER_ORIGINS),
    org_id: z.string().nullable(),
    assistant_id: z.string().nullable(),
    vapi_phone_number_id: z.string().nullable(),
    area_code: z.string().nullable(),
    provisioning: z
      .object({
        attempts: z.number().int(),
        started_at: z.string().nullable(),
        deadline: z.string().nullable(),
        next_check_at: z.string().nullable(),
      })
      .nullable(),
    activated_at: z.string().nullable(),
    assigned_at: z.string().nullable(),
    unassigned_at: z.string().nullable(),
    last_call_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("AdminPhoneNumber");

export type AdminPhoneNumber = z.infer<typeof adminPhoneNumberSchema>;

export function toAdminPhoneNumber(row: PhoneNumberRow): AdminPhoneNumber {
  return {
    id: row.id,
    number: row.number,
    status: row.status,
    provider: row.provider,
    source: row.source,
    origin: numberOriginOf(row),
    org_id: row.orgId,
    assistant_id: row.assistantId,
    vapi_phone_number_id: row.vapiPhoneNumberId,
    area_code: row.areaCode,
    provisioning:
      row.status === "provisioning" || row.status === "stuck"
        ? {
            attempts: row.provisioningAttempts,
            started_at: row.provisioningStartedAt,
            deadline: row.provisioningDeadline,
            next_check_at: row.nextCheckAt,
          }
        : null,
    activated_at: row.activatedAt,
    assigned_at: row.assignedAt,
    unassigned_at: row.unassignedAt,
    last_call_at: row.lastCallAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

const timestamp = z.string().openapi({ example: "2026-11-26T14:00:00.000Z" });
const count = z.number().int().min(0);

export const alertSchema = z
  .object({
    id: z.number().int(),
    kind: z.enum(ALERT_KINDS),
    subject: z.string().openapi({ description: "What the alert is about: `pool`, `vapi`, a phone number id or an organization id" }),
    status: z.enum(["open", "resolved"]),
    message: z.string().openapi({ description: "What happened and what to do" }),
    detail: z.record(z.string(), z.unknown()).nullable(),
    created_at: timestamp,
    resolved_at: timestamp.nullable(),
    notified_at: timestamp.nullable().openapi({ description: "When it was posted to ALERT_WEBHOOK_URL" }),
  })
  .openapi("Alert");

const numberOrigin = z.enum(NUMBER_ORIGINS).openapi({
  description: "`made_here` by Switchboard, `adopted` from the Vapi account, `org_twilio`: an organization's own Twilio number",
});

const providerCounts = z.object({ total: count, assigned: count, unassigned: count, provisioning: count, stuck: count });

export const poolOverviewSchema = z
  .object({
    stats: z.object({
      total: count.openapi({ description: "Numbers not released; assigned + unassigned + provisioning + stuck" }),
      limit: count.openapi({ description: "VAPI_FREE_NUMBER_LIMIT" }),
      assigned: count,
      unassigned: count,
      provisioning: count,
      stuck: count.openapi({ description: "Stuck or failed" }),
      free_numbers: count.openapi({ description: "Free Vapi numbers the account holds, whoever made them (they count against the limit)" }),
      free_numbers_outside: count.openapi({
        description:
          "Of those, numbers made outside Switchboard and not adopted, as last counted by the import or the daily reconciliation",
      }),
      percent_used: z.number().openapi({ description: "free_numbers against limit, in percent (one decimal)" }),
      by_provider: z.object({ vapi: count, twilio: count }),
      by_origin: z.object({ made_here: count, adopted: count, org_twilio: count }),
      providers: z.object({ vapi: providerCounts, twilio: providerCounts }),
    }),
    unassigned: z.array(
      z.object({
        id: z.string(),
        number: z.string().nullable(),
        provider: z.enum(["vapi", "twilio"]),
        origin: numberOrigin,
        area_code: z.string().nullable(),
        org_id: z.string().nullable().openapi({ description: "Null: the shared pool; set: only that organization's assistants get it" }),
        since: timestamp,
        cleanup_after: timestamp.openapi({ description: "When the daily cleanup releases it if it is still unassigned" }),
      }),
    ),
    provisioning: z.array(
      z.object({
        phone_number_id: z.string(),
        status: z.enum(["provisioning", "stuck", "failed"]),
        origin: numberOrigin,
        vapi_phone_number_id: z.string().nullable(),
        area_code: z.string().nullable(),
        org_id: z.string().nullable(),
        assistant_id: z.string().nullable(),
        assistant_name: z.string().nullable(),
        attempts: count,
        max_attempts: count,
        started_at: timestamp.nullable(),
        deadline: timestamp.nullable(),
        next_check_at: timestamp.nullable(),
      }),
    ),
    twilio: z.object({
      number_monthly_cost: z.number().openapi({ description: "TWILIO_NUMBER_MONTHLY_COST (USD)" }),
      bought_this_month: count,
      bought_this_month_cost: z.number(),
      organizations: z.array(
        z.object({
          org_id: z.string(),
          configured: z.boolean(),
          auto_purchase: z.boolean(),
          area_code: z.string().nullable(),
          numbers_total: count,
          numbers_assigned: count,
          numbers_unassigned: count,
          numbers_listed: count.openapi({ description: "Listed by the organization, not imported into Vapi yet" }),
          bought_this_month: count,
          bought_this_month_cost: z.number(),
          purchased_held: count,
          purchased_monthly_cost: z.number(),
        }),
      ),
    }),
    alerts: z.array(alertSchema).openapi({ description: "Open alerts, newest first" }),
    lists: z.object({ limit: count, unassigned_total: count, provisioning_total: count, twilio_organizations_total: count }).openapi({
      description:
        "`unassigned`, `provisioning` and `twilio.organizations` hold the first `limit` of their kind; the totals count them all. " +
        "Every one, paged: GET /api/admin/phone-pool/unassigned and /twilio.",
    }),
    calls: z
      .object({
        routing_mode: z.enum(["direct", "edge"]),
        live: count.nullable().openapi({ description: "Live calls of the whole account (null: the counter could not be read)" }),
        limit: count.openapi({ description: "VAPI_CONCURRENCY_LIMIT" }),
        organizations: z.array(z.object({ org_id: z.string(), live: count.nullable(), max_concurrent_calls: count.nullable() })),
      })
      .openapi({ description: "Live calls per organization against their caps (enforced in edge routing, alerted in direct)" }),
    last_import: z
      .object({ at: timestamp, dry_run: z.boolean(), summary: z.record(z.string(), z.number()) })
      .nullable()
      .openapi({ description: "The last `POST /api/admin/vapi/import` (its whole report: `GET /api/admin/vapi/import`)" }),
  })
  .openapi("PoolOverview");

export const historyQuerySchema = z.object({
  org_id: z.string().min(1).max(128).optional().openapi({ description: "Only this organization's events" }),
  phone_number_id: z.string().min(1).max(64).optional().openapi({ description: "Only this number's events" }),
  limit: wholeNumber(1, 200).default(50).openapi({ description: "Events per page, 1 to 200", example: 50 }),
  cursor: z.string().min(1).max(200).optional().openapi({ description: "`next_cursor` of the previous page" }),
});

export const historyPageSchema = z
  .object({
    events: z.array(
      z.object({
        id: z.number().int(),
        phone_number_id: z.string(),
        number: z.string().nullable(),
        event: z.enum(PHONE_NUMBER_EVENTS),
        org_id: z.string().nullable(),
        assistant_id: z.string().nullable(),
        assistant_name: z.string().nullable().openapi({ description: "The name of the assistant the event names (now)" }),
        detail: z.record(z.string(), z.unknown()).nullable(),
        created_at: timestamp,
      }),
    ),
    next_cursor: z.string().nullable().openapi({ description: "Pass as `cursor` for older events; null on the last page" }),
  })
  .openapi("PoolHistoryPage");

export const usageQuerySchema = z.object({
  days: wholeNumber(1, USAGE_DAYS_MAX)
    .default(USAGE_DAYS_DEFAULT)
    .openapi({ description: `Days covered, today included: 1 to ${USAGE_DAYS_MAX} (the dashboard asks for 30 or 90)`, example: 30 }),
});

const usageDay = z.object({
  date: z
    .string()
    .openapi({ description: "The UTC day (YYYY-MM-DD); its figures are as at its end, today's as of now", example: "2026-11-26" }),
  assigned: count,
  unassigned: count,
  provisioning: count,
  stuck: count.openapi({ description: "Stuck or failed" }),
  free_numbers: count.openapi({ description: "Free Vapi numbers held: Switchboard's then, plus `free_numbers_outside`" }),
});

export const poolUsageSchema = z
  .object({
    days: count,
    as_of: timestamp,
    limit: count.openapi({ description: "VAPI_FREE_NUMBER_LIMIT (its value now)" }),
    free_numbers_outside: count.openapi({
      description: "Free numbers made outside Switchboard, as last counted (no history): included in each day's free_numbers",
    }),
    series: z.array(usageDay).openapi({ description: "One entry per day, oldest first; the last is today" }),
  })
  .openapi("PoolUsage", {
    example: {
      days: 2,
      as_of: "2026-11-26T14:00:00.000Z",
      limit: 10,
      free_numbers_outside: 1,
      series: [
        { date: "2026-11-25", assigned: 3, unassigned: 2, provisioning: 1, stuck: 0, free_numbers: 7 },
        { date: "2026-11-26", assigned: 4, unassigned: 1, provisioning: 0, stuck: 0, free_numbers: 6 },
      ],
    },
  });

export const preProvisionBodySchema = z
  .strictObject({
    count: z.number().int().min(1).max(50).openapi({ description: "How many free numbers to create, 1 to 50" }),
    area_code: areaCode.optional(),
  })
  .openapi("PreProvisionInput");

export const preProvisionResultSchema = z
  .object({
    requested: count,
    created: count,
    phone_number_ids: z.array(z.string()),
    stopped_because: z.enum(["limit_reached", "vapi_refused", "area_code_unavailable"]).nullable(),
    message: z.string(),
  })
  .openapi("PreProvisionResult");

export const repairBodySchema = z
  .strictObject({ number: e164.openapi({ description: "The number Vapi shows for this number's Vapi id" }) })
  .openapi("PhoneNumberRepair");

export const repairResultSchema = z
  .object({
    changed: z.boolean().openapi({ description: "False when the number already said exactly this" }),
    previous: z.object({ status: adminPhoneNumberSchema.shape.status, number: z.string().nullable() }),
    phone_number: adminPhoneNumberSchema,
  })
  .openapi("PhoneNumberRepairResult");

export const cleanupQuerySchema = z.object({
  dry_run: z.enum(["true", "false"]).default("true").openapi({ description: "`true` (default) only reports what would be done" }),
});

export const cleanupReportSchema = z
  .object({
    dry_run: z.boolean(),
    now: timestamp,
    cutoff: timestamp.openapi({ description: "Numbers unassigned since before this are unused" }),
    unused_number_days: count,
    released: count,
    kept: count,
    pending: count.openapi({ description: "Released in Switchboard, but Vapi or Twilio failed: the next run finishes them" }),
    left: count.openapi({ description: "Numbers still waiting when the run ended (its budget did; a dry run: beyond the batch shown)" }),
    stopped_at_budget: z.boolean().openapi({ description: "The run ended on its time or call budget, not because the work ended" }),
    numbers: z.array(
      z.object({
        phone_number_id: z.string(),
        number: z.string().nullable(),
        source: adminPhoneNumberSchema.shape.source,
        org_id: z.string().nullable(),
        idle_since: timestamp,
        actions: z.array(z.enum(["delete_in_vapi", "release_at_twilio", "return_to_twilio_list"])),
        outcome: z.enum(["would_release", "would_retry", "released", "kept", "release_pending"]),
        error: z.string().optional(),
      }),
    ),
  })
  .openapi("CleanupReport");

export const alertIdParam = z.object({
  id: wholeNumber(1).openapi({ param: { name: "id", in: "path" }, description: "The alert's id", example: 12 }),
});
