/**
 * The admin API's answers fit what the dashboard's browser code reads (api.ts), and what it sends fits the API:
 * this file stops compiling when a route renames, drops or retypes a field the page uses. Types only; nothing
 * imports it (the type check reads all of src/).
 */
import type { z } from "@hono/zod-openapi";
import type { errorSchema } from "../../../platform/openapi";
import type { CheckOutcome } from "../../provisioning/activation";
import type { ProvisioningNumber } from "../overview";
import type {
  AdminPhoneNumber,
  cleanupReportSchema,
  historyPageSchema,
  poolOverviewSchema,
  preProvisionBodySchema,
  preProvisionResultSchema,
} from "../schemas";
import type * as Dashboard from "./api";

type Fits<Actual extends Expected, Expected> = [Actual, Expected];

export type DashboardApiContract = [
  Fits<z.infer<typeof errorSchema>, Dashboard.ErrorBody>,
  Fits<z.infer<typeof poolOverviewSchema>, Dashboard.PoolOverview>,
  Fits<ProvisioningNumber[], Dashboard.ProvisioningNumber[]>, // the data of a provisioning event
  Fits<z.infer<typeof historyPageSchema>, Dashboard.HistoryPage>,
  Fits<{ outcome: CheckOutcome; phone_number: AdminPhoneNumber }, Dashboard.RefreshResult>,
  Fits<Dashboard.PreProvisionRequest, z.input<typeof preProvisionBodySchema>>,
  Fits<z.infer<typeof preProvisionResultSchema>, Dashboard.PreProvisionResult>,
  Fits<z.infer<typeof cleanupReportSchema>, Dashboard.CleanupReport>,
];
