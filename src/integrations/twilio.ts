import { z } from "zod";
import { callUpstream, invalidResponse, UpstreamError, type UpstreamResponse, type UpstreamTransport } from "./http";

/** Basic auth with the API key when one is given, else the auth token; the path always uses the AC account SID. */
export interface TwilioCredentials {
  accountSid: string;
  authToken?: string;
  apiKeySid?: string;
  apiKeySecret?: string;
}

interface TwilioAccount {
  sid: string;
  friendlyName: string | null;
  status: string | null;
  type: string | null;
}

interface TwilioIncomingNumber {
  sid: string;
  phoneNumber: string;
  friendlyName: string | null;
  capabilities?: { voice?: boolean };
}

interface TwilioAvailableNumber {
  phoneNumber: string;
  friendlyName: string | null;
  locality: string | null;
  region: string | null;
}

export interface TwilioClient {
  fetchAccount(): Promise<TwilioAccount>;
  /** The account's number with exactly this E.164 value, or null. */
  findIncomingNumber(phoneNumber: string): Promise<TwilioIncomingNumber | null>;
  listIncomingNumbers(): Promise<TwilioIncomingNumber[]>;
  searchLocalNumbers(opts: { areaCode?: string; limit?: number }): Promise<TwilioAvailableNumber[]>;
  buyNumber(opts: { phoneNumber: string; friendlyName: string }): Promise<TwilioIncomingNumber>;
  releaseNumber(sid: string): Promise<"released" | "already_released">;
}

/** Twilio refused a request: its error `code` (null when the body was not Twilio's) and a sentence a person can act on. */
export class TwilioApiError extends UpstreamError {
  constructor(
    readonly code: number | null,
    readonly userMessage: string,
    message: string,
    status: number,
    body: unknown,
    retryAfterSeconds?: number,
  ) {
    super("twilio", "http", message, status, body, retryAfterSeconds);
    this.name = "TwilioApiError";
  }
}

/** Twilio's error code, when `error` is a Twilio refusal. */
export function twilioErrorCode(error: unknown): number | null {
  return error instanceof TwilioApiError ? error.code : null;
}

const errorBodySchema = z.looseObject({ code: z.number().int().nullish(), message: z.string().nullish() });

/** Twilio's `{code, message, more_info, status}`, or whatever else came back (an HTML page from a proxy, nothing). */
function readErrorBody(status: number, body: unknown): { code: number | null; message: string } {
  const parsed = errorBodySchema.safeParse(body);
  if (parsed.success && (parsed.data.code != null || parsed.data.message)) {
    return { code: parsed.data.code ?? null, message: parsed.data.message ?? `HTTP ${status}` };
  }
  if (typeof body === "string" && body.trim()) return { code: null, message: `[HTTP ${status}] ${body.trim().slice(0, 200)}` };
  return { code: null, message: `[HTTP ${status}] Failed to execute request` };
}

function describeTwilioError(status: number, body: unknown): string {
  const { code, message } = readErrorBody(status, body);
  return code === null ? message : `Twilio error ${code}: ${message}`;
}

/** What the call was about, so messages can name the number or area code. */
interface ErrorContext {
  phoneNumber?: string;
  areaCode?: string;
}

export function twilioUserMessage(code: number | null, status: number, twilioMessage: string, context: ErrorContext = {}): string {
  const number = context.phoneNumber ? `The number ${context.phoneNumber}` : "That number";
  switch (code) {
    case 20003:
      return "Twilio rejected the Account SID and Auth Token (or API key). Check them in the Twilio console (Account → API keys & tokens) and enter them again.";
    case 20008:
      return "These are Twilio test credentials, which cannot manage numbers; use the live Account SID and Auth Token (or an API key).";
    case 20403:
      return "Twilio refused API access for this account (it may be suspended or closed); check the account in the Twilio console.";
    case 70051:
      return "The Twilio API key lacks the Phone Numbers permission; give it that permission in the Twilio console or use another key.";
    case 20404:
      return "Twilio could not find it in this account: it may have been released, or belong to another account.";
    case 20429:
      return "Twilio is rate limiting requests for this account; try again in a minute.";
    case 21404:
    case 10002:
      return "Trial Twilio accounts may hold only one number; upgrade the account in the Twilio console to add more numbers.";
    case 21421:
      return `${number} is not a valid phone number for Twilio; use E.164 format, e.g. +14155550123.`;
    case 21422:
      return `${number} is no longer available on Twilio; pick another number.`;
    case 21451:
      return context.areaCode
        ? `${context.areaCode} is not a valid area code; use a 3-digit US area code such as 415.`
        : "That is not a valid area code; use a 3-digit US area code such as 415.";
    case 21452:
      return context.areaCode
        ? `Twilio has no numbers available in area code ${context.areaCode}; try a nearby area code.`
        : "Twilio has no numbers available in that area code; try a nearby area code.";
  }
  if (status === 429) return "Twilio is rate limiting requests for this account; try again in a minute.";
  if (status === 401) return twilioUserMessage(20003, status, twilioMessage);
  return code === null ? `Twilio refused the request: ${twilioMessage}` : `Twilio refused the request (error ${code}): ${twilioMessage}`;
}

const incomingNumberSchema = z.looseObject({
  sid: z.string(),
  phone_number: z.string(),
  friendly_name: z.string().nullish(),
  capabilities: z.looseObject({ voice: z.boolean().nullish() }).nullish(),
});
const incomingPageSchema = z.looseObject({
  incoming_phone_numbers: z.array(incomingNumberSchema),
  next_page_uri: z.string().nullish(),
});
const availablePageSchema = z.looseObject({
  available_phone_numbers: z.array(
    z.looseObject({
      phone_number: z.string(),
      friendly_name: z.string().nullish(),
      locality: z.string().nullish(),
      region: z.string().nullish(),
    }),
  ),
});
const accountSchema = z.looseObject({
  sid: z.string(),
  friendly_name: z.string().nullish(),
  status: z.string().nullish(),
  type: z.string().nullish(),
});

function toIncomingNumber(item: z.infer<typeof incomingNumberSchema>): TwilioIncomingNumber {
  const result: TwilioIncomingNumber = { sid: item.sid, phoneNumber: item.phone_number, friendlyName: item.friendly_name ?? null };
  if (item.capabilities) result.capabilities = item.capabilities.voice == null ? {} : { voice: item.capabilities.voice };
  return result;
}

/** Twilio asks callers to retry only 429 (20429: "never processed and is always safe to retry"). */
const retryOn = (status: number) => status === 429;
const PAGE_SIZE = 100;
/** Twilio returns at most 30 available numbers, whatever PageSize says. */
const searchPageSize = (limit = 20) => Math.min(Math.max(Math.trunc(limit), 1), 30);
const MAX_PAGES = 20;

export function createTwilioClient(transport: UpstreamTransport, baseUrl: string, credentials: TwilioCredentials): TwilioClient {
  const base = baseUrl.replace(/\/+$/, "");
  const account = `/2010-04-01/Accounts/${encodeURIComponent(credentials.accountSid)}`;
  const authorization = basicAuth(credentials);

  async function send(
    method: "GET" | "POST" | "DELETE",
    path: string,
    context: ErrorContext,
    form?: URLSearchParams,
  ): Promise<UpstreamResponse> {
    const headers: Record<string, string> = { Authorization: authorization, Accept: "application/json" };
    if (form) headers["Content-Type"] = "application/x-www-form-urlencoded";
    try {
      return await callUpstream(transport, {
        service: "twilio",
        method,
        url: `${base}${path}`,
        headers,
        body: form?.toString(),
        retryOn,
        // A purchase or release that timed out may have happened: never repeat it blindly.
        idempotent: method === "GET",
        fullJitter: true,
        describeError: describeTwilioError,
      });
    } catch (error) {
      if (!(error instanceof UpstreamError) || error.failure !== "http" || error.status === undefined) throw error;
      const { code, message } = readErrorBody(error.status, error.body);
      throw new TwilioApiError(
        code,
        twilioUserMessage(code, error.status, message, context),
        error.message,
        error.status,
        error.body,
        error.retryAfterSeconds,
      );
    }
  }

  async function request<T>(
    method: "GET" | "POST" | "DELETE",
    path: string,
    schema: z.ZodType<T>,
    context: ErrorContext = {},
    form?: URLSearchParams,
  ): Promise<T> {
    const response = await send(method, path, context, form);
    const parsed = schema.safeParse(response.body);
    if (!parsed.success) {
      throw invalidResponse(
        transport,
        { service: "twilio", method, url: `${base}${path}` },
        parsed.error.issues[0]?.message ?? "not the expected shape",
        response.status,
        response.body,
      );
    }
    return parsed.data;
  }

  async function listPages(query: URLSearchParams, context: ErrorContext = {}): Promise<TwilioIncomingNumber[]> {
    const numbers: TwilioIncomingNumber[] = [];
    let path: string | null = `${account}/IncomingPhoneNumbers.json?${query}`;
    for (let page = 0; path && page < MAX_PAGES; page++) {
      const body: z.infer<typeof incomingPageSchema> = await request("GET", path, incomingPageSchema, context);
      numbers.push(...body.incoming_phone_numbers.map(toIncomingNumber));
      // Relative to the API base; anything else is not followed (the credentials must not go elsewhere).
      const next = body.next_page_uri;
      path = next?.startsWith("/2010-04-01/") ? next : null;
    }
    if (path) transport.log.warn("twilio_list_truncated", { pages: MAX_PAGES, numbers: numbers.length });
    return numbers;
  }

  return {
    async fetchAccount() {
      const body = await request("GET", `${account}.json`, accountSchema);
      return { sid: body.sid, friendlyName: body.friendly_name ?? null, status: body.status ?? null, type: body.type ?? null };
    },

    async findIncomingNumber(phoneNumber) {
      const numbers = await listPages(new URLSearchParams({ PhoneNumber: phoneNumber, PageSize: String(PAGE_SIZE) }), { phoneNumber });
      // The PhoneNumber filter also matches partial numbers.
      return numbers.find((n) => n.phoneNumber === phoneNumber) ?? null;
    },

    listIncomingNumbers: () => listPages(new URLSearchParams({ PageSize: String(PAGE_SIZE) })),

    async searchLocalNumbers(opts) {
      const query = new URLSearchParams({ VoiceEnabled: "true", PageSize: String(searchPageSize(opts.limit)) });
      if (opts.areaCode) query.set("AreaCode", opts.areaCode);
      const body = await request("GET", `${account}/AvailablePhoneNumbers/US/Local.json?${query}`, availablePageSchema, {
        areaCode: opts.areaCode,
      });
      return body.available_phone_numbers.map((n) => ({
        phoneNumber: n.phone_number,
        friendlyName: n.friendly_name ?? null,
        locality: n.locality ?? null,
        region: n.region ?? null,
      }));
    },

    async buyNumber(opts) {
      const form = new URLSearchParams({ PhoneNumber: opts.phoneNumber, FriendlyName: opts.friendlyName });
      const body = await request(
        "POST",
        `${account}/IncomingPhoneNumbers.json`,
        incomingNumberSchema,
        { phoneNumber: opts.phoneNumber },
        form,
      );
      return toIncomingNumber(body);
    },

    async releaseNumber(sid) {
      try {
        await send("DELETE", `${account}/IncomingPhoneNumbers/${encodeURIComponent(sid)}.json`, {});
        return "released";
      } catch (error) {
        if (twilioErrorCode(error) === 20404) return "already_released";
        throw error;
      }
    },
  };
}

function basicAuth(credentials: TwilioCredentials): string {
  const { accountSid, authToken, apiKeySid, apiKeySecret } = credentials;
  if (apiKeySid && apiKeySecret) return `Basic ${btoa(`${apiKeySid}:${apiKeySecret}`)}`;
  if (authToken) return `Basic ${btoa(`${accountSid}:${authToken}`)}`;
  throw new Error("Twilio credentials need an auth token, or an API key SID and secret");
}
