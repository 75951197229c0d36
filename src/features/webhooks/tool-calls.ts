import type { Db } from "../../db/client";
import type { Logger } from "../../platform/log";
import { singleLine } from "../../platform/spoken";
import type { AssistantRow } from "../assistants/view";
import { functionToolDefinitions, type ToolParameters } from "../assistants/vapi-config";
import type { BusinessData } from "../assistants/business-data";
import { assistantOfCall, vapiIdSchema, type CallFields, type VapiServerMessage } from "./call-events";

export interface ToolCallContext {
  assistant: AssistantRow;
  callId: string | null;
  toolCallId: string;
}

/** Arguments that passed the tool's JSON schema: only its properties, each of its declared type. */
type ToolArguments = Record<string, string | number>;

export type ArgumentProblem = "missing" | "invalid";

/** A function tool Switchboard answers. */
export interface Tool {
  /** A tool's answer: one line the assistant can say. */
  answer(context: ToolCallContext, args: ToolArguments): Promise<string>;
  /** What to ask the caller when an argument is missing or does not fit the tool's JSON schema. */
  askFor(field: string, problem: ArgumentProblem): string;
}

interface ToolCall {
  id: string;
  name: string | null;
  rawArguments: unknown;
}

type ToolCallResult = { toolCallId: string; name: string; result?: string; error?: string };

const NOT_SET_UP_LINE = "This assistant is not set up for that. Offer to take a message.";
const UNKNOWN_TOOL_LINE = "I can't do that on this call. I can take a message and have someone call you back.";
const UNREADABLE_ARGUMENTS_LINE = "Sorry, I didn't get the details. Could you tell me again what you'd like?";
const TROUBLE_LINE = "I'm having trouble with the calendar right now. I can take your details and have someone call you back.";

/**
 * `tool-calls`: every call answered, in order, with `{toolCallId, name, result}` (or `error`), always with HTTP
 * 200 as Vapi requires. A call reaches a tool only when its name is one of the function tools the assistant was
 * given, and its arguments (a JSON string or an object) fit that tool's JSON schema, the one Vapi was given.
 */
export async function answerToolCalls(
  db: Db,
  log: Logger,
  message: VapiServerMessage,
  fields: CallFields | null,
  tools: ReadonlyMap<string, Tool>,
  deadlineMs: number,
): Promise<{ results: ToolCallResult[] }> {
  // Vapi waits 20 s (server.timeoutSeconds) for the answer: past the deadline a tool is answered for, not awaited.
  const deadline = Date.now() + deadlineMs;
  const calls = toolCallsOf(message, log);
  const assistant = await assistantOfCall(db, fields?.vapiAssistantId ?? null);
  const given = assistant
    ? new Map(functionToolDefinitions(assistant.businessData as BusinessData).map((d) => [d.name, d.parameters]))
    : null;
  const results: ToolCallResult[] = [];
  for (const call of calls) {
    const name = call.name || "unknown";
    if (!assistant || !given) {
      log.warn("tool_call_unknown_assistant", { tool: name, vapi_assistant_id: fields?.vapiAssistantId ?? null });
      results.push({ toolCallId: call.id, name, error: NOT_SET_UP_LINE });
      continue;
    }
    const parameters = call.name === null ? undefined : given.get(call.name);
    const tool = call.name === null ? undefined : tools.get(call.name);
    if (!parameters || !tool) {
      log.warn("tool_call_unknown_tool", { org_id: assistant.orgId, assistant_id: assistant.id, tool: name.slice(0, 100) });
      results.push({ toolCallId: call.id, name, error: UNKNOWN_TOOL_LINE });
      continue;
    }
    const raw = parseArguments(call.rawArguments);
    if (!raw) {
      results.push({ toolCallId: call.id, name, result: UNREADABLE_ARGUMENTS_LINE });
      continue;
    }
    const checked = checkArguments(parameters, raw);
    if ("field" in checked) {
      results.push({ toolCallId: call.id, name, result: tool.askFor(checked.field, checked.problem) });
      continue;
    }
    try {
      const running = tool.answer({ assistant, callId: fields?.callId ?? null, toolCallId: call.id }, checked.args);
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

/**
 * The arguments as the JSON schema declares them, or the first property (in the schema's order) that is missing or
 * does not fit. Null and blank strings count as absent; properties the schema does not name are dropped.
 */
export function checkArguments(
  schema: ToolParameters,
  raw: Record<string, unknown>,
): { args: ToolArguments } | { field: string; problem: ArgumentProblem } {
  const args: ToolArguments = {};
  for (const [field, property] of Object.entries(schema.properties)) {
    const value = Object.hasOwn(raw, field) ? raw[field] : undefined;
    if (value === undefined || value === null || (typeof value === "string" && value.trim() === "")) {
      if (schema.required.includes(field)) return { field, problem: "missing" };
      continue;
    }
    if (property.type === "integer") {
      if (typeof value !== "number" || !Number.isSafeInteger(value)) return { field, problem: "invalid" };
      args[field] = value;
      continue;
    }
    if (typeof value !== "string") return { field, problem: "invalid" };
    const text = value.trim();
    if (property.pattern !== undefined && !new RegExp(property.pattern, "u").test(text)) return { field, problem: "invalid" };
    args[field] = text;
  }
  return { args };
}

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

/** The calls to answer: each needs an id to be answered by; one without a valid id cannot be, and is logged. */
function toolCallsOf(message: VapiServerMessage, log: Logger): ToolCall[] {
  // biome-ignore lint/suspicious/noExplicitAny: Vapi's payload; each field is checked where it is read below
  const list = Array.isArray(message.toolCallList) ? (message.toolCallList as Record<string, any>[]) : [];
  if (!Array.isArray(message.toolCallList))
    log.warn("webhook_message_ignored", { type: "tool-calls", field: "message.toolCallList", reason: "must be a list" });
  return list
    .filter((c, index) => {
      if (vapiIdSchema.safeParse(c?.id).success) return true;
      log.warn("webhook_message_ignored", { type: "tool-calls", field: `message.toolCallList.${index}.id`, reason: "must be a Vapi id" });
      return false;
    })
    .map((c) => {
      const name: unknown = c.function?.name ?? c.name;
      const rawArguments: unknown = c.function?.arguments ?? c.arguments ?? c.parameters ?? {};
      return { id: c.id as string, name: typeof name === "string" ? name : null, rawArguments };
    });
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
