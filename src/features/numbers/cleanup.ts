import { and, asc, eq, isNull, lt, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { phoneNumbers, twilioNumbers } from "../../db/schema";
import { UpstreamError } from "../../integrations/http";
import type { VapiClient } from "../../integrations/vapi";
import type { PhoneNumberRow } from "../assistants/view";
import { eventIfChanged } from "./events";
import type { Services } from "../../services";

const DAY_MS = 86_400_000;
/** Numbers handled per run; the rest wait for the next day (or the next manual run). */
const BATCH_LIMIT = 100;

type CleanupDeps = Pick<Services, "db" | "log" | "vapi" | "settings" | "twilioForOrg">;

type CleanupAction = "delete_in_vapi" | "release_at_twilio" | "return_to_twilio_list";

/**
 * `would_*` in a dry run; `kept` when the number was assigned (or changed) after it was selected;
 * `release_pending` when it is released in D1 but Vapi or Twilio failed: the next run finishes it.
 */
type CleanupOutcome = "would_release" | "would_retry" | "released" | "kept" | "release_pending";

export interface CleanupEntry {
  phone_number_id: string;
  number: string | null;
  source: PhoneNumberRow["source"];
  org_id: string | null;
  idle_since: string;
  actions: CleanupAction[];
  outcome: CleanupOutcome;
  error?: string;
}

export interface CleanupReport {
  dry_run: boolean;
  now: string;
  /** Numbers unassigned before this are unused. */
  cutoff: string;
  unused_number_days: number;
  released: number;
  kept: number;
  pending: number;
  numbers: CleanupEntry[];
}

interface CleanupWork {
  cutoff: string;
  /** Active numbers unassigned since before the cutoff. */
  unused: PhoneNumberRow[];
  /** Released in D1 by an earlier run whose Vapi or Twilio step failed (`released_at` is set when all is done). */
  unfinished: PhoneNumberRow[];
}

/** Since when a number has waited unassigned: since it was last unassigned, else since it was made. */
const idleSince = (row: PhoneNumberRow) => row.unassignedAt ?? row.createdAt;
const idleSinceSql = sql<string>`coalesce(${phoneNumbers.unassignedAt}, ${phoneNumbers.createdAt})`;

/** What a run would do (one D1 round trip). Provisioning and stuck numbers are never unused. */
export async function findCleanupWork(deps: Pick<CleanupDeps, "db" | "settings">, nowMs: number): Promise<CleanupWork> {
  const { db } = deps;
  const cutoff = new Date(nowMs - deps.settings.UNUSED_NUMBER_DAYS * DAY_MS).toISOString();
  const [unused, unfinished] = await db.batch([
    db
      .select()
      .from(phoneNumbers)
      .where(and(eq(phoneNumbers.status, "active"), isNull(phoneNumbers.assistantId), lt(idleSinceSql, cutoff)))
      .orderBy(asc(idleSinceSql))
      .limit(BATCH_LIMIT),
    db
      .select()
      .from(phoneNumbers)
      .where(and(eq(phoneNumbers.status, "released"), isNull(phoneNumbers.releasedAt)))
      .orderBy(asc(phoneNumbers.updatedAt))
      .limit(BATCH_LIMIT),
  ]);
  return { cutoff, unused, unfinished };
}

/** Finds and releases unused numbers (or, with `dryRun`, only says what it would do). */
export async function runCleanup(deps: CleanupDeps, options: { nowMs: number; dryRun: boolean }): Promise<CleanupReport> {
  const work = await findCleanupWork(deps, options.nowMs);
  const numbers = options.dryRun
    ? [...work.unused.map((row) => entry(row, "would_release")), ...work.unfinished.map((row) => entry(row, "would_retry"))]
    : await applyCleanup(deps, work, options.nowMs);
  const report: CleanupReport = {
    dry_run: options.dryRun,
    now: new Date(options.nowMs).toISOString(),
    cutoff: work.cutoff,
    unused_number_days: deps.settings.UNUSED_NUMBER_DAYS,
    released: numbers.filter((n) => n.outcome === "released").length,
    kept: numbers.filter((n) => n.outcome === "kept").length,
    pending: numbers.filter((n) => n.outcome === "release_pending").length,
    numbers,
  };
  deps.log.info("cleanup_done", {
    dry_run: options.dryRun,
    cutoff: work.cutoff,
    released: report.released,
    kept: report.kept,
    pending: report.pending,
  });
  return report;
}

/**
 * Releases each unused number: first the row, by a guarded UPDATE that re-checks "active, unassigned, idle
 * since before the cutoff" in the same statement (a number assigned meanwhile is not touched), then Vapi and
 * Twilio. Then the releases an earlier run left unfinished.
 */
export async function applyCleanup(deps: CleanupDeps, work: CleanupWork, nowMs: number): Promise<CleanupEntry[]> {
  const at = new Date(nowMs).toISOString();
  const entries: CleanupEntry[] = [];
  for (const row of work.unused) {
    if (!(await claimForRelease(deps.db, row, work.cutoff, at))) {
      deps.log.info("cleanup_number_kept", { phone_number_id: row.id, reason: "assigned or changed since it was selected" });
      entries.push(entry(row, "kept"));
      continue;
    }
    entries.push(await finishRelease(deps, row, at));
  }
  for (const row of work.unfinished) entries.push(await finishRelease(deps, row, at));
  return entries;
}

/** Marks the row released (not yet finished: `released_at` stays null) and records it, if it is still unused. */
async function claimForRelease(db: Db, row: PhoneNumberRow, cutoff: string, at: string): Promise<boolean> {
  const [claimed] = await db.batch([
    db
      .update(phoneNumbers)
      .set({ status: "released", releasedAt: null, nextCheckAt: null, updatedAt: at })
      .where(
        and(eq(phoneNumbers.id, row.id), isNull(phoneNumbers.assistantId), eq(phoneNumbers.status, "active"), lt(idleSinceSql, cutoff)),
      )
      .returning({ id: phoneNumbers.id }),
    eventIfChanged(db, row.id, "released", { orgId: row.orgId }, at, {
      reason: "unused",
      idle_since: idleSince(row),
      number: row.number,
      actions: actionsFor(row),
    }),
  ]);
  return claimed.length > 0;
}

/**
 * Vapi, then Twilio, then `released_at`. Every step tolerates having been done already (Vapi 404, Twilio
 * 20404), so an interrupted release is simply run again. Numbers an organisation imported are only removed
 * from Vapi: they go back to its list (or, if it no longer has Twilio configured, are forgotten).
 */
async function finishRelease(deps: CleanupDeps, row: PhoneNumberRow, at: string): Promise<CleanupEntry> {
  try {
    if (row.vapiPhoneNumberId) await deleteInVapi(deps.vapi, row.vapiPhoneNumberId);
    if (row.source === "twilio_purchased") await releaseAtTwilio(deps, row);
    if (row.source === "twilio_imported") await returnToTwilioList(deps, row, at);
    await deps.db
      .update(phoneNumbers)
      .set({ releasedAt: at, updatedAt: at })
      .where(and(eq(phoneNumbers.id, row.id), eq(phoneNumbers.status, "released"), isNull(phoneNumbers.releasedAt)));
    deps.log.info("number_released", {
      phone_number_id: row.id,
      number: row.number,
      source: row.source,
      org_id: row.orgId,
      reason: "unused",
    });
    return entry(row, "released");
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    deps.log.error("number_release_unfinished", { phone_number_id: row.id, source: row.source, error });
    return { ...entry(row, "release_pending"), error: message };
  }
}

async function deleteInVapi(vapi: VapiClient, vapiId: string): Promise<void> {
  try {
    await vapi.deletePhoneNumber(vapiId);
  } catch (error) {
    if (!(error instanceof UpstreamError && error.isNotFound)) throw error;
  }
}

/** Only numbers Switchboard bought; the organisation stops paying for them. */
async function releaseAtTwilio(deps: CleanupDeps, row: PhoneNumberRow): Promise<void> {
  const twilio = row.orgId ? await deps.twilioForOrg(row.orgId) : null;
  if (!twilio) {
    throw new Error(
      `organization ${row.orgId} has no Twilio credentials any more: release ${row.number} in its Twilio console, or reconnect Twilio`,
    );
  }
  const sid = row.twilioSid ?? (row.number ? (await twilio.findIncomingNumber(row.number))?.sid : undefined);
  const outcome = sid ? await twilio.releaseNumber(sid) : "already_released";
  deps.log.info("twilio_number_released", { phone_number_id: row.id, org_id: row.orgId, number: row.number, twilio_sid: sid, outcome });
  await deps.db.delete(twilioNumbers).where(and(eq(twilioNumbers.phoneNumberId, row.id), eq(twilioNumbers.origin, "purchased")));
}

async function returnToTwilioList(deps: CleanupDeps, row: PhoneNumberRow, at: string): Promise<void> {
  const configured = row.orgId ? (await deps.twilioForOrg(row.orgId)) !== null : false;
  const mine = eq(twilioNumbers.phoneNumberId, row.id);
  if (configured) {
    await deps.db.update(twilioNumbers).set({ state: "listed", phoneNumberId: null, claimedAt: null, updatedAt: at }).where(mine);
  } else {
    await deps.db.delete(twilioNumbers).where(mine);
  }
}

function actionsFor(row: PhoneNumberRow): CleanupAction[] {
  const actions: CleanupAction[] = row.vapiPhoneNumberId ? ["delete_in_vapi"] : [];
  if (row.source === "twilio_purchased") actions.push("release_at_twilio");
  if (row.source === "twilio_imported") actions.push("return_to_twilio_list");
  return actions;
}

function entry(row: PhoneNumberRow, outcome: CleanupOutcome): CleanupEntry {
  return {
    phone_number_id: row.id,
    number: row.number,
    source: row.source,
    org_id: row.orgId,
    idle_since: idleSince(row),
    actions: actionsFor(row),
    outcome,
  };
}
