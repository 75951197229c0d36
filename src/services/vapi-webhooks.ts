import { z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { assistants, phoneNumbers } from "../db/schema";
import { emergencyContactOf } from "./assistants";
import type { AssistantRow } from "./assistant-view";
import type { Logger } from "../lib/log";
import type { VapiClient } from "../providers/vapi";
import { liveAddress, markActive } from "./provisioning";

/** The envelope of every Vapi server message; only the fields Switchboard reads are typed. */
export const vapiServerMessageSchema = z
  .object({
    message: z.looseObject({
      type: z.string().min(1).max(100),
      timestamp: z.number().optional(),
      call: z
        .looseObject({
          id: z.string().optional(),
          phoneNumberId: z.string().nullish(),
          assistantId: z.string().nullish(),
        })
        .nullish(),
      phoneNumber: z.looseObject({ number: z.string().nullish() }).nullish(),
    }),
  })
  .openapi("VapiServerMessage");

export type VapiServerMessage = z.infer<typeof vapiServerMessageSchema>["message"];

export interface WebhookDeps {
  db: Db;
  log: Logger;
  vapi: VapiClient;
  stopTracker: (trackerKey: string) => Promise<void>;
}

/** Messages that report a call's progress: they date the number's last call. */
const CALL_ACTIVITY = new Set(["status-update", "end-of-call-report"]);

/**
 * What every message tells about our numbers: a call on a number still provisioning (or stuck) proves it live,
 * and call activity dates its last call. Idempotent: a replay finds the number already active and the same
 * `last_call_at`, and changes nothing.
 */
export async function observeCall(deps: WebhookDeps, message: VapiServerMessage): Promise<void> {
  const vapiNumberId = message.call?.phoneNumberId;
  if (!vapiNumberId) return;
  const [row] = await deps.db.select().from(phoneNumbers).where(eq(phoneNumbers.vapiPhoneNumberId, vapiNumberId)).limit(1);
  if (!row) return;

  if (row.status === "provisioning" || row.status === "stuck") {
    const address = message.phoneNumber?.number ?? liveAddress(await deps.vapi.getPhoneNumber(vapiNumberId)) ?? null;
    if (address && (await markActive(deps, row.id, address, "webhook")) && row.trackerKey) {
      await deps.stopTracker(row.trackerKey).catch((error) => deps.log.warn("tracker_stop_failed", { phone_number_id: row.id, error }));
    }
  }

  if (CALL_ACTIVITY.has(message.type)) {
    const at = new Date(message.timestamp ?? Date.now()).toISOString();
    await deps.db
      .update(phoneNumbers)
      .set({ lastCallAt: sql`max(coalesce(${phoneNumbers.lastCallAt}, ''), ${at})` })
      .where(eq(phoneNumbers.id, row.id));
  }
}

/** The call's assistant, found by its Vapi id: the organisation every tool call and transfer is scoped to. */
export async function assistantOfCall(db: Db, message: VapiServerMessage): Promise<AssistantRow | null> {
  const vapiAssistantId = message.call?.assistantId;
  if (!vapiAssistantId) return null;
  const [row] = await db
    .select()
    .from(assistants)
    .where(and(eq(assistants.vapiAssistantId, vapiAssistantId), eq(assistants.state, "active")))
    .limit(1);
  return row ?? null;
}

/** `transfer-destination-request`: the emergency contact, or a line the assistant can say. */
export async function transferDestination(db: Db, log: Logger, message: VapiServerMessage): Promise<Record<string, unknown>> {
  const assistant = await assistantOfCall(db, message);
  const contact = assistant ? emergencyContactOf(assistant) : null;
  if (!contact) {
    log.warn("transfer_without_contact", { vapi_assistant_id: message.call?.assistantId ?? null, assistant_id: assistant?.id ?? null });
    return { error: "I'm sorry, I can't transfer you right now. I can take a message and have someone call you back." };
  }
  log.info("transfer_requested", { org_id: assistant!.orgId, assistant_id: assistant!.id });
  return {
    destination: {
      type: "number",
      number: contact.phone,
      message: "I'm connecting you with someone who can help right away. Please stay on the line.",
    },
  };
}

export interface ToolCallContext {
  assistant: AssistantRow;
  callId: string | null;
  toolCallId: string;
}

/** A tool's answer: one line the assistant can say (Vapi wants single-line strings). */
export type ToolHandler = (context: ToolCallContext, args: Record<string, unknown>) => Promise<string>;

interface ToolCall {
  id: string;
  name: string | null;
  rawArguments: unknown;
}

/**
 * `tool-calls`: every call answered, in order, with `{toolCallId, name, result}` (or `error`), always with HTTP
 * 200 as Vapi requires. Arguments may arrive as a JSON string or an object.
 */
export async function answerToolCalls(
  db: Db,
  log: Logger,
  message: VapiServerMessage,
  handlers: Record<string, ToolHandler>,
  deadlineMs: number,
): Promise<{ results: { toolCallId: string; name: string; result?: string; error?: string }[] }> {
  // Vapi waits 20 s (server.timeoutSeconds) for the answer: past the deadline a tool is answered for, not awaited.
  const deadline = Date.now() + deadlineMs;
  const calls = toolCallsOf(message);
  const assistant = await assistantOfCall(db, message);
  const results = [];
  for (const call of calls) {
    const name = call.name ?? "unknown";
    const handler = handlers[name];
    if (!assistant) {
      log.warn("tool_call_unknown_assistant", { tool: name, vapi_assistant_id: message.call?.assistantId ?? null });
      results.push({ toolCallId: call.id, name, error: "This assistant is not set up for that. Offer to take a message." });
      continue;
    }
    if (!handler) {
      results.push({ toolCallId: call.id, name, error: `Unknown tool ${name}.` });
      continue;
    }
    const args = parseArguments(call.rawArguments);
    if (!args) {
      results.push({ toolCallId: call.id, name, error: "The tool arguments were not valid JSON." });
      continue;
    }
    try {
      const running = handler({ assistant, callId: message.call?.id ?? null, toolCallId: call.id }, args);
      const result = await beforeDeadline(running, deadline);
      if (result === null) {
        log.warn("tool_call_deadline", { org_id: assistant.orgId, assistant_id: assistant.id, tool: name, deadline_ms: deadlineMs });
        running.catch((error) => log.error("tool_call_failed", { org_id: assistant.orgId, assistant_id: assistant.id, tool: name, error }));
        results.push({ toolCallId: call.id, name, result: TROUBLE_LINE });
        continue;
      }
      results.push({ toolCallId: call.id, name, result: singleLine(result) });
    } catch (error) {
      log.error("tool_call_failed", { org_id: assistant.orgId, assistant_id: assistant.id, tool: name, error });
      results.push({ toolCallId: call.id, name, result: TROUBLE_LINE });
    }
  }
  return { results };
}

const TROUBLE_LINE = "I'm having trouble with the calendar right now. I can take your details and have someone call you back.";

/** The value, or null once the deadline passed first. */
async function beforeDeadline<T>(work: Promise<T>, deadline: number): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

function toolCallsOf(message: VapiServerMessage): ToolCall[] {
  const list = Array.isArray(message.toolCallList) ? (message.toolCallList as Record<string, any>[]) : [];
  return list
    .filter((c) => typeof c?.id === "string")
    .map((c) => ({
      id: c.id as string,
      name: (c.function?.name ?? c.name ?? null) as string | null,
      rawArguments: c.function?.arguments ?? c.arguments ?? c.parameters ?? {},
    }));
}

function parseArguments(raw: unknown): Record<string, unknown> | null {
  if (typeof raw === "string") {
    try {
      const parsed = JSON.parse(raw || "{}");
      return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }
  return raw && typeof raw === "object" && !Array.isArray(raw) ? (raw as Record<string, unknown>) : null;
}

const singleLine = (text: string) => text.replace(/\s+/g, " ").trim();
