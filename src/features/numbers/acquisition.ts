import { noteAccountFull } from "./account";
import { assistantInVapi, routesAtEdge } from "../routing/mode";
import { eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../../db/client";
import { phoneNumbers } from "../../db/schema";
import { ApiError } from "../../platform/errors";
import { UpstreamError } from "../../integrations/http";
import type { VapiPhoneNumber, VapiServer } from "../../integrations/vapi";
import { raiseAlert } from "../alerts/alerts";
import type { PhoneNumberRow } from "../assistants/view";
import { dropReservation, recordEvent, returnClaim, vapiNumberName, type PoolSlot } from "./pool";
import { upstreamFailure } from "../../platform/upstream-failure";
import { liveAddress, trackerKeyFor } from "../provisioning/activation";
import { eventWhileAssigned } from "./events";
import { newPhoneNumberRow, vapiStateFields } from "./rows";
import type { Services } from "../../services";

/**
 * One way to get a number (docs/architecture.md, "Getting a number"): the pool, else a new free Vapi number
 * while the account has room, else the organisation's own Twilio numbers (a listed one imported, else one
 * bought), else 409 naming the real cause. Create, assign-phone, pre-provision and the operators' Twilio purchase
 * all go through these steps:
 *
 * 1. `claimPoolNumber` / `reserveFreeNumber` (pool.ts): one guarded D1 statement each, in the caller's batch.
 * 2. `holdNumber`: what the pool gave, or a Twilio number claimed or bought; else the 409. Nothing is made in
 *    Vapi before this succeeds, so a request refused for lack of numbers leaves nothing behind.
 * 3. `attachHeld`: the held number made to answer for the Vapi assistant (a PATCH, a new free number, or an
 *    import). It gives the hold back itself when it fails.
 * 4. The caller's final batch: its own writes with `attachment.finalize`. If that fails, `undoAttachment`.
 * `releaseHold` gives back a hold that was never attached (the caller failed between 2 and 3).
 */

export type NumberDeps = Pick<Services, "db" | "vapi" | "settings" | "log" | "webhookUrl" | "orgNumbers" | "startTracking">;

/** Who a number is for: an assistant (its Vapi id once it has one), or nobody yet (numbers made ahead of demand). */
export interface NumberTarget {
  orgId: string;
  assistantId: string | null;
  areaCode: string | null;
}

interface AssignmentTarget extends NumberTarget {
  assistantId: string;
  vapiAssistantId: string;
}

/** A Twilio number claimed from the organisation's list (or bought for it), not yet in Vapi. */
export interface HeldTwilioNumber {
  kind: "twilio";
  twilioNumberId: string;
  number: string;
  origin: "imported" | "purchased";
  /** The claim given back: the number is listed again (owned, unassigned, not lost). */
  release: BatchItem<"sqlite">;
}

/** A number secured for a target and not yet attached in Vapi. */
export type HeldNumber = PoolSlot | HeldTwilioNumber;

/** The third source: an organisation's own Twilio numbers. */
export interface OrgNumberSource {
  /** Claims a listed number, or buys one when the organisation allows it; null when it has none to give. */
  hold(deps: NumberDeps, target: NumberTarget): Promise<HeldTwilioNumber | null>;
  /** Imports the held number into Vapi for the target; on failure the claim is given back. */
  attach(deps: NumberDeps, held: HeldTwilioNumber, target: NumberTarget & { vapiAssistantId: string | null }): Promise<Attachment>;
}

/** Where an organisation's numbers may not be used: there are none to hold. */
export const NO_ORG_NUMBERS: OrgNumberSource = {
  hold: async () => null,
  attach: async () => {
    throw new Error("NO_ORG_NUMBERS holds no number, so none can be attached");
  },
};

/** A number now attached to the assistant in Vapi; `finalize` records it in D1 (one batch with the caller's). */
export interface Attachment {
  source: "pool" | "new" | "twilio";
  number: PhoneNumberRow;
  /** The Vapi number was made for this attachment (deleted in Vapi if it is undone), not re-pointed. */
  createdInVapi: boolean;
  finalize: BatchItem<"sqlite">[];
  /** Undoes the attachment in D1 if the caller's own final write fails. */
  undo: BatchItem<"sqlite">[];
}

/**
 * Why Vapi would not make a free number. Vapi documents no code for either cause, so a refusal is the limit
 * unless Vapi's words name the area code that was asked for ("No phone numbers are available for area code …").
 */
interface FreeNumberRefusal {
  refused: "limit" | "area_code";
  areaCode: string | null;
  vapiMessage: string;
}

export function isRefusal<T extends object>(result: T | FreeNumberRefusal): result is FreeNumberRefusal {
  return "refused" in result && "vapiMessage" in result && !("id" in result);
}

const now = () => new Date().toISOString();

export function webhookServer(deps: Pick<NumberDeps, "webhookUrl" | "settings">): VapiServer {
  return { url: deps.webhookUrl, headers: { "X-Vapi-Secret": deps.settings.VAPI_WEBHOOK_SECRET } };
}

/** Step 2: what the pool gave, else a number of the organisation's own, else the 409, all before Vapi is called. */
export async function holdNumber(deps: NumberDeps, target: NumberTarget, slot: PoolSlot | null): Promise<HeldNumber> {
  if (slot) return slot;
  const own = await deps.orgNumbers.hold(deps, target);
  if (own) return own;
  throw await poolExhausted(deps, target.orgId);
}

/** The statements that give back a hold never attached, for the caller's compensating batch. */
export function releaseHold(db: Db, held: HeldNumber, assistantId: string | null): BatchItem<"sqlite">[] {
  if (held.kind === "pool") return assistantId ? [returnClaim(db, held.number.id, assistantId, now())] : [];
  if (held.kind === "new") return [dropReservation(db, held.reservationId)];
  return [held.release];
}

/**
 * Step 3: the held number made to answer for the assistant. A pool number is PATCHed (instant, already active);
 * a reserved slot becomes a new free number (provisioning), and if Vapi refuses it (its own count, or no number in
 * the area code), the organisation's own numbers are tried before the refusal is told; a Twilio number is
 * imported. On failure the hold is given back before the error is thrown.
 */
export async function attachHeld(deps: NumberDeps, held: HeldNumber, target: AssignmentTarget): Promise<Attachment> {
  if (held.kind === "pool") return attachPoolNumber(deps, held.number, target);
  if (held.kind === "twilio") return deps.orgNumbers.attach(deps, held, target);
  const attached = await makeFreeNumber(deps, held.reservationId, target);
  if (!isRefusal(attached)) return attached;
  const own = await deps.orgNumbers.hold(deps, target);
  if (own) return deps.orgNumbers.attach(deps, own, target);
  throw attached.refused === "area_code" ? areaCodeUnavailable(attached.areaCode!) : await poolExhausted(deps, target.orgId, attached);
}

/** Compensation, written once: the attachment undone in Vapi, then in D1 with the caller's own undo statements. */
export async function undoAttachment(deps: NumberDeps, attachment: Attachment, alongside: BatchItem<"sqlite">[] = []): Promise<void> {
  await detachInVapi(deps, attachment);
  const statements = [...attachment.undo, ...alongside];
  if (statements.length === 0) return;
  await deps.db
    .batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]])
    .catch((error) => deps.log.error("attachment_undo_failed", { phone_number_id: attachment.number.id, error }));
}

/** Starts the tracker of a number that is still provisioning; the cron sweep re-arms it if this fails. */
export async function startTrackingIfProvisioning(deps: NumberDeps, number: PhoneNumberRow): Promise<void> {
  if (number.status !== "provisioning" || !number.vapiPhoneNumberId) return;
  try {
    await deps.startTracking({ assistantId: number.assistantId, numberId: number.id, vapiPhoneNumberId: number.vapiPhoneNumberId });
  } catch (error) {
    deps.log.error("tracker_start_failed", { phone_number_id: number.id, error });
  }
}

async function attachPoolNumber(deps: NumberDeps, number: PhoneNumberRow, target: AssignmentTarget): Promise<Attachment> {
  // At the edge the number stays bare in Vapi: the next call's assistant-request finds the new assistant in D1.
  if (!routesAtEdge(deps.settings)) await pointPoolNumber(deps, number, target);
  const at = now();
  return {
    source: "pool",
    number,
    createdInVapi: false,
    finalize: [eventWhileAssigned(deps.db, number.id, "reused", target, at, { number: number.number })],
    undo: [returnClaim(deps.db, number.id, target.assistantId, at)],
  };
}

async function pointPoolNumber(deps: NumberDeps, number: PhoneNumberRow, target: AssignmentTarget): Promise<void> {
  try {
    await deps.vapi.updatePhoneNumber(number.vapiPhoneNumberId!, { assistantId: target.vapiAssistantId, server: webhookServer(deps) });
  } catch (error) {
    await returnClaim(deps.db, number.id, target.assistantId, now()).catch((e) =>
      deps.log.error("claim_return_failed", { phone_number_id: number.id, assistant_id: target.assistantId, error: e }),
    );
    throw upstreamFailure(error, "assign the phone number");
  }
}

/**
 * The new-number step: the reserved slot's free number made in Vapi (for the assistant, or unassigned when made
 * ahead of demand), or why Vapi refused it.
 */
export async function makeFreeNumber(
  deps: NumberDeps,
  reservationId: string,
  target: NumberTarget & { vapiAssistantId: string | null },
): Promise<Attachment | FreeNumberRefusal> {
  const vapiNumber = await createReservedNumber(deps, reservationId, {
    vapiAssistantId: assistantInVapi(deps.settings, target.vapiAssistantId),
    areaCode: target.areaCode,
  });
  if (isRefusal(vapiNumber)) return vapiNumber;
  const at = now();
  const fields = vapiStateFields(deps.settings, {
    vapiPhoneNumberId: vapiNumber.id,
    address: liveAddress(vapiNumber),
    areaCode: vapiNumber.numberDesiredAreaCode ?? target.areaCode,
    trackerKey: trackerKeyFor(target.assistantId, reservationId),
    at,
  });
  const holder = {
    id: reservationId,
    provider: "vapi",
    source: "vapi_free",
    orgId: null,
    assistantId: target.assistantId,
    twilioSid: null,
    unassignedAt: null,
    createdAt: at,
  } as const;
  const number = newPhoneNumberRow(holder, fields);
  const created = {
    vapi_phone_number_id: vapiNumber.id,
    area_code: fields.areaCode,
    ...(target.assistantId ? {} : { pre_provisioned: true }),
  };
  const { assistantId } = target;
  return {
    source: "new",
    number,
    createdInVapi: true,
    finalize: [
      deps.db.update(phoneNumbers).set(fields).where(eq(phoneNumbers.id, reservationId)),
      recordEvent(deps.db, "created", reservationId, assistantId ? target : {}, at, created),
      ...(assistantId ? [eventWhileAssigned(deps.db, reservationId, "assigned", { ...target, assistantId }, at)] : []),
    ],
    undo: [dropReservation(deps.db, reservationId)],
  };
}

/**
 * Makes the Vapi number of a reserved slot. When Vapi refuses it, the slot is dropped, an alert names the cause
 * (the limit, or the area code that has no numbers) and the refusal is returned. Any other failure drops the
 * slot too, after deleting the number if Vapi may have made it.
 */
async function createReservedNumber(
  deps: NumberDeps,
  reservationId: string,
  options: { vapiAssistantId: string | null; areaCode: string | null },
): Promise<VapiPhoneNumber | FreeNumberRefusal> {
  const name = vapiNumberName(reservationId);
  try {
    return await deps.vapi.createPhoneNumber({
      provider: "vapi",
      name,
      server: webhookServer(deps),
      ...(options.vapiAssistantId ? { assistantId: options.vapiAssistantId } : {}),
      ...(options.areaCode ? { numberDesiredAreaCode: options.areaCode } : {}),
    });
  } catch (error) {
    if (error instanceof UpstreamError && error.mayHaveActed) await deleteOrphanByName(deps, name);
    await dropReservation(deps.db, reservationId).catch((e) =>
      deps.log.error("reservation_drop_failed", { phone_number_id: reservationId, error: e }),
    );
    if (error instanceof UpstreamError && error.isRefusal) {
      const refusal = refusalOf(error.message, options.areaCode);
      if (refusal.refused === "limit") {
        await noteAccountFull(deps.db, deps.settings.VAPI_FREE_NUMBER_LIMIT, new Date().toISOString()).catch((e) =>
          deps.log.error("vapi_account_count_failed", { error: e }),
        );
      }
      await raiseAlert(deps.db, deps.log, refusalAlert(refusal, error.status));
      return refusal;
    }
    throw upstreamFailure(error, "create a phone number");
  }
}

function refusalOf(vapiMessage: string, areaCode: string | null): FreeNumberRefusal {
  const aboutAreaCode = areaCode !== null && /\barea code\b/i.test(vapiMessage);
  return { refused: aboutAreaCode ? "area_code" : "limit", areaCode, vapiMessage };
}

function refusalAlert(refusal: FreeNumberRefusal, status: number | undefined) {
  const detail = { status, area_code: refusal.areaCode };
  if (refusal.refused === "area_code") {
    return {
      kind: "vapi_area_code_unavailable" as const,
      subject: refusal.areaCode!,
      message:
        `Vapi has no free numbers in area code ${refusal.areaCode} (Vapi: "${refusal.vapiMessage}"). This is not the free-number limit: ` +
        `requests for ${refusal.areaCode} are answered 409 area_code_unavailable and told to try a nearby area code or none.`,
      detail,
    };
  }
  return {
    kind: "vapi_refused_number" as const,
    subject: "vapi",
    message: `Vapi refused a new free number: ${refusal.vapiMessage}`,
    detail,
  };
}

/** Vapi has nothing in the asked area code, and no other source had a number: say so, and what to try. */
const areaCodeUnavailable = (areaCode: string) =>
  new ApiError(
    409,
    "area_code_unavailable",
    `Vapi has no free phone numbers left in area code ${areaCode}. Try a nearby area code, or leave area_code out to get a number in any US area code.`,
    { area_code: areaCode },
  );

/** After a create whose answer was lost, the number may exist in Vapi: find it by its name and delete it. */
export async function deleteOrphanByName(deps: NumberDeps, name: string): Promise<void> {
  try {
    const since = new Date(Date.now() - 5 * 60_000).toISOString();
    const orphans = (await deps.vapi.listPhoneNumbers({ createdAtGe: since })).filter((n) => n.name === name);
    for (const orphan of orphans) await deps.vapi.deletePhoneNumber(orphan.id);
  } catch (error) {
    deps.log.error("orphan_number_cleanup_failed", { vapi_name: name, error });
  }
}

/**
 * A number let go of answers for nobody in Vapi any more. Best effort: a number still pointing at an assistant
 * that is gone is harmless, re-pointed on reuse and repaired by the daily reconciliation.
 */
export async function detachNumberInVapi(
  deps: Pick<NumberDeps, "vapi" | "log" | "settings">,
  number: Pick<PhoneNumberRow, "id" | "vapiPhoneNumberId">,
): Promise<void> {
  if (!number.vapiPhoneNumberId || routesAtEdge(deps.settings)) return;
  await deps.vapi
    .updatePhoneNumber(number.vapiPhoneNumberId, { assistantId: null })
    .catch((error) => deps.log.warn("number_detach_failed", { phone_number_id: number.id, error }));
}

/** Undoes an attachment's Vapi side: the number no longer points at the assistant (new ones are deleted). */
export async function detachInVapi(deps: NumberDeps, attachment: Attachment): Promise<void> {
  const vapiId = attachment.number.vapiPhoneNumberId;
  if (!vapiId) return;
  try {
    if (attachment.createdInVapi) await deps.vapi.deletePhoneNumber(vapiId);
    else if (!routesAtEdge(deps.settings)) await deps.vapi.updatePhoneNumber(vapiId, { assistantId: null });
  } catch (error) {
    deps.log.error("vapi_detach_failed", { vapi_phone_number_id: vapiId, error });
  }
}

/**
 * No number from any source. The message says which way the free numbers ran out: the account holds the
 * configured limit, or Vapi refused one below it (`refusal`).
 */
async function poolExhausted(deps: NumberDeps, orgId: string, refusal?: FreeNumberRefusal): Promise<ApiError> {
  const limit = deps.settings.VAPI_FREE_NUMBER_LIMIT;
  const freeNumbers = refusal ? "Vapi refused a new free number" : `all ${limit} free Vapi numbers are in use`;
  await raiseAlert(deps.db, deps.log, {
    kind: "pool_exhausted",
    subject: "pool",
    message: `A request for a number was refused: no unassigned number and ${freeNumbers}${refusal ? ` (Vapi: "${refusal.vapiMessage}")` : ""}.`,
    detail: { org_id: orgId, cause: refusal ? "vapi_refused" : "limit_reached" },
  }).catch((error) => deps.log.error("alert_failed", { error }));
  return new ApiError(
    409,
    "pool_exhausted",
    `No phone number is available: ${freeNumbers} and none is unassigned. ` +
      "Delete an assistant you no longer need to free its number, or connect your organization's Twilio account (PUT /api/organization/twilio) to use your own numbers.",
    { free_number_limit: limit, cause: refusal ? "vapi_refused" : "limit_reached" },
  );
}
