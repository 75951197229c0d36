import { eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { assistants, phoneNumbers, twilioNumbers } from "../../db/schema";
import type { VapiPhoneNumber } from "../../integrations/vapi";
import type { Services } from "../../services";
import type { AssistantRow, PhoneNumberRow } from "../assistants/view";
import { liveAddress, trackerKeyFor } from "../provisioning/activation";
import { webhookServer } from "./acquisition";
import { eventIfChanged } from "./events";
import { newPhoneNumberRow, vapiStateFields } from "./rows";

export type AdoptionDeps = Pick<Services, "db" | "log" | "vapi" | "settings" | "webhookUrl" | "startTracking">;

/** Whose pool an adopted number joins, and the organisation's listed Twilio number it is (it moves to `in_vapi`). */
export interface AdoptedOwner {
  orgId: string | null;
  twilioNumber: { id: string; origin: "imported" | "purchased"; twilioSid: string | null } | null;
}

export type AdoptionOutcome =
  | { adopted: true; number: PhoneNumberRow | null; assistant: AssistantRow | null }
  | { adopted: false; reason: string };

/**
 * The row id of something adopted from Vapi: derived from its Vapi id, so two runs adopting the same thing at
 * once write the same row and the second one's batch does nothing.
 */
export async function adoptedRowId(vapiId: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`switchboard:adopted:${vapiId}`)));
  digest[6] = (digest[6]! & 0x0f) | 0x50; // the layout of a name-based UUID (version 5, RFC 9562 variant)
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = [...digest.subarray(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Takes a Vapi number made outside Switchboard (and the assistant it serves, when that is adopted too) into D1.
 * The one change in Vapi comes first: its `server` is pointed at Switchboard, so its calls reach the webhooks.
 * Vapi's answer to that is the number as it is now; if its assistant changed since it was listed, nothing is
 * recorded. Then one batch records the assistant, the number and their events: all of it, or (when a
 * concurrent run recorded them first) none. A failure at any step leaves nothing half-adopted in D1, and the
 * next run does the whole adoption again (pointing `server` twice changes nothing).
 */
export async function adoptFromVapi(
  deps: AdoptionDeps,
  input: {
    vapiNumber: VapiPhoneNumber | null;
    owner: AdoptedOwner;
    /** The assistant the number serves: a new row to record with it, or one adopted before. */
    assistant: { row: AssistantRow; isNew: boolean } | null;
    /** False where no public URL is known (a cron run without PUBLIC_URL): the next reuse points it. */
    pointServer: boolean;
    at: string;
  },
): Promise<AdoptionOutcome> {
  const { owner, at } = input;
  const assistant = input.assistant?.row ?? null;
  let vapiNumber = input.vapiNumber;
  if (vapiNumber && input.pointServer) {
    vapiNumber = await deps.vapi.updatePhoneNumber(vapiNumber.id, { server: webhookServer(deps) });
    const expected = assistant?.vapiAssistantId ?? null;
    if ((vapiNumber.assistantId ?? null) !== expected) {
      return { adopted: false, reason: `its assistant in Vapi changed since it was listed (now ${vapiNumber.assistantId ?? "none"})` };
    }
    if (vapiNumber.status === "blocked") return { adopted: false, reason: "Vapi blocked it since it was listed" };
  }
  const number = vapiNumber ? await adoptedNumberRow(deps, vapiNumber, owner, assistant, at) : null;
  const statements: BatchItem<"sqlite">[] = [];
  if (assistant && input.assistant?.isNew) {
    statements.push(deps.db.insert(assistants).values(assistant).onConflictDoNothing().returning({ id: assistants.id }));
  }
  if (number) {
    statements.push(
      deps.db.insert(phoneNumbers).values(number).onConflictDoNothing().returning({ id: phoneNumbers.id }),
      eventIfChanged(deps.db, number.id, "created", { orgId: number.orgId }, at, {
        adopted: true,
        vapi_phone_number_id: number.vapiPhoneNumberId,
        vapi_status: vapiNumber?.status ?? null,
        number: number.number,
      }),
    );
    if (assistant) {
      statements.push(
        eventIfChanged(deps.db, number.id, "assigned", { orgId: assistant.orgId, assistantId: assistant.id }, at, { adopted: true }),
      );
    }
    if (owner.twilioNumber) {
      statements.push(
        deps.db
          .update(twilioNumbers)
          .set({ state: "in_vapi", phoneNumberId: number.id, claimedAt: null, updatedAt: at })
          .where(eq(twilioNumbers.id, owner.twilioNumber.id)),
      );
    }
  }
  const results = (await deps.db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]])) as unknown[];
  if ((results[0] as unknown[]).length === 0) return { adopted: false, reason: "already adopted by a concurrent run" };

  if (number?.status === "provisioning") {
    await deps
      .startTracking({ assistantId: number.assistantId, numberId: number.id, vapiPhoneNumberId: number.vapiPhoneNumberId! })
      .catch((error) => deps.log.error("tracker_start_failed", { phone_number_id: number.id, error }));
  }
  deps.log.info("vapi_adopted", {
    phone_number_id: number?.id ?? null,
    vapi_phone_number_id: number?.vapiPhoneNumberId ?? null,
    number: number?.number ?? null,
    status: number?.status ?? null,
    assistant_id: assistant?.id ?? null,
    vapi_assistant_id: assistant?.vapiAssistantId ?? null,
    org_id: assistant?.orgId ?? owner.orgId,
  });
  return { adopted: true, number, assistant };
}

/** Its row as Vapi shows it: active with its digits, or provisioning (tracked) while it activates. */
async function adoptedNumberRow(
  deps: AdoptionDeps,
  vapiNumber: VapiPhoneNumber,
  owner: AdoptedOwner,
  assistant: AssistantRow | null,
  at: string,
): Promise<PhoneNumberRow> {
  const id = await adoptedRowId(vapiNumber.id);
  const twilio = vapiNumber.provider === "twilio";
  // Vapi answers an imported Twilio number without a status: it is live as soon as it exists.
  const address = twilio ? (vapiNumber.number ?? null) : liveAddress(vapiNumber);
  const fields = vapiStateFields(deps.settings, {
    vapiPhoneNumberId: vapiNumber.id,
    address,
    number: address ?? vapiNumber.number ?? null,
    areaCode: areaCodeOf(vapiNumber),
    trackerKey: trackerKeyFor(assistant?.id ?? null, id),
    at,
  });
  return newPhoneNumberRow(
    {
      id,
      origin: "adopted",
      provider: twilio ? "twilio" : "vapi",
      source: !twilio ? "vapi_free" : owner.twilioNumber?.origin === "purchased" ? "twilio_purchased" : "twilio_imported",
      orgId: assistant?.orgId ?? owner.orgId,
      assistantId: assistant?.id ?? null,
      twilioSid: owner.twilioNumber?.twilioSid ?? null,
      unassignedAt: assistant ? null : at,
      // When Vapi made it, so it never counts as a free number made after a refusal.
      createdAt: vapiNumber.createdAt,
    },
    fields,
  );
}

/** The area code Vapi was asked for, else the one of North American digits. */
export function areaCodeOf(vapiNumber: Pick<VapiPhoneNumber, "numberDesiredAreaCode" | "number">): string | null {
  return vapiNumber.numberDesiredAreaCode ?? (vapiNumber.number?.startsWith("+1") ? vapiNumber.number.slice(2, 5) : null);
}
