import { assistantInVapi } from "../routing/mode";
import { and, count, eq, getTableColumns, sql } from "drizzle-orm";
import { phoneNumbers, twilioNumbers } from "../../db/schema";
import type { SecretBox } from "../../platform/crypto";
import { ApiError } from "../../platform/errors";
import { UpstreamError } from "../../integrations/http";
import { TwilioApiError, type TwilioClient, type TwilioCredentials } from "../../integrations/twilio";
import { raiseAlert, resolveAlert } from "../alerts/alerts";
import type { PhoneNumberRow } from "../assistants/view";
import {
  deleteOrphanByName,
  webhookServer,
  type Attachment,
  type HeldTwilioNumber,
  type NumberDeps,
  type NumberTarget,
  type OrgNumberSource,
} from "./acquisition";
import { loadTwilioCredentials, type OrganizationRow } from "../organization/twilio-settings";
import { recordEvent, vapiNumberName } from "./pool";
import { upstreamFailure } from "../../platform/upstream-failure";
import { newPhoneNumberRow, vapiStateFields } from "./rows";
import type { Services } from "../../services";

type TwilioNumberRow = typeof twilioNumbers.$inferSelect;

interface OrgNumberExtras {
  box: SecretBox;
  twilioFor: (credentials: TwilioCredentials) => TwilioClient;
}

type OrgDeps = NumberDeps & Pick<Services, "box" | "twilioFor">;

/** Who gets the number: an assistant, or nobody yet (an operator buying ahead). */
type ImportTarget = NumberTarget & { vapiAssistantId: string | null };

/** The organisation's own numbers held and imported with its sealed credentials. */
interface HeldWithCredentials extends HeldTwilioNumber {
  claimed: TwilioNumberRow;
  credentials: TwilioCredentials;
  autoPurchase: boolean;
}

/** The pool's third source: the organisation's listed Twilio numbers, then (if allowed) one bought for it. */
export function createOrgNumberSource(extras: OrgNumberExtras): OrgNumberSource {
  return {
    hold: (deps, target) => holdOrgNumber({ ...deps, ...extras }, target),
    attach: (deps, held, target) => attachOrgNumber({ ...deps, ...extras }, held as HeldWithCredentials, target),
  };
}

/**
 * Claims the oldest listed number, or (auto_purchase) buys one: nothing is made in Vapi yet. Null when the
 * organisation has no Twilio account, or nothing listed and purchases off (then the owner is alerted).
 */
async function holdOrgNumber(deps: OrgDeps, target: NumberTarget): Promise<HeldWithCredentials | null> {
  const loaded = await loadTwilioCredentials(deps.db, deps.box, target.orgId);
  if (!loaded) return null;
  let claimed = await claimListedNumber(deps, target.orgId);
  if (!claimed) {
    if (!loaded.org.twilioAutoPurchase) {
      await alertExhausted(deps, target.orgId);
      return null;
    }
    claimed = await purchaseNumber(deps, loaded.org, loaded.credentials, target.areaCode);
  }
  return {
    kind: "twilio",
    twilioNumberId: claimed.id,
    number: claimed.number,
    origin: claimed.origin,
    release: releaseClaimStatement(deps, claimed.id),
    claimed,
    credentials: loaded.credentials,
    autoPurchase: loaded.org.twilioAutoPurchase,
  };
}

async function attachOrgNumber(
  deps: OrgDeps,
  held: HeldWithCredentials,
  target: NumberTarget & { vapiAssistantId: string | null },
): Promise<Attachment> {
  const attachment = await importIntoVapi(deps, held.credentials, held.claimed, target);
  // With auto_purchase on, the last listed number used is no shortage: the next one is bought.
  if (held.origin === "imported" && !held.autoPurchase) await alertIfLastListed(deps, target.orgId);
  return attachment;
}

/** An operator buys and imports one number for an organisation now; it waits unassigned in its pool. */
export async function purchaseForOrganization(deps: OrgDeps, orgId: string, areaCode: string | null): Promise<PhoneNumberRow> {
  const loaded = await loadTwilioCredentials(deps.db, deps.box, orgId);
  if (!loaded) {
    throw new ApiError(
      409,
      "twilio_not_configured",
      `Organization ${orgId} has no Twilio account configured (PUT /api/organization/twilio as its owner).`,
    );
  }
  const claimed = await purchaseNumber(deps, loaded.org, loaded.credentials, areaCode);
  const attachment = await importIntoVapi(deps, loaded.credentials, claimed, { orgId, assistantId: null, vapiAssistantId: null, areaCode });
  // A number now waits in the organisation's pool: it is not short of numbers any more.
  await deps.db.batch([resolveAlert(deps.db, "twilio_numbers_exhausted", orgId), ...attachment.finalize]);
  return attachment.number;
}

/**
 * Takes the oldest listed number for an import, in one guarded statement (never the same one twice). A number
 * another organisation holds in the pool (rows from before numbers were one organisation's) is never imported:
 * its listing is dropped, before Vapi hears of it, and the next one is taken.
 */
async function claimListedNumber(deps: OrgDeps, orgId: string): Promise<TwilioNumberRow | null> {
  for (;;) {
    const at = new Date().toISOString();
    const oldest = deps.db
      .select({ id: twilioNumbers.id })
      .from(twilioNumbers)
      .where(and(eq(twilioNumbers.orgId, orgId), eq(twilioNumbers.state, "listed")))
      .orderBy(twilioNumbers.createdAt, twilioNumbers.number)
      .limit(1);
    const [claimed] = await deps.db
      .update(twilioNumbers)
      .set({ state: "importing", claimedAt: at, updatedAt: at })
      .where(and(sql`${twilioNumbers.id} = (${oldest})`, eq(twilioNumbers.state, "listed")))
      .returning({ ...getTableColumns(twilioNumbers), heldBy: heldByAnotherOrganization });
    if (!claimed) return null;
    const { heldBy, ...row } = claimed;
    if (!heldBy) return row;
    await deps.db.delete(twilioNumbers).where(and(eq(twilioNumbers.id, row.id), eq(twilioNumbers.state, "importing")));
    deps.log.warn("twilio_number_taken", { org_id: orgId, number: row.number, held_by: heldBy });
  }
}

/**
 * The organisation whose pool holds the claimed number (not released), if it is not the claimant. Spelled out:
 * drizzle leaves columns unqualified in RETURNING, where `number` would mean the subquery's own.
 */
const heldByAnotherOrganization = sql<string | null>`(SELECT coalesce(p.org_id, 'shared pool') FROM phone_numbers p
  WHERE p.number = twilio_numbers.number AND p.status <> 'released' AND p.org_id IS NOT twilio_numbers.org_id LIMIT 1)`;

/**
 * Searches the area code, buys the first candidate (the next one when Twilio says it was just taken), and
 * records it as owned before anything else, so a failure after the purchase never loses the number.
 */
async function purchaseNumber(
  deps: OrgDeps,
  org: OrganizationRow,
  credentials: TwilioCredentials,
  areaCode: string | null,
): Promise<TwilioNumberRow> {
  const twilio = deps.twilioFor(credentials);
  const wanted = areaCode ?? org.twilioAreaCode;
  let candidates;
  try {
    candidates = await twilio.searchLocalNumbers({ areaCode: wanted ?? undefined, limit: 10 });
  } catch (error) {
    throw twilioFailure(error, "search Twilio for a number", wanted);
  }
  if (candidates.length === 0) throw noNumbersIn(wanted);

  for (const candidate of candidates) {
    let bought;
    try {
      bought = await twilio.buyNumber({ phoneNumber: candidate.phoneNumber, friendlyName: `Switchboard ${org.id}`.slice(0, 64) });
    } catch (error) {
      if (error instanceof TwilioApiError && error.code === 21422) continue;
      // The answer was lost: if the account owns the number now, the purchase happened and must be recorded.
      bought =
        error instanceof UpstreamError && error.mayHaveActed
          ? await twilio.findIncomingNumber(candidate.phoneNumber).catch(() => null)
          : null;
      if (!bought) throw twilioFailure(error, "buy a Twilio number", wanted);
      deps.log.warn("twilio_purchase_answer_lost", { org_id: org.id, number: bought.phoneNumber, twilio_sid: bought.sid });
    }
    const at = new Date().toISOString();
    const row: TwilioNumberRow = {
      id: crypto.randomUUID(),
      orgId: org.id,
      number: bought.phoneNumber,
      twilioSid: bought.sid,
      origin: "purchased",
      state: "importing",
      phoneNumberId: null,
      claimedAt: at,
      createdAt: at,
      updatedAt: at,
    };
    try {
      await deps.db.insert(twilioNumbers).values(row);
    } catch (error) {
      // Owned at Twilio but not recorded: say exactly what, so it can be added to the list by hand.
      deps.log.error("purchased_number_unrecorded", { org_id: org.id, number: bought.phoneNumber, twilio_sid: bought.sid, error });
      throw new ApiError(
        503,
        "storage_unavailable",
        `Bought ${bought.phoneNumber} but could not record it; add it to your Twilio numbers list.`,
      );
    }
    deps.log.info("twilio_number_purchased", { org_id: org.id, number: bought.phoneNumber, twilio_sid: bought.sid });
    return row;
  }
  throw noNumbersIn(wanted);
}

/** Imports the number into Vapi. On failure it goes back to `listed`: owned, unassigned, not lost. */
async function importIntoVapi(
  deps: OrgDeps,
  credentials: TwilioCredentials,
  claimed: TwilioNumberRow,
  target: ImportTarget,
): Promise<Attachment> {
  const phoneNumberId = crypto.randomUUID();
  let vapiNumber;
  try {
    vapiNumber = await deps.vapi.createPhoneNumber({
      provider: "twilio",
      number: claimed.number,
      twilioAccountSid: credentials.accountSid,
      ...(credentials.apiKeySid
        ? { twilioApiKey: credentials.apiKeySid, twilioApiSecret: credentials.apiKeySecret }
        : { twilioAuthToken: credentials.authToken }),
      name: vapiNumberName(phoneNumberId),
      server: webhookServer(deps),
      ...(assistantInVapi(deps.settings, target.vapiAssistantId) ? { assistantId: target.vapiAssistantId! } : {}),
    });
  } catch (error) {
    // Vapi may have imported it before the answer was lost: remove that import, or the next one would double it.
    if (error instanceof UpstreamError && error.mayHaveActed) await deleteOrphanByName(deps, vapiNumberName(phoneNumberId));
    await releaseClaim(deps, claimed.id);
    throw upstreamFailure(error, `import ${claimed.number} into Vapi`);
  }

  const at = new Date().toISOString();
  const holder = {
    id: phoneNumberId,
    provider: "twilio",
    source: claimed.origin === "purchased" ? "twilio_purchased" : "twilio_imported",
    orgId: target.orgId,
    assistantId: target.assistantId,
    twilioSid: claimed.twilioSid,
    unassignedAt: target.assistantId ? null : at,
    createdAt: at,
  } as const;
  // Vapi answers an imported number without a status: it is live as soon as it exists.
  const areaCode = claimed.number.startsWith("+1") ? claimed.number.slice(2, 5) : null;
  const fields = vapiStateFields(deps.settings, {
    vapiPhoneNumberId: vapiNumber.id,
    address: claimed.number,
    areaCode,
    trackerKey: "",
    at,
  });
  const number = newPhoneNumberRow(holder, fields);
  const who = { orgId: target.orgId, assistantId: target.assistantId };
  return {
    source: "twilio",
    number,
    createdInVapi: true,
    finalize: [
      deps.db.insert(phoneNumbers).values(number),
      deps.db.update(twilioNumbers).set({ state: "in_vapi", phoneNumberId, updatedAt: at }).where(eq(twilioNumbers.id, claimed.id)),
      recordEvent(deps.db, "created", phoneNumberId, who, at, { origin: claimed.origin, twilio_sid: claimed.twilioSid }),
      ...(target.assistantId ? [recordEvent(deps.db, "assigned", phoneNumberId, who, at)] : []),
    ],
    undo: [
      deps.db.delete(phoneNumbers).where(eq(phoneNumbers.id, phoneNumberId)),
      deps.db
        .update(twilioNumbers)
        .set({ state: "listed", phoneNumberId: null, claimedAt: null, updatedAt: at })
        .where(eq(twilioNumbers.id, claimed.id)),
    ],
  };
}

/** A claimed number listed again: owned, unassigned, not lost. */
function releaseClaimStatement(deps: Pick<OrgDeps, "db">, id: string) {
  return deps.db
    .update(twilioNumbers)
    .set({ state: "listed", claimedAt: null, updatedAt: new Date().toISOString() })
    .where(and(eq(twilioNumbers.id, id), eq(twilioNumbers.state, "importing")));
}

async function releaseClaim(deps: OrgDeps, id: string): Promise<void> {
  await releaseClaimStatement(deps, id).catch((error) => deps.log.error("twilio_claim_release_failed", { twilio_number_id: id, error }));
}

async function alertIfLastListed(deps: OrgDeps, orgId: string): Promise<void> {
  const [left] = await deps.db
    .select({ n: count() })
    .from(twilioNumbers)
    .where(and(eq(twilioNumbers.orgId, orgId), eq(twilioNumbers.state, "listed")));
  if ((left?.n ?? 0) === 0) await alertExhausted(deps, orgId);
}

async function alertExhausted(deps: OrgDeps, orgId: string): Promise<void> {
  await raiseAlert(deps.db, deps.log, {
    kind: "twilio_numbers_exhausted",
    subject: orgId,
    message: `Organization ${orgId} has no listed Twilio number left to import, and auto_purchase is off. Its owner lists more numbers or turns on auto_purchase (PUT /api/organization/twilio).`,
    detail: { auto_purchase: false },
  }).catch((error) => deps.log.error("alert_failed", { error }));
}

const noNumbersIn = (areaCode: string | null) =>
  new ApiError(
    409,
    "twilio_no_numbers_available",
    areaCode
      ? `Twilio has no local numbers available in area code ${areaCode}. Try a nearby area code.`
      : "Twilio has no local numbers available right now. Try again with a specific area code.",
    { area_code: areaCode },
  );

function twilioFailure(error: unknown, action: string, areaCode: string | null): ApiError {
  if (error instanceof TwilioApiError) {
    if (error.code === 21452) return noNumbersIn(areaCode);
    if (error.code === 21404 || error.code === 10002)
      return new ApiError(409, "twilio_trial_account", error.userMessage, { twilio_code: error.code });
    if (error.code === 20003) return new ApiError(422, "twilio_credentials_rejected", error.userMessage, { twilio_code: error.code });
    if (error.isRefusal) return new ApiError(422, "twilio_refused", error.userMessage, { twilio_code: error.code });
  }
  return upstreamFailure(error, action);
}
