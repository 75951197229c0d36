import type { CallCounter } from "./features/routing/call-counter";
import type { ProvisioningTracker } from "./features/provisioning/tracker";
import type { SandboxBinding } from "./integrations/sandbox";

/** Bindings and raw settings as the Workers runtime hands them over; parse with `loadSettings`. */
export interface Env {
  DB: D1Database;
  PROVISIONING_TRACKER: DurableObjectNamespace<ProvisioningTracker>;
  /** The account's live calls (one object, `account`): caps per organisation and in total. */
  CALL_COUNTER: DurableObjectNamespace<CallCounter>;
  /** The upstream simulator: bound only by the dev entry's config (dev/index.ts), never in production. */
  UPSTREAM_SANDBOX?: SandboxBinding;
  /** Workers Rate Limiting binding for costly routes (optional: absent, nothing is limited). */
  COSTLY_RATE_LIMITER?: RateLimit;
  [setting: string]: unknown;
}
