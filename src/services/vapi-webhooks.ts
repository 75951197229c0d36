import { z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { assistants, phoneNumbers } from "../db/schema";
import { emergencyContactOf } from "./assistants";
import type { AssistantRow } from "./assistant-view";
import type { Logger } from "../lib/log";
import type { VapiClient } from "../providers/vapi";
import { liveAddress, markActive } from "./provisioning";

/** The envelope of every Vapi server message; only the fields Switchboard reads are typed. */
export const vapiServerMessageSchema = z
  .object({
    message: z.looseObject({
      type: z.string().min(1).max(100),
      timestamp: z.number().optional(),
      call: z
        .looseObject({
          id: z.string().optional(),
          phoneNumberId: z.string().nullish(),
          assistantId: z.string().nullish(),
        })
        .nullish(),
      phoneNumber: z.looseObject({ number: z.string().nullish() }).nullish(),
    }),
  })
  .openapi("VapiServerMessage");

export type VapiServerMessage = z.infer<typeof vapiServerMessageSchema>["message"];

export interface WebhookDeps {
  db: Db;
  log: Logger;
  vapi: VapiClient;
  stopTracker: (trackerKey: string) => Promise<void>;
}

/** Messages that report a call's progress: they date the number's last call. */
const CALL_ACTIVITY = new Set(["status-update", "end-of-call-report"]);

/**
 * What every message tells about our numbers: a call on a number still provisioning (or stuck) proves it live,
 * and call activity dates its last call. Idempotent: a replay finds the number already active and the same
 * `last_call_at`, and changes nothing.
 */
export async function observeCall(deps: WebhookDeps, message: VapiServerMessage): Promise<void> {
  const vapiNumberId = message.call?.phoneNumberId;
  if (!vapiNumberId) return;
  const [row] = await deps.db.select().from(phoneNumbers).where(eq(phoneNumbers.vapiPhoneNumberId, vapiNumberId)).limit(1);
  if (!row) return;

  if (row.status === "provisioning" || row.status === "stuck") {
    const address = message.phoneNumber?.number ?? liveAddress(await deps.vapi.getPhoneNumber(vapiNumberId)) ?? null;
    if (address && (await markActive(deps, row.id, address, "webhook")) && row.trackerKey) {
      await deps.stopTracker(row.trackerKey).catch((error) => deps.log.warn("tracker_stop_failed", { phone_number_id: row.id, error }));
    }
  }

  if (CALL_ACTIVITY.has(message.type)) {
    const at = new Date(message.timestamp ?? Date.now()).toISOString();
    await deps.db
      .update(phoneNumbers)
      .set({ lastCallAt: sql`max(coalesce(${phoneNumbers.lastCallAt}, ''), ${at})` })
      .where(eq(phoneNumbers.id, row.id));
  }
}

/** The call's assistant, found by its Vapi id: the organisation every tool call and transfer is scoped to. */
export async function assistantOfCall(db: Db, message: VapiServerMessage): Promise<AssistantRow | null> {
  const vapiAssistantId = message.call?.assistantId;
  if (!vapiAssistantId) return null;
  const [row] = await db
    .select()
    .from(assistants)
    .where(and(eq(assistants.vapiAssistantId, vapiAssistantId), eq(assistants.state, "active")))
    .limit(1);
  return row ?? null;
}

/** `transfer-destination-request`: the emergency contact, or a line the assistant can say. */
export async function transferDestination(db: Db, log: Logger, message: VapiServerMessage): Promise<Record<string, unknown>> {
  const assistant = await assistantOfCall(db, message);
  const contact = assistant ? emergencyContactOf(assistant) : null;
  if (!contact) {
    log.warn("transfer_without_contact", { vapi_assistant_id: message.call?.assistantId ?? null, assistant_id: assistant?.id ?? null });
    return { error: "I'm sorry, I can't transfer you right now. I can take a message and have someone call you back." };
  }
  log.info("transfer_requested", { org_id: assistant!.orgId, assistant_id: assistant!.id });
  return {
    destination: {
      type: "number",
      number: contact.phone,
      message: "I'm connecting you with someone who can help right away. Please stay on the line.",
    },
  };
}
