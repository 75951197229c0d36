import type { VapiAccountRow } from "../numbers/account";

/** What the import does with a Vapi number. */
export type NumberAction = "join_pool" | "join_pool_activating" | "with_assistant" | "leave" | "managed";
/** What the import does with a Vapi assistant. */
export type AssistantAction = "adopt" | "leave" | "managed";
/** `would_adopt` on a dry run; `deferred` past `max_changes` (the next run does it); `unchanged` for what is left or managed. */
export type ImportOutcome = "would_adopt" | "adopted" | "not_adopted" | "failed" | "deferred" | "unchanged";

export interface NumberEntry {
  vapi_phone_number_id: string;
  number: string | null;
  provider: string;
  vapi_status: string | null;
  vapi_assistant_id: string | null;
  action: NumberAction;
  /** The organisation whose pool (or assistant) it joins; null: the shared pool, or not adopted. */
  org_id: string | null;
  reason: string;
  outcome: ImportOutcome;
  phone_number_id: string | null;
  error?: string;
}

export interface AssistantEntry {
  vapi_assistant_id: string;
  name: string | null;
  action: AssistantAction;
  org_id: string | null;
  /** The number adopted with it, if any. */
  vapi_phone_number_id: string | null;
  reason: string;
  outcome: ImportOutcome;
  assistant_id: string | null;
  error?: string;
}

export interface ImportSummary {
  numbers_listed: number;
  assistants_listed: number;
  numbers_to_adopt: number;
  assistants_to_adopt: number;
  numbers_adopted: number;
  assistants_adopted: number;
  left_alone: number;
  already_managed: number;
  failed: number;
  /** Planned but not done this run (failed, deferred or changed meanwhile): run it again. */
  remaining: number;
}

export interface ImportReport {
  dry_run: boolean;
  summary: ImportSummary;
  free_numbers: {
    limit: number;
    /** Free Vapi numbers Switchboard's rows hold (adopted ones included). */
    held_by_switchboard: number;
    /** Free Vapi numbers the account holds that Switchboard does not manage: they count against the limit too. */
    held_outside: number;
    /** New free numbers Switchboard may still ask Vapi for. */
    room: number;
  };
  numbers: NumberEntry[];
  assistants: AssistantEntry[];
}

/** What is stored as the last report: the summary and the entries that need reading, at most this many of each. */
const STORED_ENTRIES = 100;

export function toStoredReport(report: ImportReport): Record<string, unknown> {
  const first = <T extends { action: string }>(entries: T[]) => entries.filter((e) => e.action !== "managed").slice(0, STORED_ENTRIES);
  return { ...report, numbers: first(report.numbers), assistants: first(report.assistants) };
}

export function lastImportOf(account: VapiAccountRow[]): { at: string; dry_run: boolean; summary: ImportSummary } | null {
  const row = account[0];
  if (!row?.lastImport || !row.lastImportAt) return null;
  const stored = row.lastImport as unknown as ImportReport;
  return { at: row.lastImportAt, dry_run: stored.dry_run, summary: stored.summary };
}

export function summarize(report: Pick<ImportReport, "numbers" | "assistants">): ImportSummary {
  const numbers = report.numbers;
  const assistants = report.assistants;
  const planned = (e: { action: string }) => e.action !== "leave" && e.action !== "managed";
  const entries = [...numbers, ...assistants];
  return {
    numbers_listed: numbers.length,
    assistants_listed: assistants.length,
    numbers_to_adopt: numbers.filter(planned).length,
    assistants_to_adopt: assistants.filter(planned).length,
    numbers_adopted: numbers.filter((e) => e.outcome === "adopted").length,
    assistants_adopted: assistants.filter((e) => e.outcome === "adopted").length,
    left_alone: entries.filter((e) => e.action === "leave").length,
    already_managed: entries.filter((e) => e.action === "managed").length,
    failed: entries.filter((e) => e.outcome === "failed").length,
    remaining: entries.filter((e) => ["failed", "deferred", "not_adopted"].includes(e.outcome)).length,
  };
}
