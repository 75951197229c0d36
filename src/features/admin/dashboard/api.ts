/**
 * What the dashboard's browser code (client.browser.js) reads from the admin API: only the fields it uses. This
 * file imports nothing, so the browser's type check (tsconfig.dashboard.json, DOM types) can read it without the
 * server's types; api-contract.ts fails the server's type check when an answer of the API stops fitting it.
 */

/** The one error shape, as far as the page reads it (a refused request may also carry no JSON at all). */
export interface ErrorBody {
  error?: { code?: string; message?: string };
}

/** GET /api/admin/phone-pool */
export interface PoolOverview {
  stats: PoolStats;
  unassigned: UnassignedNumber[];
  provisioning: ProvisioningNumber[];
  twilio: TwilioOverview;
  alerts: Alert[];
  calls: CallsOverview;
  last_import: LastImport | null;
}

/** The pool's `calls`: live calls against the caps (`live` null: the call counter could not be read). */
export interface CallsOverview {
  routing_mode: "direct" | "edge";
  live: number | null;
  limit: number;
  organizations: { org_id: string; live: number | null; max_concurrent_calls: number | null }[];
}

/** Where a number came from: made by Switchboard, adopted from the Vapi account, an organisation's own Twilio number. */
export type NumberOrigin = "made_here" | "adopted" | "org_twilio";

export interface PoolStats {
  total: number;
  limit: number;
  assigned: number;
  unassigned: number;
  provisioning: number;
  stuck: number;
  free_numbers: number;
  free_numbers_outside: number;
  percent_used: number;
  by_origin: Record<NumberOrigin, number>;
  /** The same counts per provider: `vapi` are the free Vapi numbers, `twilio` the organisations' own. */
  providers: Record<"vapi" | "twilio", ProviderCounts>;
}

export interface ProviderCounts {
  total: number;
  assigned: number;
  unassigned: number;
  provisioning: number;
  stuck: number;
}

export interface UnassignedNumber {
  number: string | null;
  provider: string;
  origin: NumberOrigin;
  area_code: string | null;
  org_id: string | null;
  since: string;
  cleanup_after: string;
}

/** An item of the pool's `provisioning`, and of a `provisioning` event's data. */
export interface ProvisioningNumber {
  phone_number_id: string;
  status: "provisioning" | "stuck" | "failed";
  origin: NumberOrigin;
  area_code: string | null;
  assistant_name: string | null;
  attempts: number;
  max_attempts: number;
  started_at: string | null;
  deadline: string | null;
}

export interface TwilioOverview {
  number_monthly_cost: number;
  bought_this_month: number;
  bought_this_month_cost: number;
  organizations: TwilioOrganization[];
}

interface TwilioOrganization {
  org_id: string;
  configured: boolean;
  auto_purchase: boolean;
  area_code: string | null;
  numbers_total: number;
  numbers_assigned: number;
  numbers_unassigned: number;
  numbers_listed: number;
  bought_this_month: number;
  bought_this_month_cost: number;
  purchased_held: number;
  purchased_monthly_cost: number;
}

export interface Alert {
  id: number;
  kind: string;
  subject: string;
  message: string;
  created_at: string;
}

/** The pool's `last_import`: the last POST /api/admin/vapi/import, dry run or not. */
export interface LastImport {
  at: string;
  dry_run: boolean;
  summary: ImportSummary;
}

export interface ImportSummary {
  numbers_listed: number;
  assistants_listed: number;
  numbers_adopted: number;
  assistants_adopted: number;
  numbers_to_adopt: number;
  assistants_to_adopt: number;
  left_alone: number;
  already_managed: number;
  failed: number;
  remaining: number;
}

/** GET /api/admin/vapi/import: the last import's stored report (null before the first). */
export interface StoredImport {
  at: string | null;
  report: { numbers: ImportNumberEntry[]; assistants: ImportAssistantEntry[] } | null;
}

export interface ImportNumberEntry {
  vapi_phone_number_id: string;
  number: string | null;
  action: string;
  reason: string;
  outcome: string;
  error?: string;
}

export interface ImportAssistantEntry {
  vapi_assistant_id: string;
  name: string | null;
  action: string;
  reason: string;
  outcome: string;
  error?: string;
}

/** GET /api/admin/phone-pool/history */
export interface HistoryPage {
  events: HistoryEvent[];
}

export interface HistoryEvent {
  phone_number_id: string;
  number: string | null;
  event: string;
  org_id: string | null;
  assistant_id: string | null;
  assistant_name: string | null;
  created_at: string;
}

/** GET /api/admin/phone-pool/usage?days= */
export interface PoolUsage {
  days: number;
  limit: number;
  free_numbers_outside: number;
  series: UsageDay[];
}

export interface UsageDay {
  date: string;
  assigned: number;
  unassigned: number;
  provisioning: number;
  stuck: number;
  free_numbers: number;
}

/** POST /api/admin/phone-numbers/{id}/refresh */
export interface RefreshResult {
  outcome: string;
  phone_number: { number: string | null };
}

/** POST /api/admin/phone-pool/pre-provision: its body and its answer. */
export interface PreProvisionRequest {
  count: number;
  area_code?: string;
}

export interface PreProvisionResult {
  message: string;
}

/** POST /api/admin/phone-pool/cleanup?dry_run=true */
export interface CleanupReport {
  cutoff: string;
  unused_number_days: number;
  numbers: CleanupEntry[];
}

export interface CleanupEntry {
  phone_number_id: string;
  number: string | null;
  source: string;
  org_id: string | null;
  actions: string[];
  outcome: string;
  error?: string;
}
