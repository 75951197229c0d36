import type { ProvisioningTracker } from "./features/provisioning/tracker";
import type { UpstreamSandbox } from "./sandbox/upstream-sandbox";

/** Bindings and raw settings as the Workers runtime hands them over; parse with `loadSettings`. */
export interface Env {
  DB: D1Database;
  PROVISIONING_TRACKER: DurableObjectNamespace<ProvisioningTracker>;
  UPSTREAM_SANDBOX: DurableObjectNamespace<UpstreamSandbox>;
  /** Workers Rate Limiting binding for costly routes (optional: absent, nothing is limited). */
  COSTLY_RATE_LIMITER?: RateLimit;
  [setting: string]: unknown;
}
