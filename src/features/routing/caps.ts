import type { Services } from "../../services";
import { raiseAlert, resolveAlert } from "../alerts/alerts";
import type { CallFields } from "../webhooks/call-events";
import type { LiveCalls } from "./call-counter";

type CapDeps = Pick<Services, "db" | "log" | "settings" | "calls" | "alerts">;

/** Who a call on a number counts against: the organisation holding the number (or its assistant), and its cap. */
export interface CallHolder {
  orgId: string | null;
  maxConcurrentCalls: number | null;
}

/**
 * Counts a call event in the account's counter (in progress, ended; replays and late events change nothing
 * there). Over a cap (possible in `direct` routing, where Vapi routes without asking) raises `calls_over_cap`; a
 * call ending below the cap resolves it. A counter that cannot be reached costs the count, never the webhook.
 */
export async function countCall(deps: CapDeps, fields: CallFields, holder: CallHolder): Promise<void> {
  if (!fields.callLife || !fields.callId) return;
  let live: LiveCalls;
  try {
    live = await deps.calls.observe({ callId: fields.callId, orgId: holder.orgId, event: fields.callLife });
  } catch (error) {
    deps.log.error("call_count_failed", { call_id: fields.callId, org_id: holder.orgId, error });
    return;
  }
  const ofOrg = holder.orgId ? (live.byOrg.find((o) => o.orgId === holder.orgId)?.live ?? 0) : 0;
  const total = deps.settings.VAPI_CONCURRENCY_LIMIT;
  const checks = [
    { subject: "account", live: live.total, cap: total as number | null, who: "The Vapi account" },
    { subject: holder.orgId, live: ofOrg, cap: holder.maxConcurrentCalls, who: `Organization ${holder.orgId}` },
  ];
  for (const check of checks) {
    if (!check.subject || check.cap === null) continue;
    if (fields.callLife === "live" && check.live > check.cap) {
      deps.log.warn("calls_over_cap", { subject: check.subject, live: check.live, cap: check.cap, call_id: fields.callId });
      await raiseAlert(
        deps.db,
        deps.log,
        {
          kind: "calls_over_cap",
          subject: check.subject,
          message:
            `${check.who} has ${check.live} live calls, over its cap of ${check.cap}. In direct routing Vapi routes calls without asking ` +
            "Switchboard, so caps are measured, not enforced: switch to ROUTING_MODE=edge to enforce them, or raise the cap.",
          detail: { live: check.live, cap: check.cap },
        },
        deps.alerts,
      ).catch((error) => deps.log.error("alert_failed", { error }));
    } else if (fields.callLife === "ended" && check.live <= check.cap) {
      await resolveAlert(deps.db, "calls_over_cap", check.subject).catch((error) => deps.log.error("alert_failed", { error }));
    }
  }
}
