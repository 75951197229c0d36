import { z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { assistants, organizations, phoneNumbers } from "../../db/schema";
import { countCall } from "../routing/caps";
import { emergencyContactOf } from "../assistants/assistants";
import type { AssistantRow, PhoneNumberRow } from "../assistants/view";
import type { Logger } from "../../platform/log";
import { liveAddress, markActive } from "../provisioning/activation";
import type { Services } from "../../services";

/**
 * The envelope of every Vapi server message. Only `type` is checked here: a body without it is not a server
 * message (400). Every other field is validated where it is read, and a message whose fields do not fit is
 * answered 200 and ignored with a `webhook_message_ignored` warning naming the field.
 */
export const vapiServerMessageSchema = z
  .object({ message: z.looseObject({ type: z.string().min(1).max(100) }) })
  .openapi("VapiServerMessage");

export type VapiServerMessage = z.infer<typeof vapiServerMessageSchema>["message"];

/** Ids Vapi gives calls, numbers, assistants and tool calls (UUIDs in practice): short and printable, nothing else. */
export const vapiIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, "must be a Vapi id");
const e164Schema = z.string().regex(/^\+[1-9]\d{6,14}$/, "must be an E.164 number");

/** `Call.status` in Vapi's OpenAPI document. */
const CALL_STATUSES = ["scheduled", "queued", "ringing", "in-progress", "forwarding", "ended", "not-found", "deletion-failed"] as const;
/** The statuses of a call that reached the number: they prove it live and date its last call. */
const CALL_REACHED_NUMBER: ReadonlySet<string> = new Set(["ringing", "in-progress", "forwarding", "ended"]);

/**
 * A message's timestamp dates a number's last call only when it is sane: webhooks arrive within seconds of
 * their event, so one from more than a day ago or more than five minutes ahead (clock skew) is not believed.
 */
const TIMESTAMP_PAST_MS = 24 * 60 * 60_000;
const TIMESTAMP_FUTURE_MS = 5 * 60_000;

const callFieldsSchema = z.looseObject({
  call: z
    .looseObject({ id: vapiIdSchema.optional(), phoneNumberId: vapiIdSchema.nullish(), assistantId: vapiIdSchema.nullish() })
    .nullish(),
  phoneNumber: z.looseObject({ number: e164Schema.nullish() }).nullish(),
});

/** What a message says about its call, validated. */
export interface CallFields {
  type: string;
  callId: string | null;
  vapiNumberId: string | null;
  vapiAssistantId: string | null;
  /** The number's digits as the message gives them: a claim to check, not a fact. */
  digits: string | null;
  /** When the message reports that the call reached the number: its time, within the sane range. */
  activityAt: string | null;
  /** What the message says of the call's life: it is live (in progress), it ended, or nothing. */
  callLife: "live" | "ended" | null;
}

/**
 * The call fields of a message, or null (with a warning naming the field) when any field Switchboard reads does
 * not fit: an id that is not one, digits that are not E.164, a timestamp outside the sane range, a status that is
 * not one of Vapi's.
 */
export function callFieldsOf(message: VapiServerMessage, log: Logger, now = Date.now()): CallFields | null {
  const ignore = (field: string, reason: string) => {
    log.warn("webhook_message_ignored", { type: message.type.slice(0, 100), field, reason });
    return null;
  };
  const parsed = callFieldsSchema.safeParse(message);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return ignore(["message", ...issue.path.map(String)].join("."), issue.message);
  }
  const { call, phoneNumber } = parsed.data;
  let reachedNumber = message.type === "end-of-call-report";
  let callLife: CallFields["callLife"] = reachedNumber ? "ended" : null;
  if (message.type === "status-update") {
    const status = z.enum(CALL_STATUSES).safeParse(message.status);
    if (!status.success) return ignore("message.status", `must be one of ${CALL_STATUSES.join(", ")}`);
    reachedNumber = CALL_REACHED_NUMBER.has(status.data);
    callLife = status.data === "in-progress" ? "live" : status.data === "ended" ? "ended" : null;
  }
  // The timestamp is read only to date a call; other messages' timestamps are not used, so not judged.
  const timestamp = message.timestamp;
  if (
    reachedNumber &&
    timestamp !== undefined &&
    !(typeof timestamp === "number" && timestamp >= now - TIMESTAMP_PAST_MS && timestamp <= now + TIMESTAMP_FUTURE_MS)
  ) {
    return ignore("message.timestamp", "must be a time in milliseconds within a day before now and five minutes after");
  }
  return {
    type: message.type,
    callId: call?.id ?? null,
    vapiNumberId: call?.phoneNumberId ?? null,
    vapiAssistantId: call?.assistantId ?? null,
    digits: phoneNumber?.number ?? null,
    activityAt: reachedNumber ? new Date((timestamp as number | undefined) ?? now).toISOString() : null,
    callLife,
  };
}

type WebhookDeps = Pick<Services, "db" | "log" | "vapi" | "stopTracker" | "settings" | "calls" | "alerts">;

/**
 * What a call tells about the number it was made on, and only that number: a call on a number still
 * provisioning (or stuck) proves it live, and a call that reached it dates its last call. A call naming an
 * assistant other than the number's own (another organisation's, or a previous holder's) changes nothing.
 * Idempotent: a replay finds the number already active and the same `last_call_at`, and changes nothing.
 */
export async function observeCall(deps: WebhookDeps, fields: CallFields): Promise<void> {
  if (!fields.vapiNumberId) return;
  const [found] = await deps.db
    .select({
      number: phoneNumbers,
      assistantVapiId: assistants.vapiAssistantId,
      orgId: sql<string | null>`coalesce(${assistants.orgId}, ${phoneNumbers.orgId})`,
      maxConcurrentCalls: organizations.maxConcurrentCalls,
    })
    .from(phoneNumbers)
    .leftJoin(assistants, eq(assistants.id, phoneNumbers.assistantId))
    .leftJoin(organizations, eq(organizations.id, sql`coalesce(${assistants.orgId}, ${phoneNumbers.orgId})`))
    .where(eq(phoneNumbers.vapiPhoneNumberId, fields.vapiNumberId))
    .limit(1);
  if (!found) return;
  const row = found.number;
  // Every call on the number uses the account's concurrency, whichever assistant Vapi says took it.
  await countCall(deps, fields, { orgId: found.orgId, maxConcurrentCalls: found.maxConcurrentCalls });
  if (fields.vapiAssistantId && fields.vapiAssistantId !== found.assistantVapiId) {
    deps.log.warn("webhook_call_not_of_number_assistant", {
      type: fields.type,
      phone_number_id: row.id,
      vapi_assistant_id: fields.vapiAssistantId,
      number_assistant_id: row.assistantId,
    });
    return;
  }

  if (row.status === "provisioning" || row.status === "stuck") {
    const address = await provenAddress(deps, row, fields.digits);
    if (address && (await markActive(deps, row.id, address, "webhook")) && row.trackerKey) {
      await deps
        .stopTracker(row.trackerKey, "active")
        .catch((error) => deps.log.warn("tracker_stop_failed", { phone_number_id: row.id, error }));
    }
  }

  if (fields.activityAt) {
    await deps.db
      .update(phoneNumbers)
      .set({ lastCallAt: sql`max(coalesce(${phoneNumbers.lastCallAt}, ''), ${fields.activityAt})` })
      .where(eq(phoneNumbers.id, row.id));
  }
}

/**
 * The address a call proves for a number awaiting activation. The message's digits are taken only when they agree
 * with what is known: the row's own digits, else Vapi's answer (asked, since the message alone is a claim). Vapi
 * showing the number live gives its digits; Vapi still activating it (digits hidden) lets the message's digits
 * stand when they are in the area code asked for. Vapi unreachable: nothing concluded, the tracker goes on.
 */
async function provenAddress(deps: WebhookDeps, row: PhoneNumberRow, digits: string | null): Promise<string | null> {
  if (digits && row.number === digits) return digits;
  const mismatch = (reason: string) => {
    deps.log.warn("webhook_digits_not_taken", { phone_number_id: row.id, reason });
    return null;
  };
  let vapiNumber;
  try {
    vapiNumber = await deps.vapi.getPhoneNumber(row.vapiPhoneNumberId!);
  } catch (error) {
    deps.log.warn("webhook_number_check_failed", { phone_number_id: row.id, error });
    return null;
  }
  const live = liveAddress(vapiNumber);
  if (live) {
    if (digits && digits !== live) mismatch("Vapi shows other digits for this number");
    return live;
  }
  if (!digits || vapiNumber.status !== "activating") return null;
  if (vapiNumber.number && vapiNumber.number !== digits) return mismatch("Vapi shows other digits for this number");
  if (row.number && row.number !== digits) return mismatch("the number's digits are known and differ");
  if (row.areaCode && !digits.startsWith(`+1${row.areaCode}`)) return mismatch("not in the area code the number was made in");
  return digits;
}

/** The call's assistant, found by its Vapi id: the organisation every tool call and transfer is scoped to. */
export async function assistantOfCall(db: Db, vapiAssistantId: string | null): Promise<AssistantRow | null> {
  if (!vapiAssistantId) return null;
  const [row] = await db
    .select()
    .from(assistants)
    .where(and(eq(assistants.vapiAssistantId, vapiAssistantId), eq(assistants.state, "active")))
    .limit(1);
  return row ?? null;
}
/** `transfer-destination-request`: the emergency contact, or a line the assistant can say. */
export async function transferDestination(db: Db, log: Logger, fields: CallFields | null): Promise<Record<string, unknown>> {
  const assistant = await assistantOfCall(db, fields?.vapiAssistantId ?? null);
  const contact = assistant ? emergencyContactOf(assistant) : null;
  if (!contact) {
    log.warn("transfer_without_contact", { vapi_assistant_id: fields?.vapiAssistantId ?? null, assistant_id: assistant?.id ?? null });
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
