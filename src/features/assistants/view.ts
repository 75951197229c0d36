import type { assistants, phoneNumbers } from "../../db/schema";
import type { BusinessData } from "./business-data";

export type AssistantRow = typeof assistants.$inferSelect;
export type PhoneNumberRow = typeof phoneNumbers.$inferSelect;

type PhoneStatus = "active" | "provisioning" | "stuck" | "none";

/** The assistant object of the API contract: flat fields the frontend's pages read directly. */
export interface AssistantView {
  id: string;
  name: string;
  business_data: BusinessData;
  languages: string[];
  vapi_assistant_id: string | null;
  vapi_phone_number: string | null;
  phone_provider: "vapi" | "twilio" | null;
  phone_status: PhoneStatus;
  phone_number_id: string | null;
  phone_source: "pool" | "new" | "twilio" | null;
  was_reused: boolean;
  provisioning: { attempts: number; max_attempts: number; started_at: string; next_check_at: string | null } | null;
  emergency_contact: { name: string; phone: string } | null;
  created_at: string;
  updated_at: string;
}

/** The columns of a number that the assistant object shows (a list reads only these). */
export type NumberForView = Pick<
  PhoneNumberRow,
  "id" | "number" | "provider" | "status" | "provisioningAttempts" | "provisioningStartedAt" | "nextCheckAt"
>;

function phoneStatusOf(number: NumberForView | null | undefined): PhoneStatus {
  switch (number?.status) {
    case "active":
      return "active";
    case "provisioning":
      return "provisioning";
    case "stuck":
    case "failed":
      return "stuck";
    default:
      return "none";
  }
}

export function toAssistantView(row: AssistantRow, number: NumberForView | null | undefined, maxAttempts: number): AssistantView {
  const status = phoneStatusOf(number);
  const live = number && status !== "none" ? number : null;
  return {
    id: row.id,
    name: row.name,
    business_data: row.businessData as BusinessData,
    languages: row.languages,
    vapi_assistant_id: row.vapiAssistantId,
    // Only real digits: never a Vapi number's label such as "Vapi-87ea540e".
    vapi_phone_number: live?.number ?? null,
    phone_provider: live?.provider ?? null,
    phone_status: status,
    phone_number_id: live?.id ?? null,
    phone_source: live ? row.phoneSource : null,
    was_reused: live ? row.phoneSource === "pool" : false,
    provisioning:
      live?.status === "provisioning" && live.provisioningStartedAt
        ? {
            attempts: live.provisioningAttempts,
            max_attempts: maxAttempts,
            started_at: live.provisioningStartedAt,
            next_check_at: live.nextCheckAt,
          }
        : null,
    emergency_contact:
      row.emergencyContactName && row.emergencyContactPhone ? { name: row.emergencyContactName, phone: row.emergencyContactPhone } : null,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}
