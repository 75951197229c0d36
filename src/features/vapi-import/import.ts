import { ne } from "drizzle-orm";
import { assistants, phoneNumbers, twilioNumbers } from "../../db/schema";
import type { VapiAssistant, VapiPhoneNumber } from "../../integrations/vapi";
import { listAllFromVapi } from "../../integrations/vapi-listing";
import { ApiError } from "../../platform/errors";
import type { Services } from "../../services";
import { businessDataSchema, text, type BusinessData } from "../assistants/business-data";
import { SUPPORTED_LANGUAGES, type Language } from "../assistants/vapi-config";
import type { AssistantRow } from "../assistants/view";
import { saveImportReport, saveOutsideFreeNumbers } from "../numbers/account";
import { adoptedRowId, adoptFromVapi, areaCodeOf, type AdoptedOwner } from "../numbers/adoption";
import { newestCreatedAt } from "../numbers/reconcile";
import { HOLDS_FREE_SLOT, switchboardRowIdOf } from "../numbers/pool";
import { summarize, toStoredReport, type AssistantEntry, type ImportReport, type NumberEntry } from "./report";

export type ImportDeps = Pick<Services, "db" | "log" | "vapi" | "settings" | "webhookUrl" | "startTracking">;

export interface AssistantMapping {
  vapi_assistant_id: string;
  org_id: string;
  business_data?: BusinessData;
  name?: string;
}

export interface NumberMapping {
  vapi_phone_number_id: string;
  org_id: string;
}

export interface ImportRequest {
  assistants: AssistantMapping[];
  numbers: NumberMapping[];
  dryRun: boolean;
  /** Adoptions this run makes at most (each is a Vapi call and a D1 batch): the next run goes on. */
  maxChanges: number;
}

/** What D1 knows that decides each Vapi item's fate. */
interface Known {
  numbersByVapiId: Map<string, { id: string; status: string; source: string }>;
  rowIds: Set<string>;
  assistantsByVapiId: Map<string, { id: string; orgId: string; state: string; holdsNumber: boolean }>;
  listedTwilio: Map<string, { id: string; orgId: string; origin: "imported" | "purchased"; twilioSid: string | null }>;
}

/** One adoption the run makes: an assistant (with its number, if any), or a number alone. */
interface Adoption {
  numberEntry: NumberEntry | null;
  assistantEntry: AssistantEntry | null;
  vapiNumber: VapiPhoneNumber | null;
  owner: AdoptedOwner;
  assistant: { row: AssistantRow; isNew: boolean } | null;
}

/**
 * Takes over a Vapi account as it is. Lists every number and assistant, decides for each what to do and why,
 * and (unless a dry run) adopts: unassigned numbers into a pool, activating ones tracked, assistants named in
 * the request with their number. Nothing in Vapi is deleted or changed but the adopted numbers' `server`.
 * What is adopted is recorded whole or not at all; a second run finds it managed and changes nothing.
 */
export async function importVapiAccount(deps: ImportDeps, request: ImportRequest, nowMs = Date.now()): Promise<ImportReport> {
  const listedAt = new Date(nowMs).toISOString();
  const [numberListing, assistantListing] = await Promise.all([
    listAllFromVapi((filter) => deps.vapi.listPhoneNumbers(filter)),
    listAllFromVapi((filter) => deps.vapi.listAssistants(filter)),
  ]);
  const known = await readKnown(deps);
  checkMappings(request, numberListing.items, assistantListing.items, known);

  const {
    adoptions,
    numbers,
    assistants: assistantEntries,
  } = await plan(request, numberListing.items, assistantListing.items, known, listedAt);
  let changes = 0;
  for (const adoption of adoptions) {
    const entries = [adoption.numberEntry, adoption.assistantEntry].filter((e) => e !== null);
    if (request.dryRun) {
      for (const entry of entries) entry.outcome = "would_adopt";
      continue;
    }
    if (changes >= request.maxChanges) {
      for (const entry of entries) entry.outcome = "deferred";
      continue;
    }
    changes++;
    try {
      const outcome = await adoptFromVapi(deps, {
        vapiNumber: adoption.vapiNumber,
        owner: adoption.owner,
        assistant: adoption.assistant,
        pointServer: true,
        at: new Date().toISOString(),
      });
      for (const entry of entries) {
        entry.outcome = outcome.adopted ? "adopted" : "not_adopted";
        if (!outcome.adopted) entry.reason = outcome.reason;
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      for (const entry of entries) {
        entry.outcome = "failed";
        entry.error = message;
      }
      deps.log.error("vapi_import_adoption_failed", {
        vapi_phone_number_id: adoption.vapiNumber?.id ?? null,
        vapi_assistant_id: adoption.assistant?.row.vapiAssistantId ?? null,
        error,
      });
    }
  }

  const heldBySwitchboard = [...known.numbersByVapiId.values()].filter(
    (n) => n.source === "vapi_free" && (HOLDS_FREE_SLOT as readonly string[]).includes(n.status),
  ).length;
  const adoptedFree = numbers.filter((n) => n.outcome === "adopted" && n.provider === "vapi").length;
  const outside = numbers.filter((n) => n.provider === "vapi" && n.outcome !== "adopted" && countsOutside(n, known)).length;
  const limit = deps.settings.VAPI_FREE_NUMBER_LIMIT;
  const report: ImportReport = {
    dry_run: request.dryRun,
    summary: summarize({ numbers, assistants: assistantEntries }),
    free_numbers: {
      limit,
      held_by_switchboard: heldBySwitchboard + adoptedFree,
      held_outside: outside,
      room: Math.max(0, limit - heldBySwitchboard - adoptedFree - outside),
    },
    numbers,
    assistants: assistantEntries,
  };
  const at = new Date().toISOString();
  // A listing that could not prove it saw everything would undercount: the last count stays.
  if (numberListing.complete) await saveOutsideFreeNumbers(deps.db, outside, newestCreatedAt(numberListing.items) ?? listedAt, at);
  await saveImportReport(deps.db, toStoredReport(report), at);
  deps.log.info("vapi_import_done", { dry_run: request.dryRun, ...report.summary, free_numbers_outside: outside });
  return report;
}

/** A free number no row counts: not managed (a released row still in Vapi holds its slot) and not one being made. */
function countsOutside(entry: NumberEntry, known: Known): boolean {
  const row = known.numbersByVapiId.get(entry.vapi_phone_number_id);
  if (row) return row.status === "released";
  return !entry.reason.startsWith(MADE_BY_SWITCHBOARD);
}

async function readKnown(deps: ImportDeps): Promise<Known> {
  const [numberRows, assistantRows, listedRows] = await deps.db.batch([
    deps.db
      .select({
        id: phoneNumbers.id,
        vapiPhoneNumberId: phoneNumbers.vapiPhoneNumberId,
        status: phoneNumbers.status,
        source: phoneNumbers.source,
        assistantId: phoneNumbers.assistantId,
      })
      .from(phoneNumbers),
    deps.db
      .select({ id: assistants.id, orgId: assistants.orgId, state: assistants.state, vapiAssistantId: assistants.vapiAssistantId })
      .from(assistants),
    deps.db
      .select({
        id: twilioNumbers.id,
        orgId: twilioNumbers.orgId,
        number: twilioNumbers.number,
        origin: twilioNumbers.origin,
        twilioSid: twilioNumbers.twilioSid,
      })
      .from(twilioNumbers)
      .where(ne(twilioNumbers.state, "in_vapi")),
  ]);
  const holders = new Set(numberRows.filter((n) => n.assistantId && n.status !== "released").map((n) => n.assistantId!));
  return {
    numbersByVapiId: new Map(numberRows.filter((n) => n.vapiPhoneNumberId).map((n) => [n.vapiPhoneNumberId!, n])),
    rowIds: new Set(numberRows.map((n) => n.id)),
    assistantsByVapiId: new Map(
      assistantRows.filter((a) => a.vapiAssistantId).map((a) => [a.vapiAssistantId!, { ...a, holdsNumber: holders.has(a.id) }]),
    ),
    listedTwilio: new Map(listedRows.map((t) => [t.number, t])),
  };
}

/** A mapping that names what the account does not have, or what Switchboard made, is a mistake to fix first. */
function checkMappings(request: ImportRequest, vapiNumbers: VapiPhoneNumber[], vapiAssistants: VapiAssistant[], known: Known): void {
  const numberIds = new Set(vapiNumbers.map((n) => n.id));
  const byId = new Map(vapiAssistants.map((a) => [a.id, a]));
  const problems: { path: string; message: string }[] = [];
  request.assistants.forEach((mapping, i) => {
    const path = `assistants.${i}.vapi_assistant_id`;
    const vapiAssistant = byId.get(mapping.vapi_assistant_id);
    if (!vapiAssistant) problems.push({ path, message: `Vapi has no assistant ${mapping.vapi_assistant_id} in this account` });
    else if (vapiAssistant.metadata?.switchboardAssistantId && !known.assistantsByVapiId.has(vapiAssistant.id)) {
      problems.push({
        path,
        message: "was made by Switchboard (its metadata says so) and is not adopted: the daily reconciliation removes it",
      });
    } else if (!known.assistantsByVapiId.has(vapiAssistant.id) && !mapping.business_data && !nameOf(vapiAssistant)) {
      problems.push({
        path: `assistants.${i}.business_data`,
        message: "is needed: the Vapi assistant has no usable name to take business_name from",
      });
    }
  });
  request.numbers.forEach((mapping, i) => {
    if (!numberIds.has(mapping.vapi_phone_number_id)) {
      problems.push({
        path: `numbers.${i}.vapi_phone_number_id`,
        message: `Vapi has no phone number ${mapping.vapi_phone_number_id} in this account`,
      });
    }
  });
  if (problems.length > 0) {
    throw new ApiError(422, "import_mapping_invalid", "The import names Vapi items it cannot adopt; nothing was changed.", problems);
  }
}

const MADE_BY_SWITCHBOARD = "made by Switchboard";

/** Decides every number's and assistant's fate (pure but for deriving row ids), and the adoptions that carry them out. */
async function plan(
  request: ImportRequest,
  vapiNumbers: VapiPhoneNumber[],
  vapiAssistants: VapiAssistant[],
  known: Known,
  at: string,
): Promise<{ adoptions: Adoption[]; numbers: NumberEntry[]; assistants: AssistantEntry[] }> {
  const mappings = new Map(request.assistants.map((m) => [m.vapi_assistant_id, m]));
  const numberOrgs = new Map(request.numbers.map((m) => [m.vapi_phone_number_id, m.org_id]));
  const vapiAssistantsById = new Map(vapiAssistants.map((a) => [a.id, a]));
  // Oldest first, so an assistant with several numbers keeps the one it has had longest; active before activating.
  const ordered = [...vapiNumbers].sort((a, b) => rank(a) - rank(b) || a.createdAt.localeCompare(b.createdAt));

  const numbers: NumberEntry[] = [];
  const adoptions: Adoption[] = [];
  /** Vapi assistant id → the number adopted with it (one number per assistant). */
  const numberFor = new Map<string, VapiPhoneNumber>();
  const entryOf = (n: VapiPhoneNumber, action: NumberEntry["action"], reason: string, orgId: string | null = null): NumberEntry => {
    const entry: NumberEntry = {
      vapi_phone_number_id: n.id,
      number: n.number ?? null,
      provider: n.provider,
      vapi_status: n.status ?? null,
      vapi_assistant_id: n.assistantId ?? null,
      action,
      org_id: orgId,
      reason,
      outcome: "unchanged",
      phone_number_id: null,
    };
    numbers.push(entry);
    return entry;
  };

  for (const n of ordered) {
    const row = known.numbersByVapiId.get(n.id);
    if (row && row.status !== "released") {
      entryOf(n, "managed", "already in Switchboard").phone_number_id = row.id;
      continue;
    }
    if (row) {
      entryOf(n, "leave", "released by Switchboard; the daily cleanup finishes deleting it in Vapi");
      continue;
    }
    const rowId = switchboardRowIdOf(n.name);
    if (rowId) {
      entryOf(
        n,
        "leave",
        `${MADE_BY_SWITCHBOARD} (named sb-…): ${known.rowIds.has(rowId) ? "its row is being made" : "the daily reconciliation adopts it"}`,
      );
      continue;
    }
    if (n.provider !== "vapi" && n.provider !== "twilio") {
      entryOf(n, "leave", `a ${n.provider} number: Switchboard manages free Vapi and Twilio numbers only`);
      continue;
    }
    if (n.status === "blocked") {
      entryOf(n, "leave", "blocked in Vapi: it cannot take calls");
      continue;
    }
    const listed = n.provider === "twilio" && n.number ? (known.listedTwilio.get(n.number) ?? null) : null;
    const owner: AdoptedOwner = {
      orgId: listed?.orgId ?? numberOrgs.get(n.id) ?? null,
      twilioNumber: listed ? { id: listed.id, origin: listed.origin, twilioSid: listed.twilioSid } : null,
    };

    if (n.assistantId) {
      const holder = known.assistantsByVapiId.get(n.assistantId);
      const vapiAssistant = vapiAssistantsById.get(n.assistantId);
      const label = vapiAssistant
        ? `Vapi assistant ${n.assistantId} ("${vapiAssistant.name ?? "no name"}")`
        : `Vapi assistant ${n.assistantId}`;
      if (listed && holder && listed.orgId !== holder.orgId) {
        entryOf(n, "leave", `organization ${listed.orgId}'s Twilio number, assigned to another organization's assistant`);
      } else if (holder) {
        if (holder.state !== "active") entryOf(n, "leave", `assigned to ${label}, whose Switchboard assistant is ${holder.state}`);
        else if (holder.holdsNumber || numberFor.has(n.assistantId)) {
          entryOf(n, "leave", `assigned to ${label}, which has another number in Switchboard; it stays assigned in Vapi`);
        } else {
          numberFor.set(n.assistantId, n);
          const entry = entryOf(n, "with_assistant", `assigned to ${label}, already adopted`, holder.orgId);
          entry.phone_number_id = await adoptedRowId(n.id);
          adoptions.push({
            numberEntry: entry,
            assistantEntry: null,
            vapiNumber: n,
            owner,
            assistant: { row: { id: holder.id, orgId: holder.orgId, vapiAssistantId: n.assistantId } as AssistantRow, isNew: false },
          });
        }
      } else if (mappings.has(n.assistantId)) {
        const mapping = mappings.get(n.assistantId)!;
        if (listed && listed.orgId !== mapping.org_id) {
          entryOf(n, "leave", `organization ${listed.orgId}'s Twilio number: it cannot go with an assistant of ${mapping.org_id}`);
        } else if (numberFor.has(n.assistantId)) {
          entryOf(n, "leave", `assigned to ${label}, which is adopted with another of its numbers; this one stays assigned in Vapi`);
        } else {
          numberFor.set(n.assistantId, n);
          const entry = entryOf(n, "with_assistant", `assigned to ${label}, adopted for organization ${mapping.org_id}`, mapping.org_id);
          entry.phone_number_id = await adoptedRowId(n.id);
        }
      } else {
        entryOf(n, "leave", `assigned to ${label}, which is not adopted: name it in "assistants" to adopt both`);
      }
      continue;
    }

    const mappedOrg = numberOrgs.get(n.id);
    if (listed && mappedOrg && mappedOrg !== listed.orgId) {
      entryOf(n, "leave", `organization ${listed.orgId}'s Twilio number: it can only join that organization's pool`);
      continue;
    }
    const activating = n.provider === "vapi" && n.status !== "active";
    const pool = owner.orgId ? `organization ${owner.orgId}'s pool` : "the shared pool";
    const entry = entryOf(
      n,
      activating ? "join_pool_activating" : "join_pool",
      activating ? `unassigned and still activating: joins ${pool}, tracked until live` : `unassigned: joins ${pool}`,
      owner.orgId,
    );
    entry.phone_number_id = await adoptedRowId(n.id);
    adoptions.push({ numberEntry: entry, assistantEntry: null, vapiNumber: n, owner, assistant: null });
  }

  const assistantEntries: AssistantEntry[] = [];
  const assistantAdoptions: Adoption[] = [];
  for (const a of [...vapiAssistants].sort((x, y) => x.createdAt.localeCompare(y.createdAt))) {
    const entry: AssistantEntry = {
      vapi_assistant_id: a.id,
      name: a.name ?? null,
      action: "leave",
      org_id: null,
      vapi_phone_number_id: null,
      reason: "",
      outcome: "unchanged",
      assistant_id: null,
    };
    assistantEntries.push(entry);
    const row = known.assistantsByVapiId.get(a.id);
    const mapping = mappings.get(a.id);
    if (row) {
      Object.assign(entry, { action: "managed", org_id: row.orgId, assistant_id: row.id, reason: `already in Switchboard (${row.state})` });
      if (mapping && mapping.org_id !== row.orgId) entry.reason += `, for organization ${row.orgId}, not ${mapping.org_id}`;
    } else if (a.metadata?.switchboardAssistantId) {
      entry.reason = `${MADE_BY_SWITCHBOARD} without a row: the daily reconciliation removes it`;
    } else if (!mapping) {
      entry.reason = 'not named in "assistants": it and its numbers stay as they are';
    } else {
      const number = numberFor.get(a.id) ?? null;
      const assistant = await adoptedAssistantRow(a, mapping, number, at);
      Object.assign(entry, {
        action: "adopt",
        org_id: mapping.org_id,
        assistant_id: assistant.id,
        vapi_phone_number_id: number?.id ?? null,
        reason: number
          ? `named in "assistants": adopted with its number`
          : `named in "assistants": adopted (it has no number Switchboard can take)`,
      });
      const numberEntry = number ? (numbers.find((e) => e.vapi_phone_number_id === number.id) ?? null) : null;
      assistantAdoptions.push({
        numberEntry,
        assistantEntry: entry,
        vapiNumber: number,
        owner: { orgId: mapping.org_id, twilioNumber: numberEntry && number ? twilioOwnerOf(known, number) : null },
        assistant: { row: assistant, isNew: true },
      });
    }
  }
  return { adoptions: [...assistantAdoptions, ...adoptions], numbers, assistants: assistantEntries };
}

function twilioOwnerOf(known: Known, n: VapiPhoneNumber): AdoptedOwner["twilioNumber"] {
  const listed = n.provider === "twilio" && n.number ? known.listedTwilio.get(n.number) : undefined;
  return listed ? { id: listed.id, origin: listed.origin, twilioSid: listed.twilioSid } : null;
}

const rank = (n: VapiPhoneNumber) => (n.status === "activating" ? 1 : 0);

const assistantName = text(80);
const businessName = text(120);

/** The Vapi assistant's name, if Switchboard can show it (visible, short enough). */
function nameOf(a: VapiAssistant): string | null {
  const parsed = businessName.safeParse(a.name ?? "");
  return parsed.success ? parsed.data : null;
}

/** The row of an adopted assistant: business data from the request, else what Vapi's assistant says of itself. */
async function adoptedAssistantRow(
  a: VapiAssistant,
  mapping: AssistantMapping,
  number: VapiPhoneNumber | null,
  at: string,
): Promise<AssistantRow> {
  const businessData: BusinessData = mapping.business_data ?? businessDataSchema.parse({ business_name: nameOf(a) });
  const shortName = assistantName.safeParse(a.name ?? "");
  const name = mapping.name ?? (shortName.success ? shortName.data : businessData.business_name);
  const language = (a.transcriber as { language?: unknown } | undefined)?.language;
  return {
    id: await adoptedRowId(a.id),
    orgId: mapping.org_id,
    name,
    nameIsCustom: name !== businessData.business_name,
    businessData,
    languages: SUPPORTED_LANGUAGES.includes(language as Language) ? [language as string] : ["en"],
    areaCode: number ? areaCodeOf(number) : null,
    vapiAssistantId: a.id,
    state: "active",
    phoneSource: number ? (number.provider === "twilio" ? "twilio" : "new") : null,
    origin: "adopted",
    emergencyContactName: null,
    emergencyContactPhone: null,
    createdAt: a.createdAt,
    updatedAt: at,
    deletedAt: null,
  };
}
