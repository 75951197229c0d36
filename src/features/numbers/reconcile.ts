import { assistantInVapi, routesAtEdge } from "../routing/mode";
import { syncAllFallbacks } from "../routing/fallback";
import { and, eq, inArray, ne, sql } from "drizzle-orm";
import { assistants, phoneNumbers, twilioNumbers } from "../../db/schema";
import { UpstreamError } from "../../integrations/http";
import type { VapiPhoneNumber } from "../../integrations/vapi";
import { raiseAlert, resolveAlert } from "../alerts/alerts";
import type { PhoneNumberRow } from "../assistants/view";
import { newPhoneNumberRow, vapiStateFields } from "./rows";
import { idChunks } from "../../db/client";
import { eventIfChanged } from "./events";
import { HOLDS_FREE_SLOT, switchboardRowIdOf } from "./pool";
import { liveAddress, trackerKeyFor } from "../provisioning/activation";
import { listAllFromVapi } from "../../integrations/vapi-listing";
import type { Services } from "../../services";
import { readVapiAccount, saveOutsideFreeNumbers, type VapiAccountRow } from "./account";
import { adoptFromVapi, areaCodeOf, type AdoptedOwner } from "./adoption";

/** Anything younger may be a creation, import or assignment still under way: left for the next run. */
const SETTLING_MS = 10 * 60_000;
/** More numbers than this missing at once (and more than a quarter of them) looks like the wrong account, not loss. */
const MAX_VANISHED_WITHOUT_REVIEW = 5;

type ReconcileDeps = Pick<Services, "db" | "log" | "vapi" | "settings" | "alerts" | "stopTracker" | "startTracking" | "webhookUrl">;

interface ReconcileReport {
  vapi_numbers: number;
  adopted: { phone_number_id: string; vapi_phone_number_id: string; number: string | null; status: string; org_id: string | null }[];
  vanished: { phone_number_id: string; vapi_phone_number_id: string; assistant_id: string | null }[];
  assistant_repaired: { phone_number_id: string; vapi_phone_number_id: string; from: string | null; to: string | null }[];
  skipped: { vapi_phone_number_id: string; reason: string }[];
  /** Second Vapi numbers made for one row (a create resent after an answer that was lost): deleted. */
  duplicates_deleted: { phone_number_id: string; vapi_phone_number_id: string }[];
  /** Numbers made outside Switchboard since the last run (all of them on the first). */
  made_outside: {
    vapi_phone_number_id: string;
    number: string | null;
    provider: string;
    vapi_assistant_id: string | null;
    adopted: boolean;
  }[];
  /** Free Vapi numbers the account holds that no row counts (null when the listing could not prove it was whole). */
  free_numbers_outside: number | null;
  /** Edge routing: numbers whose `fallbackDestination` in Vapi is not the one Switchboard set (changed by hand). */
  fallback_changed_in_vapi: { phone_number_id: string; vapi_phone_number_id: string; recorded: string | null; in_vapi: string | null }[];
  /** Edge routing: the sync of every number's fallback that followed (null in direct routing). */
  fallbacks: { updated: number; failed: number; not_cleared: number } | null;
  failures: number;
}

/** The columns of a number the reconciliation compares with Vapi and acts on. */
const RECONCILE_COLUMNS = {
  id: phoneNumbers.id,
  status: phoneNumbers.status,
  vapiPhoneNumberId: phoneNumbers.vapiPhoneNumberId,
  assistantId: phoneNumbers.assistantId,
  orgId: phoneNumbers.orgId,
  number: phoneNumbers.number,
  unassignedAt: phoneNumbers.unassignedAt,
  trackerKey: phoneNumbers.trackerKey,
  vapiFallback: phoneNumbers.vapiFallback,
  createdAt: phoneNumbers.createdAt,
  updatedAt: phoneNumbers.updatedAt,
};

type ReconcileRow = Pick<PhoneNumberRow, keyof typeof RECONCILE_COLUMNS>;

interface RowWithAssistant {
  row: ReconcileRow;
  vapiAssistantId: string | null;
}

const rowsWithAssistant = (db: ReconcileDeps["db"]) =>
  db
    .select({ row: RECONCILE_COLUMNS, vapiAssistantId: assistants.vapiAssistantId })
    .from(phoneNumbers)
    .leftJoin(assistants, eq(assistants.id, phoneNumbers.assistantId));

/**
 * The released rows that Vapi's listing still names, by their Vapi id or (for `sb-<row id>` numbers) their id, read
 * by index in one round trip: a release not finished in Vapi, or a listing taken just before a deletion. The
 * others, whose Vapi number is gone, only grow in number and have nothing left to compare: they are never read.
 */
async function releasedRowsNamedBy(
  db: ReconcileDeps["db"],
  listed: VapiPhoneNumber[],
  byVapiId: Map<string, RowWithAssistant>,
  rowsById: Map<string, ReconcileRow>,
): Promise<RowWithAssistant[]> {
  const unknown = listed.filter((n) => !byVapiId.has(n.id));
  const rowIds = new Set(unknown.map((n) => switchboardRowIdOf(n.name)).filter((id): id is string => id !== null && !rowsById.has(id)));
  const [first, ...rest] = [
    ...idChunks(unknown.map((n) => n.id)).map((ids) => rowsWithAssistant(db).where(inArray(phoneNumbers.vapiPhoneNumberId, ids))),
    ...idChunks([...rowIds]).map((ids) => rowsWithAssistant(db).where(inArray(phoneNumbers.id, ids))),
  ];
  return first ? (await db.batch([first, ...rest])).flat() : [];
}

/**
 * Makes Vapi's phone numbers agree with D1, the record: Vapi numbers Switchboard made (`sb-<row id>`) without
 * a row are adopted, unassigned, with an `orphan_adopted` alert; rows whose Vapi number is gone are released;
 * a number pointing at the wrong assistant is pointed at D1's. Vapi is listed first, D1 read after, and
 * anything changed in the last 10 minutes is left alone (it may be mid-flight).
 */
export async function reconcileNumbers(deps: ReconcileDeps, nowMs = Date.now()): Promise<ReconcileReport> {
  const listing = await listAllFromVapi((filter) => deps.vapi.listPhoneNumbers(filter));
  // The rows not released (by status, on an index that leads with it); released ones only as Vapi names them, below.
  const [rows, account]: [RowWithAssistant[], VapiAccountRow[]] = await deps.db.batch([
    rowsWithAssistant(deps.db).where(inArray(phoneNumbers.status, [...HOLDS_FREE_SLOT])),
    readVapiAccount(deps.db),
  ]);
  const lastCountedAt = account[0]?.countedAt ?? null;
  const settled = new Date(nowMs - SETTLING_MS).toISOString();
  const at = new Date(nowMs).toISOString();
  const report: ReconcileReport = {
    vapi_numbers: listing.items.length,
    adopted: [],
    vanished: [],
    assistant_repaired: [],
    skipped: [],
    duplicates_deleted: [],
    made_outside: [],
    free_numbers_outside: null,
    fallback_changed_in_vapi: [],
    fallbacks: null,
    failures: 0,
  };
  /** Free numbers Vapi holds that no row counts: made outside, or a row released while Vapi still has it. */
  let heldOutside = 0;
  const outside: VapiPhoneNumber[] = [];

  const byVapiId = new Map(rows.filter((r) => r.row.vapiPhoneNumberId).map((r) => [r.row.vapiPhoneNumberId!, r]));
  const rowsById = new Map(rows.map((r) => [r.row.id, r.row]));
  for (const released of await releasedRowsNamedBy(deps.db, listing.items, byVapiId, rowsById)) {
    if (released.row.vapiPhoneNumberId) byVapiId.set(released.row.vapiPhoneNumberId, released);
    rowsById.set(released.row.id, released.row);
  }
  for (const vapiNumber of listing.items) {
    try {
      const known = byVapiId.get(vapiNumber.id);
      const free = vapiNumber.provider === "vapi";
      if (known) {
        if (known.row.status === "released" && free) heldOutside++;
        if (known.row.status !== "released" && known.row.updatedAt < settled) {
          await repairAssistant(deps, known, vapiNumber, report);
          if (routesAtEdge(deps.settings)) await noteFallbackInVapi(deps, known.row, vapiNumber, report);
        }
        continue;
      }
      const rowId = switchboardRowIdOf(vapiNumber.name);
      if (!rowId) {
        outside.push(vapiNumber); // not made by Switchboard: counted, reported, adopted only if told to
        continue;
      }
      if (vapiNumber.createdAt >= settled) {
        if (free && !rowsById.has(rowId)) heldOutside++;
        report.skipped.push({ vapi_phone_number_id: vapiNumber.id, reason: "recent" });
      } else if (rowsById.get(rowId)?.vapiPhoneNumberId) await deleteDuplicate(deps, vapiNumber, rowId, report);
      else if (rowsById.has(rowId)) report.skipped.push({ vapi_phone_number_id: vapiNumber.id, reason: "its row is still being made" });
      else await adoptOrphan(deps, vapiNumber, rowId, at, report);
    } catch (error) {
      report.failures++;
      deps.log.error("reconcile_number_failed", { vapi_phone_number_id: vapiNumber.id, error });
    }
  }

  heldOutside += await followNumbersMadeOutside(deps, outside, lastCountedAt, settled, at, report);
  if (listing.complete) {
    report.free_numbers_outside = heldOutside;
    await saveOutsideFreeNumbers(deps.db, heldOutside, newestCreatedAt(listing.items) ?? lastCountedAt ?? at, at);
  }
  await releaseVanished(deps, rows, listing, settled, at, report);
  if (routesAtEdge(deps.settings)) await repairFallbacks(deps, report);
  deps.log.info("reconcile_numbers_done", {
    vapi_numbers: report.vapi_numbers,
    adopted: report.adopted.length,
    vanished: report.vanished.length,
    assistant_repaired: report.assistant_repaired.length,
    skipped: report.skipped.length,
    made_outside: report.made_outside.length,
    free_numbers_outside: report.free_numbers_outside,
    fallback_changed_in_vapi: report.fallback_changed_in_vapi.length,
    fallbacks_updated: report.fallbacks?.updated ?? null,
    failures: report.failures,
  });
  return report;
}

/**
 * The fallback Vapi shows for a number, recorded when it is not the one Switchboard set (changed in Vapi's
 * dashboard, or a sync that lost a race): `vapi_fallback` says what Vapi has, so the sync after puts D1's back.
 */
async function noteFallbackInVapi(deps: ReconcileDeps, row: ReconcileRow, vapiNumber: VapiPhoneNumber, report: ReconcileReport) {
  const inVapi = vapiNumber.fallbackDestination?.number ?? null;
  if (inVapi === row.vapiFallback) return;
  await deps.db
    .update(phoneNumbers)
    .set({ vapiFallback: inVapi })
    .where(and(eq(phoneNumbers.id, row.id), sql`${phoneNumbers.vapiFallback} is ${row.vapiFallback}`));
  const change = { phone_number_id: row.id, vapi_phone_number_id: vapiNumber.id, recorded: row.vapiFallback, in_vapi: inVapi };
  report.fallback_changed_in_vapi.push(change);
  deps.log.warn("vapi_number_fallback_changed", change);
}

/** Edge routing: every number's `fallbackDestination` made what D1 wants (after the changes found above). */
async function repairFallbacks(deps: ReconcileDeps, report: ReconcileReport): Promise<void> {
  try {
    const synced = await syncAllFallbacks(deps);
    report.fallbacks = { updated: synced.updated, failed: synced.failed, not_cleared: synced.not_cleared.length };
    report.failures += synced.failed;
  } catch (error) {
    report.failures++;
    deps.log.error("reconcile_number_failed", { step: "fallbacks", error });
  }
}

/**
 * Numbers made outside Switchboard: those new since the last run are reported; with ADOPT_UNASSIGNED_NUMBERS,
 * each unassigned one (settled, not blocked) joins the pool as the import would adopt it. Returns how many free
 * ones stay outside, counting against the limit.
 */
async function followNumbersMadeOutside(
  deps: ReconcileDeps,
  outside: VapiPhoneNumber[],
  lastCountedAt: string | null,
  settled: string,
  at: string,
  report: ReconcileReport,
): Promise<number> {
  let heldOutside = 0;
  for (const vapiNumber of outside) {
    let adopted = false;
    const adoptable =
      deps.settings.ADOPT_UNASSIGNED_NUMBERS &&
      !vapiNumber.assistantId &&
      vapiNumber.status !== "blocked" &&
      (vapiNumber.provider === "vapi" || vapiNumber.provider === "twilio") &&
      vapiNumber.createdAt < settled;
    if (adoptable) {
      try {
        const outcome = await adoptFromVapi(deps, {
          vapiNumber,
          owner: await listedOwnerOf(deps, vapiNumber),
          assistant: null,
          pointServer: deps.webhookUrl.startsWith("http"),
          at,
        });
        adopted = outcome.adopted;
      } catch (error) {
        report.failures++;
        deps.log.error("reconcile_number_failed", { vapi_phone_number_id: vapiNumber.id, error });
      }
    }
    if (!adopted && vapiNumber.provider === "vapi") heldOutside++;
    if (adopted || lastCountedAt === null || vapiNumber.createdAt > lastCountedAt) {
      report.made_outside.push({
        vapi_phone_number_id: vapiNumber.id,
        number: vapiNumber.number ?? null,
        provider: vapiNumber.provider,
        vapi_assistant_id: vapiNumber.assistantId ?? null,
        adopted,
      });
    }
  }
  if (report.made_outside.length > 0) {
    deps.log.warn("vapi_numbers_made_outside", {
      count: report.made_outside.length,
      adopted: report.made_outside.filter((n) => n.adopted).length,
      since: lastCountedAt,
      vapi_phone_number_ids: report.made_outside.slice(0, 20).map((n) => n.vapi_phone_number_id),
    });
  }
  return heldOutside;
}

/** Vapi's own clock: a number it makes later is newer than every one listed now. */
export function newestCreatedAt(items: { createdAt: string }[]): string | null {
  return items.reduce<string | null>((newest, item) => (newest === null || item.createdAt > newest ? item.createdAt : newest), null);
}

/** An organisation's listed Twilio number joins that organisation's pool; anything else the shared one. */
async function listedOwnerOf(deps: ReconcileDeps, vapiNumber: VapiPhoneNumber): Promise<AdoptedOwner> {
  if (vapiNumber.provider !== "twilio" || !vapiNumber.number) return { orgId: null, twilioNumber: null };
  const [listed] = await deps.db
    .select()
    .from(twilioNumbers)
    .where(and(eq(twilioNumbers.number, vapiNumber.number), eq(twilioNumbers.state, "listed")))
    .limit(1);
  return listed
    ? { orgId: listed.orgId, twilioNumber: { id: listed.id, origin: listed.origin, twilioSid: listed.twilioSid } }
    : { orgId: null, twilioNumber: null };
}

/** Points the Vapi number at the assistant D1 gives it (or at none). */
async function repairAssistant(
  deps: ReconcileDeps,
  { row, vapiAssistantId }: RowWithAssistant,
  vapiNumber: VapiPhoneNumber,
  report: ReconcileReport,
): Promise<void> {
  if (row.assistantId && !vapiAssistantId) return; // its assistant is still being created
  const wanted = row.assistantId ? assistantInVapi(deps.settings, vapiAssistantId) : null;
  const actual = vapiNumber.assistantId ?? null;
  if (wanted === actual) return;
  await deps.vapi.updatePhoneNumber(vapiNumber.id, { assistantId: wanted });
  deps.log.warn("vapi_number_assistant_repaired", {
    phone_number_id: row.id,
    vapi_phone_number_id: vapiNumber.id,
    from: actual,
    to: wanted,
  });
  report.assistant_repaired.push({ phone_number_id: row.id, vapi_phone_number_id: vapiNumber.id, from: actual, to: wanted });
}

/**
 * A free number joins the shared pool; a Twilio number joins its organisation's, found by its listed number
 * (without one it is left alone: it must never be offered to another organisation).
 */
/**
 * A Vapi number named for a row that has a different Vapi number: a create was resent after Vapi had acted on the
 * first one. It serves nobody and holds a free slot, so it is deleted.
 */
async function deleteDuplicate(deps: ReconcileDeps, vapiNumber: VapiPhoneNumber, rowId: string, report: ReconcileReport): Promise<void> {
  await deps.vapi.deletePhoneNumber(vapiNumber.id).catch((error) => {
    if (!(error instanceof UpstreamError && error.isNotFound)) throw error;
  });
  report.duplicates_deleted.push({ phone_number_id: rowId, vapi_phone_number_id: vapiNumber.id });
  deps.log.warn("duplicate_vapi_number_deleted", {
    phone_number_id: rowId,
    vapi_phone_number_id: vapiNumber.id,
    number: vapiNumber.number ?? null,
  });
}

async function adoptOrphan(
  deps: ReconcileDeps,
  vapiNumber: VapiPhoneNumber,
  rowId: string,
  at: string,
  report: ReconcileReport,
): Promise<void> {
  let owner: Pick<PhoneNumberRow, "provider" | "source" | "orgId" | "twilioSid"> & { twilioNumberId: string | null };
  if (vapiNumber.provider === "vapi") {
    owner = { provider: "vapi", source: "vapi_free", orgId: null, twilioSid: null, twilioNumberId: null };
  } else if (vapiNumber.provider === "twilio" && vapiNumber.number) {
    const [listed] = await deps.db
      .select()
      .from(twilioNumbers)
      .where(and(eq(twilioNumbers.number, vapiNumber.number), ne(twilioNumbers.state, "in_vapi")))
      .limit(1);
    if (!listed) {
      report.skipped.push({ vapi_phone_number_id: vapiNumber.id, reason: "Twilio number of no known organization" });
      return;
    }
    owner = {
      provider: "twilio",
      source: listed.origin === "purchased" ? "twilio_purchased" : "twilio_imported",
      orgId: listed.orgId,
      twilioSid: listed.twilioSid,
      twilioNumberId: listed.id,
    };
  } else {
    report.skipped.push({ vapi_phone_number_id: vapiNumber.id, reason: `provider ${vapiNumber.provider} is not managed by Switchboard` });
    return;
  }

  const areaCode = areaCodeOf(vapiNumber);
  const blocked = vapiNumber.status === "blocked";
  // Vapi answers an imported Twilio number without a status: it is live as soon as it exists.
  const address = blocked ? null : owner.provider === "twilio" ? (vapiNumber.number ?? null) : liveAddress(vapiNumber);
  const fields = vapiStateFields(deps.settings, {
    vapiPhoneNumberId: vapiNumber.id,
    address,
    number: address ?? vapiNumber.number ?? null,
    areaCode,
    blocked,
    trackerKey: trackerKeyFor(null, rowId),
    at,
  });
  const provisioning = fields.status === "provisioning";
  const row = newPhoneNumberRow(
    // When Vapi made it, so it never counts as a free number created after a refusal.
    {
      id: rowId,
      provider: owner.provider,
      source: owner.source,
      orgId: owner.orgId,
      assistantId: null,
      twilioSid: owner.twilioSid,
      unassignedAt: at,
      createdAt: vapiNumber.createdAt,
    },
    fields,
  );
  const [inserted] = await deps.db.batch([
    deps.db.insert(phoneNumbers).values(row).onConflictDoNothing().returning({ id: phoneNumbers.id }),
    eventIfChanged(deps.db, rowId, "created", { orgId: owner.orgId }, at, {
      adopted: true,
      vapi_phone_number_id: vapiNumber.id,
      vapi_status: vapiNumber.status ?? null,
      vapi_assistant_id: vapiNumber.assistantId ?? null,
    }),
    ...(owner.twilioNumberId
      ? [
          deps.db
            .update(twilioNumbers)
            .set({ state: "in_vapi" as const, phoneNumberId: rowId, updatedAt: at })
            .where(eq(twilioNumbers.id, owner.twilioNumberId)),
        ]
      : []),
  ]);
  if (inserted.length === 0) return; // another run adopted it first

  // Unassigned in D1, so unassigned in Vapi: calls must not reach an assistant D1 does not know has this number.
  if (vapiNumber.assistantId) await deps.vapi.updatePhoneNumber(vapiNumber.id, { assistantId: null });
  if (provisioning) {
    await deps
      .startTracking({ assistantId: null, numberId: rowId, vapiPhoneNumberId: vapiNumber.id })
      .catch((error) => deps.log.error("tracker_start_failed", { phone_number_id: rowId, error }));
  }
  deps.log.warn("orphan_number_adopted", {
    phone_number_id: rowId,
    vapi_phone_number_id: vapiNumber.id,
    number: row.number,
    org_id: owner.orgId,
    status: row.status,
  });
  report.adopted.push({
    phone_number_id: rowId,
    vapi_phone_number_id: vapiNumber.id,
    number: row.number,
    status: row.status,
    org_id: owner.orgId,
  });
  await raiseAlert(
    deps.db,
    deps.log,
    {
      kind: "orphan_adopted",
      subject: rowId,
      message:
        `Vapi number ${row.number ?? vapiNumber.id} (${vapiNumber.name}) was made by Switchboard but had no row; it was adopted into ` +
        `${owner.orgId ? `organization ${owner.orgId}'s` : "the shared"} pool, unassigned. Look for an interrupted creation around ${vapiNumber.createdAt}, then resolve this alert.`,
      detail: { phone_number_id: rowId, vapi_phone_number_id: vapiNumber.id, vapi_assistant_id: vapiNumber.assistantId ?? null },
    },
    deps.alerts,
  );
}

/** Rows whose Vapi number is no longer listed, each confirmed gone by a GET (404), are released. */
async function releaseVanished(
  deps: ReconcileDeps,
  rows: RowWithAssistant[],
  listing: { items: VapiPhoneNumber[]; complete: boolean },
  settled: string,
  at: string,
  report: ReconcileReport,
): Promise<void> {
  if (!listing.complete) {
    deps.log.warn("reconcile_vanished_skipped", { reason: "the Vapi listing is not known to be complete" });
    return;
  }
  const listed = new Set(listing.items.map((n) => n.id));
  const tracked = rows.filter((r) => r.row.status !== "released" && r.row.vapiPhoneNumberId);
  const missing = tracked.filter((r) => !listed.has(r.row.vapiPhoneNumberId!) && r.row.createdAt < settled);
  if (missing.length > MAX_VANISHED_WITHOUT_REVIEW && missing.length > tracked.length / 4) {
    deps.log.error("reconcile_vanished_skipped", {
      reason: `${missing.length} of ${tracked.length} numbers are missing from Vapi: is VAPI_API_KEY the right account? Nothing was released.`,
    });
    return;
  }
  for (const { row } of missing) {
    try {
      await deps.vapi.getPhoneNumber(row.vapiPhoneNumberId!);
      report.skipped.push({ vapi_phone_number_id: row.vapiPhoneNumberId!, reason: "not listed, but Vapi still has it" });
    } catch (error) {
      if (!(error instanceof UpstreamError && error.isNotFound)) {
        report.failures++;
        deps.log.error("reconcile_number_failed", { phone_number_id: row.id, error });
        continue;
      }
      if (await markVanished(deps, row, at)) {
        report.vanished.push({ phone_number_id: row.id, vapi_phone_number_id: row.vapiPhoneNumberId!, assistant_id: row.assistantId });
      }
    }
  }
}

/**
 * Released (and unassigned, so its assistant can get another number); an organisation's Twilio number goes
 * back to its list, since the organisation still owns it.
 */
async function markVanished(deps: ReconcileDeps, row: ReconcileRow, at: string): Promise<boolean> {
  const [released] = await deps.db.batch([
    deps.db
      .update(phoneNumbers)
      .set({
        status: "released",
        releasedAt: at,
        assistantId: null,
        assignedAt: null,
        unassignedAt: row.assistantId ? at : row.unassignedAt,
        nextCheckAt: null,
        updatedAt: at,
      })
      .where(and(eq(phoneNumbers.id, row.id), ne(phoneNumbers.status, "released")))
      .returning({ id: phoneNumbers.id }),
    eventIfChanged(deps.db, row.id, "released", { orgId: row.orgId, assistantId: row.assistantId }, at, {
      reason: "vanished",
      vapi_phone_number_id: row.vapiPhoneNumberId,
      number: row.number,
      previous_status: row.status, // the pool's usage over time reads it (admin/usage.ts)
    }),
    deps.db
      .update(twilioNumbers)
      .set({ state: "listed", phoneNumberId: null, claimedAt: null, updatedAt: at })
      .where(eq(twilioNumbers.phoneNumberId, row.id)),
    resolveAlert(deps.db, "provisioning_stuck", row.id, at),
    resolveAlert(deps.db, "provisioning_failed", row.id, at),
  ]);
  if (released.length === 0) return false;
  const fields = {
    phone_number_id: row.id,
    vapi_phone_number_id: row.vapiPhoneNumberId,
    number: row.number,
    assistant_id: row.assistantId,
    org_id: row.orgId,
  };
  // An assistant just lost its number: its owner must give it another (POST /api/assistants/:id/phone).
  if (row.assistantId) deps.log.error("assigned_number_vanished", fields);
  else deps.log.warn("number_vanished", fields);
  if (row.trackerKey && (row.status === "provisioning" || row.status === "stuck")) {
    await deps
      .stopTracker(row.trackerKey, "stopped")
      .catch((error) => deps.log.warn("tracker_stop_failed", { phone_number_id: row.id, error }));
  }
  return true;
}
