import { z } from "zod";
import { callUpstream, invalidResponse, type UpstreamTransport } from "./http";

/** `Server` as Vapi defines it: never `secret`, `serverUrl` or `serverUrlSecret` (Vapi refuses them). */
export interface VapiServer {
  url: string;
  headers?: Record<string, string>;
  timeoutSeconds?: number;
}

export interface VapiFunctionTool {
  type: "function";
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
  server?: VapiServer;
  messages?: unknown[];
}

export interface VapiTransferCallTool {
  type: "transferCall";
  destinations?: { type: "number"; number: string; message?: string; description?: string }[];
  messages?: unknown[];
}

/** The CreateAssistantDTO fields Switchboard sends. */
export interface VapiAssistantInput {
  name?: string;
  firstMessage?: string;
  firstMessageMode?: "assistant-speaks-first" | "assistant-waits-for-user";
  model?: {
    provider: "openai";
    model: string;
    messages: { role: "system" | "assistant" | "user"; content: string }[];
    tools?: (VapiFunctionTool | VapiTransferCallTool)[];
    temperature?: number;
  };
  voice?: { provider: string; voiceId: string; model?: string };
  transcriber?: { provider: "deepgram"; model: string; language: string };
  server?: VapiServer;
  serverMessages?: string[];
  metadata?: Record<string, unknown>;
  endCallPhrases?: string[];
  maxDurationSeconds?: number;
}

/** CreateVapiPhoneNumberDTO / CreateTwilioPhoneNumberDTO fields Switchboard sends. */
type VapiPhoneNumberInput =
  | { provider: "vapi"; name?: string; numberDesiredAreaCode?: string; assistantId?: string; server?: VapiServer }
  | {
      provider: "twilio";
      number: string;
      twilioAccountSid: string;
      twilioAuthToken?: string;
      twilioApiKey?: string;
      twilioApiSecret?: string;
      smsEnabled?: boolean;
      name?: string;
      assistantId?: string;
      server?: VapiServer;
    };

/** `TransferDestinationNumber`, the form of `fallbackDestination` Switchboard sets. */
export interface VapiFallbackDestination {
  type: "number";
  number: string;
  message?: string;
}

/**
 * UpdateVapiPhoneNumberDTO: `assistantId: null` detaches the assistant. `fallbackDestination` cannot be removed:
 * the spec does not declare it nullable.
 */
interface VapiPhoneNumberPatch {
  name?: string;
  assistantId?: string | null;
  server?: VapiServer;
  fallbackDestination?: VapiFallbackDestination;
}

const assistantSchema = z.looseObject({
  id: z.string(),
  orgId: z.string(),
  name: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type VapiAssistant = z.infer<typeof assistantSchema>;

const phoneNumberSchema = z.looseObject({
  id: z.string(),
  orgId: z.string(),
  provider: z.enum(["vapi", "twilio", "vonage", "telnyx", "byo-phone-number"]),
  status: z.enum(["active", "activating", "blocked"]).optional(),
  number: z.string().optional(),
  sipUri: z.string().optional(),
  name: z.string().optional(),
  numberDesiredAreaCode: z.string().optional(),
  assistantId: z.string().nullish(),
  server: z.looseObject({ url: z.string().optional() }).nullish(),
  /** A `TransferDestinationNumber` has `number`; a `TransferDestinationSip` has `sipUri` instead. */
  fallbackDestination: z.looseObject({ type: z.string().optional(), number: z.string().optional() }).nullish(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type VapiPhoneNumber = z.infer<typeof phoneNumberSchema>;

export interface VapiListFilter {
  limit?: number;
  createdAtGe?: string;
  createdAtLt?: string;
  createdAtLe?: string;
}

export interface VapiClient {
  createAssistant(input: VapiAssistantInput): Promise<VapiAssistant>;
  getAssistant(id: string): Promise<VapiAssistant>;
  listAssistants(filter?: VapiListFilter): Promise<VapiAssistant[]>;
  updateAssistant(id: string, patch: VapiAssistantInput): Promise<VapiAssistant>;
  deleteAssistant(id: string): Promise<void>;
  createPhoneNumber(input: VapiPhoneNumberInput): Promise<VapiPhoneNumber>;
  getPhoneNumber(id: string): Promise<VapiPhoneNumber>;
  listPhoneNumbers(filter?: VapiListFilter): Promise<VapiPhoneNumber[]>;
  updatePhoneNumber(id: string, patch: VapiPhoneNumberPatch): Promise<VapiPhoneNumber>;
  deletePhoneNumber(id: string): Promise<void>;
}

/** Vapi's NestJS error body: `{message: string | string[], error, statusCode}`. */
export function describeVapiError(status: number, body: unknown): string {
  if (body && typeof body === "object" && "message" in body) {
    const message = (body as { message: unknown }).message;
    if (Array.isArray(message)) return message.map(String).join("; ");
    if (typeof message === "string") return message;
  }
  if (typeof body === "string" && body.length > 0) return body.slice(0, 300);
  return `HTTP ${status}`;
}

const retryOn = (status: number) => status === 408 || status === 429 || status >= 500;

export function createVapiClient(transport: UpstreamTransport, baseUrl: string, apiKey: string): VapiClient {
  const base = baseUrl.replace(/\/+$/, "");

  async function request<T>(
    method: "GET" | "POST" | "PATCH" | "DELETE",
    path: string,
    schema: z.ZodType<T> | null,
    body?: unknown,
  ): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${apiKey}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await callUpstream(transport, {
      service: "vapi",
      method,
      url: `${base}${path}`,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      retryOn,
      idempotent: method !== "POST",
      describeError: describeVapiError,
    });
    if (!schema) return undefined as T;
    const parsed = schema.safeParse(response.body);
    if (!parsed.success) {
      throw invalidResponse(
        transport,
        { service: "vapi", method, url: `${base}${path}` },
        parsed.error.issues[0]?.message ?? "not the expected shape",
        response.status,
        response.body,
      );
    }
    return parsed.data;
  }

  const query = (filter?: VapiListFilter) => {
    const params = new URLSearchParams();
    params.set("limit", String(filter?.limit ?? 1000));
    if (filter?.createdAtGe) params.set("createdAtGe", filter.createdAtGe);
    if (filter?.createdAtLt) params.set("createdAtLt", filter.createdAtLt);
    if (filter?.createdAtLe) params.set("createdAtLe", filter.createdAtLe);
    return `?${params}`;
  };
  const id = (value: string) => encodeURIComponent(value);

  return {
    createAssistant: (input) => request("POST", "/assistant", assistantSchema, input),
    getAssistant: (assistantId) => request("GET", `/assistant/${id(assistantId)}`, assistantSchema),
    listAssistants: (filter) => request("GET", `/assistant${query(filter)}`, z.array(assistantSchema)),
    updateAssistant: (assistantId, patch) => request("PATCH", `/assistant/${id(assistantId)}`, assistantSchema, patch),
    deleteAssistant: (assistantId) => request("DELETE", `/assistant/${id(assistantId)}`, null),
    createPhoneNumber: (input) => request("POST", "/phone-number", phoneNumberSchema, input),
    getPhoneNumber: (numberId) => request("GET", `/phone-number/${id(numberId)}`, phoneNumberSchema),
    listPhoneNumbers: (filter) => request("GET", `/phone-number${query(filter)}`, z.array(phoneNumberSchema)),
    updatePhoneNumber: (numberId, patch) => request("PATCH", `/phone-number/${id(numberId)}`, phoneNumberSchema, patch),
    deletePhoneNumber: (numberId) => request("DELETE", `/phone-number/${id(numberId)}`, null),
  };
}
