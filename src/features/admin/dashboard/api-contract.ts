/**
 * The admin API's answers fit what the dashboard's browser code reads (api.ts), and what it sends fits the API:
 * this file stops compiling when a route renames, drops or retypes a field the page uses. Types only; nothing
 * imports it (the type check reads all of src/).
 */
import type { z } from "@hono/zod-openapi";
import type { errorSchema } from "../../../platform/openapi";
import type { CheckOutcome } from "../../provisioning/activation";
import type { importReportSchema } from "../../vapi-import/routes";
import type { PoolOverview, ProvisioningNumber } from "../overview";
import type {
  AdminPhoneNumber,
  cleanupReportSchema,
  historyPageSchema,
  poolOverviewSchema,
  poolUsageSchema,
  preProvisionBodySchema,
  preProvisionResultSchema,
} from "../schemas";
import type * as Dashboard from "./api";

type Fits<Actual extends Expected, Expected> = [Actual, Expected];

type PoolAnswer = z.infer<typeof poolOverviewSchema>;
type ImportReport = z.infer<typeof importReportSchema>;

export type DashboardApiContract = [
  Fits<z.infer<typeof errorSchema>, Dashboard.ErrorBody>,
  Fits<Omit<PoolAnswer, "last_import">, Omit<Dashboard.PoolOverview, "last_import">>,
  // The pool's schema types `last_import.summary` as any counts: what the overview puts there is the import's summary.
  Fits<PoolAnswer["last_import"], { at: string; dry_run: boolean; summary: unknown } | null>,
  Fits<PoolOverview["last_import"], Dashboard.LastImport | null>,
  Fits<ImportReport["summary"], Dashboard.ImportSummary>,
  Fits<{ at: string | null; report: ImportReport | null }, Dashboard.StoredImport>, // GET /api/admin/vapi/import
  Fits<ProvisioningNumber[], Dashboard.ProvisioningNumber[]>, // the data of a provisioning event
  Fits<z.infer<typeof historyPageSchema>, Dashboard.HistoryPage>,
  Fits<z.infer<typeof poolUsageSchema>, Dashboard.PoolUsage>,
  Fits<{ outcome: CheckOutcome; phone_number: AdminPhoneNumber }, Dashboard.RefreshResult>,
  Fits<Dashboard.PreProvisionRequest, z.input<typeof preProvisionBodySchema>>,
  Fits<z.infer<typeof preProvisionResultSchema>, Dashboard.PreProvisionResult>,
  Fits<z.infer<typeof cleanupReportSchema>, Dashboard.CleanupReport>,
];
