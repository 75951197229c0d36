import { z } from "@hono/zod-openapi";
import type { PhoneNumberRow } from "../../services/assistant-view";

/** A number as operators see it: everything but secrets. */
export const adminPhoneNumberSchema = z
  .object({
    id: z.string(),
    number: z.string().nullable(),
    status: z.enum(["provisioning", "active", "stuck", "failed", "released"]),
    provider: z.enum(["vapi", "twilio"]),
    source: z.enum(["vapi_free", "twilio_imported", "twilio_purchased"]),
    org_id: z.string().nullable(),
    assistant_id: z.string().nullable(),
    vapi_phone_number_id: z.string().nullable(),
    area_code: z.string().nullable(),
    provisioning: z
      .object({ attempts: z.number().int(), started_at: z.string().nullable(), deadline: z.string().nullable(), next_check_at: z.string().nullable() })
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
    org_id: row.orgId,
    assistant_id: row.assistantId,
    vapi_phone_number_id: row.vapiPhoneNumberId,
    area_code: row.areaCode,
    provisioning:
      row.status === "provisioning" || row.status === "stuck"
        ? { attempts: row.provisioningAttempts, started_at: row.provisioningStartedAt, deadline: row.provisioningDeadline, next_check_at: row.nextCheckAt }
        : null,
    activated_at: row.activatedAt,
    assigned_at: row.assignedAt,
    unassigned_at: row.unassignedAt,
    last_call_at: row.lastCallAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}
