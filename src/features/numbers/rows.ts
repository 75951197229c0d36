import type { Settings } from "../../platform/settings";
import type { PhoneNumberRow } from "../assistants/view";

interface VapiStateInput {
  vapiPhoneNumberId: string;
  /** Where calls reach it (digits or a SIP URI) once Vapi shows it live; null while it activates. */
  address: string | null;
  /** The digits to show when they differ from the address (a blocked number keeps its digits). */
  number?: string | null;
  areaCode: string | null;
  blocked?: boolean;
  /** The tracker that follows it while it provisions. */
  trackerKey: string;
  at: string;
}

/**
 * What Vapi's state makes of a number's row: active with its address, failed when Vapi blocked it, or
 * provisioning on the tracker's schedule (the first check one interval from now, the deadline after
 * POLL_MAX_ATTEMPTS checks).
 */
export function vapiStateFields(settings: Pick<Settings, "POLL_INTERVAL_SECONDS" | "POLL_MAX_ATTEMPTS">, input: VapiStateInput) {
  const status = input.blocked ? ("failed" as const) : input.address ? ("active" as const) : ("provisioning" as const);
  const provisioning = status === "provisioning";
  const startedMs = Date.parse(input.at);
  const intervalMs = settings.POLL_INTERVAL_SECONDS * 1000;
  return {
    vapiPhoneNumberId: input.vapiPhoneNumberId,
    number: input.number ?? input.address,
    areaCode: input.areaCode,
    status,
    provisioningStartedAt: provisioning ? input.at : null,
    provisioningDeadline: provisioning ? new Date(startedMs + intervalMs * settings.POLL_MAX_ATTEMPTS).toISOString() : null,
    nextCheckAt: provisioning ? new Date(startedMs + intervalMs).toISOString() : null,
    trackerKey: provisioning ? input.trackerKey : null,
    activatedAt: input.address ? input.at : null,
    updatedAt: input.at,
  };
}

type VapiStateFields = ReturnType<typeof vapiStateFields>;

/** Who holds a new number: the part of its row that Vapi's state does not decide. */
type NumberHolder = Pick<
  PhoneNumberRow,
  "id" | "provider" | "source" | "orgId" | "assistantId" | "twilioSid" | "unassignedAt" | "createdAt"
> &
  Partial<Pick<PhoneNumberRow, "origin">>;

/** A number's row as first recorded: who holds it, and what Vapi says of it. */
export function newPhoneNumberRow(holder: NumberHolder, fields: VapiStateFields): PhoneNumberRow {
  return {
    origin: "switchboard",
    ...holder,
    ...fields,
    provisioningAttempts: 0,
    assignedAt: holder.assistantId ? fields.updatedAt : null,
    releasedAt: null,
    lastCallAt: null,
    vapiFallback: null,
  };
}
