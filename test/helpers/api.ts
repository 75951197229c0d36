import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { exports, env } from "cloudflare:workers";
import devWorker from "../../dev/index";
import { SignJWT } from "jose";
import { TEST_SETTINGS } from "../settings";
import { sandboxStub, type SandboxFault } from "../../dev/sandbox/upstream-sandbox";
import type { SeedAssistantOptions, SeedNumberOptions } from "../../dev/sandbox/vapi-sim";

export interface TokenClaims {
  org?: string | null;
  role?: string;
  sub?: string;
  audience?: string;
  expiresIn?: string | number;
  secret?: string;
}

/** A user token as the frontend would send it. */
export async function token(claims: TokenClaims = {}): Promise<string> {
  const payload: Record<string, unknown> = { role: claims.role ?? "member" };
  const org = claims.org === undefined ? "org-a" : claims.org;
  if (org !== null) payload.org_id = org;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(claims.sub ?? "user-1")
    .setAudience(claims.audience ?? TEST_SETTINGS.AUTH_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(claims.expiresIn ?? "1h")
    .sign(new TextEncoder().encode(claims.secret ?? TEST_SETTINGS.AUTH_JWT_SECRET));
}

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

/** Calls the worker as a client would, through its real fetch handler. */
export async function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  const bearer = options.token === undefined ? await token() : options.token;
  if (bearer) headers.set("Authorization", `Bearer ${bearer}`);
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  }
  if (options.rawBody !== undefined && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  return exports.default.fetch(new Request(`https://switchboard.test${path}`, { method, headers, body, redirect: "manual" }));
}

/**
 * Sends a request whose body is a stream to the dev worker in this isolate, where the body stays the test's own
 * stream and the bytes read from it are exact. Across the loopback of `call` (`exports.default`), a body the
 * worker refuses unread breaks workerd's internal pipe, which it logs as "disconnected: read end of pipe was
 * aborted" after the test has passed.
 */
export async function sendStreamed(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await devWorker.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export async function json<T = any>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

/** The sandbox's RPC methods, typed loosely for assertions (its JSON is deep for the RPC type mapper). */
export interface SandboxControl {
  reset(): Promise<void>;
  injectFault(fault: SandboxFault): Promise<void>;
  clearFaults(): Promise<void>;
  requests(
    service?: "vapi" | "twilio" | "google" | "alerts",
  ): Promise<{ id: number; service: string; method: string; path: string; status: number; body: any; at: string }[]>;
  clearRequests(): Promise<void>;
  advanceClock(seconds: number): Promise<void>;
  vapiAssistants(): Promise<Record<string, any>[]>;
  vapiPhoneNumbers(): Promise<Record<string, any>[]>;
  seedVapiPhoneNumber(options?: SeedNumberOptions): Promise<{ id: string; number: string }>;
  seedVapiPhoneNumbers(options: SeedNumberOptions[]): Promise<{ id: string; number: string }[]>;
  seedVapiAssistants(options: SeedAssistantOptions[]): Promise<{ id: string }[]>;
  setVapiPhoneNumberStatus(id: string, status: "active" | "activating" | "blocked"): Promise<void>;
  seedTwilioAccount(seed: {
    accountSid: string;
    authToken: string;
    type?: "Trial" | "Full";
    apiKeys?: { sid: string; secret: string }[];
    numbers?: string[];
  }): Promise<void>;
  markTwilioNumberTaken(phoneNumber: string): Promise<void>;
  twilioNumbers(accountSid: string): Promise<{ sid: string; phoneNumber: string; friendlyName: string }[]>;
  /** `{location}`: the redirect to the callback; throws with the error Google's page would show. */
  googleAuthorizeOutcome(url: string): Promise<{ location: string } | { status: number; error: string; message: string }>;
  googleSetConsent(consent: { grantScopes?: string[]; deny?: boolean }): Promise<void>;
  googleRevokeAll(): Promise<void>;
  googleEvents(calendarId?: string): Promise<Record<string, any>[]>;
  googleAddBusy(busy: { start: string; end: string; calendarId?: string }): Promise<{ id: string }>;
  googleExpireAccessTokens(): Promise<void>;
}

export const sandbox = () => sandboxStub(env) as unknown as SandboxControl;

export const sampleBusiness = {
  business_name: "Cool Breeze HVAC",
  industry: "HVAC",
  services: ["AC repair", "Furnace installation"],
  hours: { mon: [{ open: "08:00", close: "17:00" }], tue: [{ open: "08:00", close: "17:00" }] },
  timezone: "America/Chicago",
  address: "12 Main St, Austin, TX",
};

/** Row counts of every table of the record, to prove a failed request wrote nothing. */
export async function tableCounts(): Promise<Record<string, number>> {
  const tables = ["assistants", "phone_numbers", "phone_number_events", "alerts", "idempotency_keys"];
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>();
    counts[table] = row?.n ?? 0;
  }
  return counts;
}
