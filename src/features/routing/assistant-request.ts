import { and, eq, ne, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { assistants, organizations, phoneNumbers } from "../../db/schema";
import type { Logger } from "../../platform/log";
import type { Services } from "../../services";
import { routesAtEdge } from "./mode";
import { observeCall, type CallFields } from "../webhooks/call-events";

/** Spoken when a call reaches a number nobody answers for: never silence. */
export const NOT_IN_SERVICE = "We're sorry, this number is not in service. Please check the number and call again. Goodbye.";
/** Said before a transfer to the fallback line (the answer's `destination`, and each number's `fallbackDestination`). */
export const CONNECTING = "Please hold while I connect you.";

/** `ServerMessageResponseAssistantRequest`, the three forms Switchboard answers with. */
export type AssistantRequestAnswer =
  | { assistantId: string }
  | { destination: { type: "number"; number: string; message: string } }
  | { error: string };

/** Everything the answer needs about a number, from one D1 read by its Vapi id. */
export interface NumberRoute {
  phoneNumberId: string;
  status: string;
  orgId: string | null;
  assistantId: string | null;
  vapiAssistantId: string | null;
  assistantActive: boolean;
  fallbackPhone: string | null;
  maxConcurrentCalls: number | null;
}

/** The number, its assistant and the organisation that holds either: one statement, by the unique Vapi id. */
export async function readNumberRoute(db: Db, vapiPhoneNumberId: string): Promise<NumberRoute | null> {
  const [row] = await db
    .select({
      phoneNumberId: phoneNumbers.id,
      status: phoneNumbers.status,
      orgId: sql<string | null>`coalesce(${assistants.orgId}, ${phoneNumbers.orgId})`,
      assistantId: phoneNumbers.assistantId,
      vapiAssistantId: assistants.vapiAssistantId,
      assistantState: assistants.state,
      fallbackPhone: organizations.fallbackPhone,
      maxConcurrentCalls: organizations.maxConcurrentCalls,
    })
    .from(phoneNumbers)
    .leftJoin(assistants, eq(assistants.id, phoneNumbers.assistantId))
    .leftJoin(organizations, eq(organizations.id, sql`coalesce(${assistants.orgId}, ${phoneNumbers.orgId})`))
    .where(and(eq(phoneNumbers.vapiPhoneNumberId, vapiPhoneNumberId), ne(phoneNumbers.status, "released")))
    .limit(1);
  if (!row) return null;
  const { assistantState, ...route } = row;
  return { ...route, assistantActive: assistantState === "active" };
}

/** Where a call goes when no assistant takes it: the organisation's fallback line, else a sentence. */
export function fallbackAnswer(route: Pick<NumberRoute, "fallbackPhone"> | null): AssistantRequestAnswer {
  if (route?.fallbackPhone) return { destination: { type: "number", number: route.fallbackPhone, message: CONNECTING } };
  return { error: NOT_IN_SERVICE };
}

/**
 * The answer to `assistant-request` (Vapi waits 7.5 s at most): the Vapi assistant of the number's assistant, or
 * the organisation's fallback line when the number has none (a pool number, a deleted assistant), or a spoken
 * "not in service". Never empty, never from an upstream call.
 */
export function routeCall(route: NumberRoute | null): AssistantRequestAnswer {
  if (route?.assistantActive && route.vapiAssistantId) return { assistantId: route.vapiAssistantId };
  return fallbackAnswer(route);
}

/** Logs how a call was routed: searchable by number, organisation and outcome. */
export function logRouted(
  log: Logger,
  fields: CallFields | null,
  route: NumberRoute | null,
  answer: AssistantRequestAnswer,
  reason: string,
) {
  const outcome =
    "assistantId" in answer
      ? "assistant"
      : "destination" in answer
        ? "fallback_line"
        : answer.error === ALL_LINES_BUSY
          ? "busy"
          : "not_in_service";
  const event = {
    call_id: fields?.callId ?? null,
    vapi_phone_number_id: fields?.vapiNumberId ?? null,
    phone_number_id: route?.phoneNumberId ?? null,
    org_id: route?.orgId ?? null,
    assistant_id: route?.assistantId ?? null,
    outcome,
    reason,
  };
  if (outcome === "assistant") log.info("call_routed", event);
  else log.warn("call_routed", event);
}

type RoutingDeps = Pick<Services, "db" | "log" | "vapi" | "stopTracker" | "settings" | "calls" | "alerts">;

/** Spoken when the organisation (or the account) has as many live calls as it may, and no fallback line. */
export const ALL_LINES_BUSY = "Thank you for calling. All of our lines are busy right now. Please call again in a few minutes. Goodbye.";

/**
 * Whether the call would go over a cap: the counter admits it (and counts it live) or says which cap. If the
 * counter cannot be reached the call goes through: a cap is fairness, a silent line is a lost customer.
 */
async function overCap(deps: RoutingDeps, callId: string, route: NumberRoute): Promise<"organization_cap" | "account_cap" | null> {
  try {
    const answer = await deps.calls.admit({
      callId,
      orgId: route.orgId,
      orgCap: route.maxConcurrentCalls,
      totalCap: deps.settings.VAPI_CONCURRENCY_LIMIT,
    });
    return answer.admitted ? null : answer.reason;
  } catch (error) {
    deps.log.error("call_admission_failed", { call_id: callId, org_id: route.orgId, error });
    return null;
  }
}

/** `assistant-request`, answered from D1 in every routing mode; a message that does not fit is still answered. */
export async function answerAssistantRequest(deps: RoutingDeps, fields: CallFields | null): Promise<AssistantRequestAnswer> {
  if (!fields?.vapiNumberId) {
    const answer = fallbackAnswer(null);
    logRouted(deps.log, fields, null, answer, "the message names no phone number");
    return answer;
  }
  const route = await readNumberRoute(deps.db, fields.vapiNumberId);
  let answer = routeCall(route);
  let reason = route ? (route.assistantId ? "its assistant" : "no assistant") : "not a Switchboard number";
  if ("assistantId" in answer && routesAtEdge(deps.settings) && fields.callId) {
    const refusal = await overCap(deps, fields.callId, route!);
    if (refusal) {
      answer = route!.fallbackPhone ? fallbackAnswer(route) : { error: ALL_LINES_BUSY };
      reason =
        refusal === "organization_cap"
          ? "the organization is at its concurrent-call cap"
          : "the Vapi account is at its concurrent-call total";
    }
  }
  logRouted(deps.log, fields, route, answer, reason);
  // A call reaching a number still provisioning proves it live (rare: the one extra read is taken only then).
  if (route && (route.status === "provisioning" || route.status === "stuck")) await observeCall(deps, fields);
  return answer;
}
