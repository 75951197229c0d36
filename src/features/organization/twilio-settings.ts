import { and, eq, inArray, ne, notInArray, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { alerts, organizations, phoneNumbers, twilioNumbers, assistants } from "../../db/schema";
import type { SecretBox } from "../../platform/crypto";
import { ApiError } from "../../platform/errors";
import type { Logger } from "../../platform/log";
import { TwilioApiError, type TwilioCredentials } from "../../integrations/twilio";
import { upstreamFailure } from "../../platform/upstream-failure";
import type { Services } from "../../services";

export type OrganizationRow = typeof organizations.$inferSelect;

type TwilioConfigDeps = Pick<Services, "db" | "log" | "box" | "twilioFor">;

export interface TwilioConfigInput {
  account_sid: string;
  auth_token?: string;
  api_key_sid?: string;
  api_key_secret?: string;
  phone_numbers?: string[];
  auto_purchase: boolean;
  area_code?: string;
}

interface TwilioNumberView {
  number: string;
  origin: "imported" | "purchased";
  state: "available" | "assigned" | "importing";
  phone_number_id: string | null;
  assistant_id: string | null;
  assistant_name: string | null;
}

interface TwilioConfigView {
  configured: boolean;
  account_sid: string | null;
  credential_type: "auth_token" | "api_key" | null;
  auto_purchase: boolean;
  area_code: string | null;
  configured_at: string | null;
  numbers: TwilioNumberView[];
}

const credentialsContext = (orgId: string) => `twilio:${orgId}`;

/** "AC…a1b2": enough to recognise the account, not enough to use it. */
const maskSid = (sid: string) => `${sid.slice(0, 2)}…${sid.slice(-4)}`;

function credentialsFromInput(input: TwilioConfigInput): TwilioCredentials {
  return input.api_key_sid
    ? { accountSid: input.account_sid, apiKeySid: input.api_key_sid, apiKeySecret: input.api_key_secret }
    : { accountSid: input.account_sid, authToken: input.auth_token };
}

/**
 * The organisation's Twilio credentials, decrypted, or null when none are configured. They open only for the
 * organisation they were sealed for: a value copied from another organisation's row (or sealed with a key no
 * longer configured) is refused with 409, and nothing is sent anywhere with it.
 */
export async function loadTwilioCredentials(
  db: Db,
  box: SecretBox,
  orgId: string,
): Promise<{ org: OrganizationRow; credentials: TwilioCredentials } | null> {
  const [org] = await db.select().from(organizations).where(eq(organizations.id, orgId)).limit(1);
  if (!org?.twilioCredentials || !org.twilioAccountSid) return null;
  let secret: Omit<TwilioCredentials, "accountSid">;
  try {
    secret = JSON.parse(await box.decrypt(org.twilioCredentials, credentialsContext(orgId))) as Omit<TwilioCredentials, "accountSid">;
  } catch {
    throw new ApiError(
      409,
      "twilio_credentials_unreadable",
      `The saved Twilio credentials of organization ${orgId} cannot be opened (sealed for another organization, or with an encryption key no longer configured). Its owner saves them again with PUT /api/organization/twilio.`,
    );
  }
  return { org, credentials: { accountSid: org.twilioAccountSid, ...secret } };
}

/**
 * Checks the credentials and every listed number against Twilio, then stores the credentials sealed and the
 * list in one batch. Nothing is saved unless everything checks out. Numbers dropped from the list are
 * forgotten unless an assistant uses them (those stay until their assistants go).
 */
export async function saveTwilioConfig(deps: TwilioConfigDeps, orgId: string, input: TwilioConfigInput): Promise<TwilioConfigView> {
  const credentials = credentialsFromInput(input);
  const twilio = deps.twilioFor(credentials);
  try {
    await twilio.fetchAccount();
  } catch (error) {
    if (error instanceof TwilioApiError && (error.status === 401 || error.code === 20003 || error.status === 404)) {
      throw new ApiError(422, "twilio_credentials_rejected", error.userMessage, { twilio_code: error.code });
    }
    throw upstreamFailure(error, "check the Twilio credentials");
  }

  const listed = [...new Set(input.phone_numbers ?? [])];
  const found = await Promise.all(
    listed.map(async (number) => {
      try {
        return { number, incoming: await twilio.findIncomingNumber(number) };
      } catch (error) {
        throw upstreamFailure(error, `look up ${number} in Twilio`);
      }
    }),
  );
  const missing = found.filter((f) => !f.incoming).map((f) => f.number);
  if (missing.length > 0) {
    throw new ApiError(
      422,
      "twilio_number_not_in_account",
      `${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not a number of Twilio account ${maskSid(input.account_sid)}. List only numbers the account owns (Twilio console → Phone Numbers → Active numbers).`,
      { numbers: missing },
    );
  }

  const taken = await numbersOfOtherOrganizations(deps.db, orgId, listed);
  if (taken.length > 0) throw numbersTaken(taken);

  const { accountSid, ...secret } = credentials;
  const sealed = await deps.box.encrypt(JSON.stringify(secret), credentialsContext(orgId));
  const at = new Date().toISOString();
  const orgValues = {
    twilioAccountSid: accountSid,
    twilioCredentialType: input.api_key_sid ? ("api_key" as const) : ("auth_token" as const),
    twilioCredentials: sealed,
    twilioAutoPurchase: input.auto_purchase,
    twilioAreaCode: input.area_code ?? null,
    twilioConfiguredAt: at,
    updatedAt: at,
  };
  try {
    await saveConfigBatch(deps.db, orgId, orgValues, listed, found, at);
  } catch (error) {
    // Another organisation listed one of these numbers since the check: the unique index on the number refused it.
    if (!/UNIQUE constraint failed: twilio_numbers\.number/.test(String(error))) throw error;
    const raced = await numbersOfOtherOrganizations(deps.db, orgId, listed);
    throw numbersTaken(raced.length > 0 ? raced : listed);
  }
  deps.log.info("twilio_configured", {
    org_id: orgId,
    account: maskSid(accountSid),
    numbers: listed.length,
    auto_purchase: input.auto_purchase,
  });
  return getTwilioConfig(deps.db, orgId);
}

function saveConfigBatch(
  db: Db,
  orgId: string,
  orgValues: Omit<typeof organizations.$inferInsert, "id" | "createdAt">,
  listed: string[],
  found: { number: string; incoming: { sid: string } | null }[],
  at: string,
) {
  return db.batch([
    db
      .insert(organizations)
      .values({ id: orgId, ...orgValues, createdAt: at })
      .onConflictDoUpdate({ target: organizations.id, set: orgValues }),
    db
      .delete(twilioNumbers)
      .where(
        and(
          eq(twilioNumbers.orgId, orgId),
          eq(twilioNumbers.state, "listed"),
          eq(twilioNumbers.origin, "imported"),
          listed.length > 0 ? notInArray(twilioNumbers.number, listed) : sql`1 = 1`,
        ),
      ),
    ...found.map(({ number, incoming }) =>
      db
        .insert(twilioNumbers)
        .values({
          id: crypto.randomUUID(),
          orgId,
          number,
          twilioSid: incoming!.sid,
          origin: "imported",
          state: "listed",
          createdAt: at,
          updatedAt: at,
        })
        // Only this organisation's own row of the number is "already there"; another's fails the whole batch.
        .onConflictDoNothing({ target: [twilioNumbers.orgId, twilioNumbers.number] }),
    ),
    // The organisation is no longer short of numbers: an open "exhausted" alert would now contradict it.
    db
      .update(alerts)
      .set({ status: "resolved", resolvedAt: at })
      .where(
        and(
          eq(alerts.kind, "twilio_numbers_exhausted"),
          eq(alerts.subject, orgId),
          eq(alerts.status, "open"),
          orgValues.twilioAutoPurchase
            ? sql`1 = 1`
            : sql`EXISTS (SELECT 1 FROM twilio_numbers t WHERE t.org_id = ${orgId} AND t.state = 'listed')`,
        ),
      ),
  ]);
}

/**
 * Which of `numbers` another organisation holds: on its Twilio list (listed, importing or in Vapi), or as a
 * number in the pool that is not released.
 */
async function numbersOfOtherOrganizations(db: Db, orgId: string, numbers: string[]): Promise<string[]> {
  if (numbers.length === 0) return [];
  const [listedElsewhere, inPoolElsewhere] = await db.batch([
    db
      .select({ number: twilioNumbers.number })
      .from(twilioNumbers)
      .where(and(inArray(twilioNumbers.number, numbers), ne(twilioNumbers.orgId, orgId))),
    db
      .select({ number: phoneNumbers.number })
      .from(phoneNumbers)
      .where(and(inArray(phoneNumbers.number, numbers), ne(phoneNumbers.status, "released"), sql`${phoneNumbers.orgId} IS NOT ${orgId}`)),
  ]);
  const taken = new Set([...listedElsewhere, ...inPoolElsewhere].map((r) => r.number));
  return numbers.filter((n) => taken.has(n));
}

const numbersTaken = (numbers: string[]) =>
  new ApiError(
    409,
    "twilio_number_taken",
    `${numbers.join(", ")} ${numbers.length === 1 ? "is" : "are"} already used by another organization in Switchboard, and a Twilio number can serve only one. ` +
      "List other numbers of the account, or have the other organization remove it first. Nothing was saved.",
    { numbers, reason: "used_by_another_organization" },
  );

/** What the settings page shows: never a secret, the SID masked. */
export async function getTwilioConfig(db: Db, orgId: string): Promise<TwilioConfigView> {
  const [[org], numbers] = await db.batch([
    db.select().from(organizations).where(eq(organizations.id, orgId)).limit(1),
    db
      .select({ row: twilioNumbers, assistantId: phoneNumbers.assistantId, assistantName: assistants.name })
      .from(twilioNumbers)
      .leftJoin(phoneNumbers, eq(phoneNumbers.id, twilioNumbers.phoneNumberId))
      .leftJoin(assistants, eq(assistants.id, phoneNumbers.assistantId))
      .where(and(eq(twilioNumbers.orgId, orgId)))
      .orderBy(twilioNumbers.createdAt, twilioNumbers.number),
  ]);
  const configured = Boolean(org?.twilioCredentials);
  return {
    configured,
    account_sid: org?.twilioAccountSid && configured ? maskSid(org.twilioAccountSid) : null,
    credential_type: configured ? (org?.twilioCredentialType ?? null) : null,
    auto_purchase: configured ? Boolean(org?.twilioAutoPurchase) : false,
    area_code: configured ? (org?.twilioAreaCode ?? null) : null,
    configured_at: configured ? (org?.twilioConfiguredAt ?? null) : null,
    numbers: numbers.map(({ row, assistantId, assistantName }) => ({
      number: row.number,
      origin: row.origin,
      state: row.state === "importing" ? "importing" : assistantId ? "assigned" : "available",
      phone_number_id: row.phoneNumberId,
      assistant_id: assistantId ?? null,
      assistant_name: assistantName ?? null,
    })),
  };
}

/** Forgets the credentials and the numbers not in use; numbers in use stay until their assistants go. */
export async function deleteTwilioConfig(db: Db, log: Logger, orgId: string): Promise<void> {
  const at = new Date().toISOString();
  await db.batch([
    db
      .update(organizations)
      .set({
        twilioAccountSid: null,
        twilioCredentialType: null,
        twilioCredentials: null,
        twilioAutoPurchase: false,
        twilioAreaCode: null,
        twilioConfiguredAt: null,
        updatedAt: at,
      })
      .where(eq(organizations.id, orgId)),
    db.delete(twilioNumbers).where(and(eq(twilioNumbers.orgId, orgId), inArray(twilioNumbers.state, ["listed"]))),
  ]);
  log.info("twilio_forgotten", { org_id: orgId });
}
