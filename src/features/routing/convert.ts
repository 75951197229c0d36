import { and, eq, isNotNull, ne } from "drizzle-orm";
import { assistants, phoneNumbers } from "../../db/schema";
import { listAllFromVapi } from "../../integrations/vapi-listing";
import type { Services } from "../../services";
import { webhookServer } from "../numbers/acquisition";
import { syncFallbacks } from "./fallback";
import { assistantInVapi } from "./mode";

type ConvertDeps = Pick<Services, "db" | "log" | "vapi" | "settings" | "webhookUrl">;

interface NumberConversion {
  phone_number_id: string;
  vapi_phone_number_id: string;
  /** The Vapi `assistantId` the number has, and the one the routing mode wants (null: bare). */
  from: string | null;
  to: string | null;
  outcome: "would_change" | "changed" | "failed" | "deferred";
  error?: string;
}

export interface ConversionReport {
  routing_mode: "direct" | "edge";
  dry_run: boolean;
  /** Switchboard's numbers in Vapi, and how many of them already fit the mode. */
  numbers: number;
  already_converted: number;
  changed: number;
  failed: number;
  /** Still to change (failed or deferred past `max_changes`): run it again. */
  remaining: number;
  /** Numbers made bare that got their `fallbackDestination` in this run (edge only). */
  fallbacks_set: number;
  changes: NumberConversion[];
}

/**
 * Makes every number Switchboard holds fit `ROUTING_MODE`: in `direct` each carries its assistant's Vapi id, in
 * `edge` none (bare, so Vapi asks Switchboard with `assistant-request`); both point `server` at Switchboard.
 * Vapi is listed and compared first, so a run changes only what differs: a second run, or one after a fault
 * halfway, finishes the rest. Numbers without a row are never touched.
 */
export async function convertRouting(deps: ConvertDeps, options: { dryRun: boolean; maxChanges: number }): Promise<ConversionReport> {
  const listing = await listAllFromVapi((filter) => deps.vapi.listPhoneNumbers(filter));
  const rows = await deps.db
    .select({
      id: phoneNumbers.id,
      vapiPhoneNumberId: phoneNumbers.vapiPhoneNumberId,
      vapiAssistantId: assistants.vapiAssistantId,
      assistantState: assistants.state,
    })
    .from(phoneNumbers)
    .leftJoin(assistants, eq(assistants.id, phoneNumbers.assistantId))
    .where(and(ne(phoneNumbers.status, "released"), isNotNull(phoneNumbers.vapiPhoneNumberId)));
  const inVapi = new Map(listing.items.map((n) => [n.id, n]));
  const server = webhookServer(deps);
  const report: ConversionReport = {
    routing_mode: deps.settings.ROUTING_MODE,
    dry_run: options.dryRun,
    numbers: 0,
    already_converted: 0,
    changed: 0,
    failed: 0,
    remaining: 0,
    fallbacks_set: 0,
    changes: [],
  };
  for (const row of rows) {
    const vapiNumber = inVapi.get(row.vapiPhoneNumberId!);
    if (!vapiNumber) continue; // being made, or gone: the reconciliation deals with it
    report.numbers++;
    const own = row.assistantState === "active" ? row.vapiAssistantId : null;
    const to = assistantInVapi(deps.settings, own);
    const from = vapiNumber.assistantId ?? null;
    if (from === to && vapiNumber.server?.url === server.url) {
      report.already_converted++;
      continue;
    }
    const change: NumberConversion = { phone_number_id: row.id, vapi_phone_number_id: vapiNumber.id, from, to, outcome: "would_change" };
    report.changes.push(change);
    if (options.dryRun) continue;
    if (report.changed + report.failed >= options.maxChanges) {
      change.outcome = "deferred";
      report.remaining++;
      continue;
    }
    try {
      await deps.vapi.updatePhoneNumber(vapiNumber.id, { assistantId: to, server });
      change.outcome = "changed";
      report.changed++;
    } catch (error) {
      change.outcome = "failed";
      change.error = error instanceof Error ? error.message : String(error);
      report.failed++;
      report.remaining++;
      deps.log.error("routing_conversion_failed", { phone_number_id: row.id, vapi_phone_number_id: vapiNumber.id, error });
    }
  }
  if (options.dryRun) report.remaining = report.changes.length;
  // A bare number's call depends on Switchboard's answer: the numbers just made bare get the fallback behind it now.
  const converted = report.changes.filter((c) => c.outcome === "changed").map((c) => c.phone_number_id);
  // In chunks: D1 binds at most 100 parameters a statement.
  for (let i = 0; i < converted.length; i += 90) {
    report.fallbacks_set += (await syncFallbacks(deps, { numberIds: converted.slice(i, i + 90) })).updated;
  }
  deps.log.info("routing_converted", {
    routing_mode: report.routing_mode,
    dry_run: report.dry_run,
    numbers: report.numbers,
    already_converted: report.already_converted,
    changed: report.changed,
    failed: report.failed,
    remaining: report.remaining,
  });
  return report;
}
