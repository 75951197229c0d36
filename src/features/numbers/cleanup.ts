import { and, asc, count, eq, gt, gte, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import type { Db } from "../../db/client";
import { phoneNumbers, twilioNumbers } from "../../db/schema";
import { UpstreamError } from "../../integrations/http";
import type { VapiClient } from "../../integrations/vapi";
import type { PhoneNumberRow } from "../assistants/view";
import { eventIfChanged } from "./events";
import { waitingInPool, waitingSince } from "./pool";
import type { Services } from "../../services";
import { raiseAlert, resolveAlert } from "../alerts/alerts";

const DAY_MS = 86_400_000;
/** Numbers selected at a time; a run takes batch after batch until its budget or its work ends. */
const BATCH_LIMIT = 100;

/** What one run may spend: wall time, and Vapi and Twilio calls (retries included) under a Worker's 1,000 subrequests. */
export interface CleanupBudget {
  wallMs: number;
  upstreamCalls: number;
}

export const CLEANUP_BUDGET: CleanupBudget = { wallMs: 60_000, upstreamCalls: 900 };

/** The subject of the one `cleanup_backlog` alert. */
export const CLEANUP_ALERT_SUBJECT = "cleanup";

type CleanupDeps = Pick<Services, "db" | "log" | "vapi" | "settings" | "twilioForOrg" | "cost" | "alerts">;

export interface CleanupOptions {
  nowMs: number;
  dryRun: boolean;
  budget?: CleanupBudget;
  /** Measures the wall time spent (tests pass a fake one). */
  clock?: () => number;
}

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
  /** Numbers still waiting when the run ended (its budget did): the next run continues with them. */
  left: number;
  stopped_at_budget: boolean;
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

/** Where a run is in the unfinished releases, in their order (`updated_at`, then id). */
interface UnfinishedPosition {
  updatedAt: string;
  id: string;
}

// Spelled as the partial index `phone_numbers_unfinished_release` is, so SQLite can use it.
const unfinishedRelease = sql`${phoneNumbers.status} = 'released' AND ${phoneNumbers.releasedAt} IS NULL`;

const unusedSince = (cutoff: string) => and(waitingInPool, lt(waitingSince, cutoff));

/**
 * Unfinished releases after `after`, and (in a real run) only those claimed before it began: a release this run
 * claimed and could not finish is not tried twice in it.
 */
function unfinishedFilter(after?: UnfinishedPosition, claimedBefore?: string): SQL | undefined {
  return and(
    unfinishedRelease,
    claimedBefore ? lt(phoneNumbers.updatedAt, claimedBefore) : undefined,
    // The `>=` bound lets the search start at the position inside the index; the OR only breaks ties.
    after
      ? and(gte(phoneNumbers.updatedAt, after.updatedAt), or(gt(phoneNumbers.updatedAt, after.updatedAt), gt(phoneNumbers.id, after.id)))
      : undefined,
  );
}

/** The queries of one batch; exported so a test can check their plans. */
export function cleanupWorkQueries(db: Db, cutoff: string, options: { after?: UnfinishedPosition; claimedBefore?: string } = {}) {
  return [
    db.select().from(phoneNumbers).where(unusedSince(cutoff)).orderBy(asc(waitingSince), asc(phoneNumbers.id)).limit(BATCH_LIMIT),
    db
      .select()
      .from(phoneNumbers)
      .where(unfinishedFilter(options.after, options.claimedBefore))
      .orderBy(asc(phoneNumbers.updatedAt), asc(phoneNumbers.id))
      .limit(BATCH_LIMIT),
  ] as const;
}

const cutoffAt = (settings: CleanupDeps["settings"], nowMs: number) => new Date(nowMs - settings.UNUSED_NUMBER_DAYS * DAY_MS).toISOString();

/** What a run would do next, a batch of each kind (one D1 round trip). Provisioning and stuck numbers are never unused. */
export async function findCleanupWork(
  deps: Pick<CleanupDeps, "db" | "settings">,
  nowMs: number,
  options: { after?: UnfinishedPosition; claimedBefore?: string } = {},
): Promise<CleanupWork> {
  const cutoff = cutoffAt(deps.settings, nowMs);
  const [unused, unfinished] = await deps.db.batch(cleanupWorkQueries(deps.db, cutoff, options));
  return { cutoff, unused, unfinished };
}

/** How many numbers still wait: unused ones, and unfinished releases after `after` (one D1 round trip). */
async function countWaiting(db: Db, cutoff: string, options: { after?: UnfinishedPosition; claimedBefore?: string }): Promise<number> {
  const [[unused], [unfinished]] = await db.batch([
    db.select({ n: count() }).from(phoneNumbers).where(unusedSince(cutoff)),
    db.select({ n: count() }).from(phoneNumbers).where(unfinishedFilter(options.after, options.claimedBefore)),
  ]);
  return (unused?.n ?? 0) + (unfinished?.n ?? 0);
}

/**
 * Whether one more release fits the budget: time left, and calls left for its worst case (Vapi, then Twilio's
 * lookup and release, each with all its retries).
 */
function budgetTracker(deps: CleanupDeps, budget: CleanupBudget, clock: () => number) {
  const started = clock();
  const callsBefore = deps.cost.upstreamTotal;
  const worstRelease = 3 * (deps.settings.UPSTREAM_MAX_RETRIES + 1);
  return () => clock() - started < budget.wallMs && deps.cost.upstreamTotal - callsBefore + worstRelease <= budget.upstreamCalls;
}

/**
 * Finds and releases unused numbers, batch after batch, until the work or the budget ends; a backlog left by
 * the budget raises `cleanup_backlog`, a run that leaves none resolves it. With `dryRun`, only says what the
 * next batch would do, and how many wait beyond it.
 */
export async function runCleanup(deps: CleanupDeps, options: CleanupOptions): Promise<CleanupReport> {
  const { report, numbers } = options.dryRun ? await planCleanup(deps, options.nowMs) : await cleanWithinBudget(deps, options);
  const full: CleanupReport = {
    dry_run: options.dryRun,
    now: new Date(options.nowMs).toISOString(),
    cutoff: report.cutoff,
    unused_number_days: deps.settings.UNUSED_NUMBER_DAYS,
    released: numbers.filter((n) => n.outcome === "released").length,
    kept: numbers.filter((n) => n.outcome === "kept").length,
    pending: numbers.filter((n) => n.outcome === "release_pending").length,
    left: report.left,
    stopped_at_budget: report.stoppedAtBudget,
    numbers,
  };
  deps.log.info("cleanup_done", {
    dry_run: options.dryRun,
    cutoff: full.cutoff,
    released: full.released,
    kept: full.kept,
    pending: full.pending,
    left: full.left,
    stopped_at_budget: full.stopped_at_budget,
  });
  return full;
}

interface RunOutcome {
  report: { cutoff: string; left: number; stoppedAtBudget: boolean };
  numbers: CleanupEntry[];
}

async function planCleanup(deps: CleanupDeps, nowMs: number): Promise<RunOutcome> {
  const work = await findCleanupWork(deps, nowMs);
  const numbers = [...work.unused.map((row) => entry(row, "would_release")), ...work.unfinished.map((row) => entry(row, "would_retry"))];
  const waiting = await countWaiting(deps.db, work.cutoff, {});
  return { report: { cutoff: work.cutoff, left: waiting - numbers.length, stoppedAtBudget: false }, numbers };
}

async function cleanWithinBudget(deps: CleanupDeps, options: CleanupOptions): Promise<RunOutcome> {
  const fits = budgetTracker(deps, options.budget ?? CLEANUP_BUDGET, options.clock ?? Date.now);
  const claimedBefore = new Date(options.nowMs).toISOString();
  const cutoff = cutoffAt(deps.settings, options.nowMs);
  const numbers: CleanupEntry[] = [];
  let after: UnfinishedPosition | undefined;
  let stoppedAtBudget = false;
  for (;;) {
    const work = await findCleanupWork(deps, options.nowMs, { after, claimedBefore });
    const selected = work.unused.length + work.unfinished.length;
    if (selected === 0) break;
    const entries = await applyCleanup(deps, work, options.nowMs, fits);
    numbers.push(...entries);
    const retried = work.unfinished.slice(0, Math.max(0, entries.length - work.unused.length));
    const last = retried[retried.length - 1];
    if (last) after = { updatedAt: last.updatedAt, id: last.id };
    if (entries.length < selected) {
      stoppedAtBudget = true;
      break;
    }
  }
  const left = stoppedAtBudget ? await countWaiting(deps.db, cutoff, { after, claimedBefore }) : 0;
  await recordBacklog(deps, left, numbers.length);
  return { report: { cutoff, left, stoppedAtBudget }, numbers };
}

async function recordBacklog(deps: CleanupDeps, left: number, handled: number): Promise<void> {
  if (left === 0) {
    await resolveAlert(deps.db, "cleanup_backlog", CLEANUP_ALERT_SUBJECT);
    return;
  }
  await raiseAlert(
    deps.db,
    deps.log,
    {
      kind: "cleanup_backlog",
      subject: CLEANUP_ALERT_SUBJECT,
      message: `The cleanup ran out of its budget after ${handled} numbers with ${left} still waiting; the next run continues with them.`,
      detail: { left, handled },
    },
    deps.alerts,
  );
}

/**
 * Releases each unused number: first the row, by a guarded UPDATE that re-checks "active, unassigned, idle
 * since before the cutoff" in the same statement (a number assigned meanwhile is not touched), then Vapi and
 * Twilio. Then the releases an earlier run left unfinished. Stops early, the rest untouched, once `fits` says no.
 */
export async function applyCleanup(
  deps: CleanupDeps,
  work: CleanupWork,
  nowMs: number,
  fits: () => boolean = () => true,
): Promise<CleanupEntry[]> {
  const at = new Date(nowMs).toISOString();
  const entries: CleanupEntry[] = [];
  for (const row of work.unused) {
    if (!fits()) return entries;
    if (!(await claimForRelease(deps.db, row, work.cutoff, at))) {
      deps.log.info("cleanup_number_kept", { phone_number_id: row.id, reason: "assigned or changed since it was selected" });
      entries.push(entry(row, "kept"));
      continue;
    }
    entries.push(await finishRelease(deps, row, at));
  }
  for (const row of work.unfinished) {
    if (!fits()) return entries;
    entries.push(await finishRelease(deps, row, at));
  }
  return entries;
}

/** Marks the row released (not yet finished: `released_at` stays null) and records it, if it is still unused. */
async function claimForRelease(db: Db, row: PhoneNumberRow, cutoff: string, at: string): Promise<boolean> {
  const [claimed] = await db.batch([
    db
      .update(phoneNumbers)
      .set({ status: "released", releasedAt: null, nextCheckAt: null, updatedAt: at })
      .where(
        and(eq(phoneNumbers.id, row.id), isNull(phoneNumbers.assistantId), eq(phoneNumbers.status, "active"), lt(waitingSince, cutoff)),
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
