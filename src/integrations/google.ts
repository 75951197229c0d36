import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet } from "jose";
import { z } from "zod";
import { callUpstream, invalidResponse, UpstreamError, type UpstreamResponse, type UpstreamTransport } from "./http";

/** The scopes Switchboard asks for: identity, then freeBusy (`calendar.events` does not authorize it) and event writes. */
export const GOOGLE_CALENDAR_SCOPES = [
  "openid",
  "email",
  "https://www.googleapis.com/auth/calendar.events",
  "https://www.googleapis.com/auth/calendar.freebusy",
] as const;

const GOOGLE_ISSUERS = ["https://accounts.google.com", "accounts.google.com"];

export interface GoogleUrls {
  oauthUrl: string;
  tokenUrl: string;
  revokeUrl: string;
  jwksUrl: string;
  apiUrl: string;
}

interface GoogleOAuthClient {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

interface GoogleTokens {
  accessToken: string;
  /** Seconds from now. */
  expiresIn: number;
  /** Only on a code exchange with `access_type=offline` (and `prompt=consent` on reconnects); a refresh keeps the old one. */
  refreshToken: string | null;
  /** The granted scopes; empty when Google left `scope` out. */
  scopes: string[];
  idToken: string | null;
  tokenType: string;
}

interface GoogleIdentity {
  /** Stable and never reused: the account's key (an email may change or be reused). */
  sub: string;
  email: string | null;
  emailVerified: boolean;
}

interface FreeBusyQuery {
  timeMin: string;
  timeMax: string;
  timeZone: string;
  calendarIds: string[];
}

/** A calendar with `errors` has no busy data: its availability is unknown, never free. */
interface FreeBusyCalendar {
  busy: { start: string; end: string }[];
  errors: { domain: string; reason: string }[];
}

interface GoogleEventTime {
  dateTime: string;
  timeZone: string;
}

interface GoogleEventInput {
  /** base32hex (a–v, 0–9), 5–1024 characters, unique per calendar: a retry with the same id answers 409 duplicate. */
  id: string;
  summary: string;
  description?: string;
  start: GoogleEventTime;
  end: GoogleEventTime;
  attendees?: { email: string; displayName?: string }[];
  extendedProperties?: { private?: Record<string, string> };
}

const eventTimeSchema = z.looseObject({ dateTime: z.string().optional(), date: z.string().optional(), timeZone: z.string().optional() });
const eventSchema = z.looseObject({
  id: z.string(),
  status: z.string().optional(),
  summary: z.string().optional(),
  description: z.string().optional(),
  htmlLink: z.string().optional(),
  start: eventTimeSchema,
  end: eventTimeSchema,
  created: z.string().optional(),
  extendedProperties: z.looseObject({ private: z.record(z.string(), z.string()).optional() }).optional(),
});
type GoogleEvent = z.infer<typeof eventSchema>;

interface GoogleCalendar {
  id: string;
  timeZone: string | null;
  summary: string | null;
}

export interface GoogleClient {
  authorizationUrl(opts: { state: string; codeChallenge: string; scopes: readonly string[]; loginHint?: string }): string;
  exchangeCode(opts: { code: string; codeVerifier: string }): Promise<GoogleTokens>;
  refresh(refreshToken: string): Promise<GoogleTokens>;
  verifyIdToken(idToken: string): Promise<GoogleIdentity>;
  /** A 400 means the token was already revoked or never valid: the grant is gone either way. */
  revoke(token: string): Promise<"revoked" | "already_invalid">;
  freeBusy(accessToken: string, query: FreeBusyQuery): Promise<Record<string, FreeBusyCalendar>>;
  insertEvent(
    accessToken: string,
    calendarId: string,
    event: GoogleEventInput,
    options: { sendUpdates: "none" | "all" | "externalOnly" },
  ): Promise<GoogleEvent>;
  getEvent(accessToken: string, calendarId: string, eventId: string): Promise<GoogleEvent | null>;
  /** Null when the granted scopes do not allow reading the calendar (ours do not: it needs calendar.readonly). */
  getCalendar(accessToken: string, calendarId: string): Promise<GoogleCalendar | null>;
}

/** The token or revoke endpoint refused: `invalid_grant` means the user must reconnect; retrying is useless. */
export class GoogleOAuthError extends UpstreamError {
  constructor(
    readonly oauthError: string,
    readonly description: string | null,
    message: string,
    status: number,
    body: unknown,
    retryAfterSeconds?: number,
  ) {
    super("google", "http", message, status, body, retryAfterSeconds);
    this.name = "GoogleOAuthError";
  }

  get needsReconnect(): boolean {
    return this.oauthError === "invalid_grant";
  }
}

/** The Calendar API refused: Google's `errors[0].reason` ("duplicate", "authError", "rateLimitExceeded", "notFound"…). */
export class GoogleApiError extends UpstreamError {
  constructor(
    readonly reason: string | null,
    readonly googleStatus: string | null,
    message: string,
    status: number,
    body: unknown,
    retryAfterSeconds?: number,
  ) {
    super("google", "http", message, status, body, retryAfterSeconds);
    this.name = "GoogleApiError";
  }

  /** The event id already exists: the booking was made (by us, on an earlier attempt). */
  get isDuplicate(): boolean {
    return this.status === 409;
  }

  /** 429, or the 403 Google uses for per-user and per-project quotas: back off, don't reconnect. */
  get isRateLimited(): boolean {
    return this.status === 429 || (this.status === 403 && (this.reason === "rateLimitExceeded" || this.reason === "userRateLimitExceeded"));
  }
}

/** The id_token did not verify (signature, issuer, audience, expiry). */
export class GoogleIdTokenError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "GoogleIdTokenError";
  }
}

const oauthErrorSchema = z.looseObject({ error: z.string(), error_description: z.string().nullish() });
const apiErrorSchema = z.looseObject({
  error: z.looseObject({
    code: z.number().optional(),
    message: z.string().optional(),
    status: z.string().optional(),
    errors: z.array(z.looseObject({ reason: z.string().optional(), message: z.string().optional() })).optional(),
  }),
});

function readOAuthError(body: unknown): { error: string; description: string | null } | null {
  const parsed = oauthErrorSchema.safeParse(body);
  return parsed.success ? { error: parsed.data.error, description: parsed.data.error_description ?? null } : null;
}

function readApiError(body: unknown): { reason: string | null; status: string | null; message: string | null } | null {
  const parsed = apiErrorSchema.safeParse(body);
  if (!parsed.success) return null;
  const { errors, status, message } = parsed.data.error;
  return { reason: errors?.[0]?.reason ?? null, status: status ?? null, message: message ?? errors?.[0]?.message ?? null };
}

/** Only Google's error code and description: never the request (which carries codes and tokens). */
function describeGoogleOAuthError(status: number, body: unknown): string {
  const oauth = readOAuthError(body);
  if (oauth) return oauth.description ? `${oauth.error}: ${oauth.description}` : oauth.error;
  return `HTTP ${status}`;
}

function describeGoogleApiError(status: number, body: unknown): string {
  const api = readApiError(body);
  if (!api) return typeof body === "string" && body.trim() ? `HTTP ${status}: ${body.trim().slice(0, 200)}` : `HTTP ${status}`;
  const reason = api.reason ? ` ${api.reason}` : "";
  return `Google Calendar ${status}${reason}: ${api.message ?? "no message"}`;
}

const transient = (status: number) => status === 408 || status === 429 || status >= 500;

const tokenSchema = z.looseObject({
  access_token: z.string().min(1),
  expires_in: z.coerce.number(),
  refresh_token: z.string().nullish(),
  scope: z.string().nullish(),
  id_token: z.string().nullish(),
  token_type: z.string().nullish(),
});

const freeBusySchema = z.looseObject({
  calendars: z.record(
    z.string(),
    z.looseObject({
      busy: z.array(z.looseObject({ start: z.string(), end: z.string() })).optional(),
      errors: z.array(z.looseObject({ domain: z.string().optional(), reason: z.string().optional() })).optional(),
    }),
  ),
});

const calendarSchema = z.looseObject({ id: z.string(), timeZone: z.string().optional(), summary: z.string().optional() });

const JWKS_TTL_MS = 10 * 60 * 1000;
/** Google's signing keys, per isolate and per JWKS URL. */
const jwksCache = new Map<string, { keys: JSONWebKeySet; fetchedAt: number }>();

export function createGoogleClient(transport: UpstreamTransport, urls: GoogleUrls, client: GoogleOAuthClient): GoogleClient {
  const api = `${urls.apiUrl.replace(/\/+$/, "")}/calendar/v3`;

  async function tokenRequest(form: URLSearchParams, idempotent: boolean): Promise<GoogleTokens> {
    let response: UpstreamResponse;
    try {
      response = await callUpstream(transport, {
        service: "google",
        method: "POST",
        url: urls.tokenUrl,
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
        body: form.toString(),
        retryOn: transient,
        idempotent,
        describeError: describeGoogleOAuthError,
      });
    } catch (error) {
      throw asOAuthError(error);
    }
    const parsed = tokenSchema.safeParse(response.body);
    // No body on this error: it would carry the tokens.
    if (!parsed.success)
      throw invalidResponse(
        transport,
        { service: "google", method: "POST", url: urls.tokenUrl },
        parsed.error.issues[0]?.message ?? "not a token response",
        response.status,
      );
    const t = parsed.data;
    return {
      accessToken: t.access_token,
      expiresIn: t.expires_in,
      refreshToken: t.refresh_token ?? null,
      scopes: (t.scope ?? "").split(/\s+/).filter(Boolean),
      idToken: t.id_token ?? null,
      tokenType: t.token_type ?? "Bearer",
    };
  }

  async function apiRequest(
    method: "GET" | "POST",
    path: string,
    accessToken: string,
    body: unknown,
    idempotent: boolean,
  ): Promise<UpstreamResponse> {
    const headers: Record<string, string> = { Authorization: `Bearer ${accessToken}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    try {
      return await callUpstream(transport, {
        service: "google",
        method,
        url: `${api}${path}`,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        retryOn: transient,
        idempotent,
        describeError: describeGoogleApiError,
      });
    } catch (error) {
      throw asApiError(error);
    }
  }

  function parse<T>(schema: z.ZodType<T>, response: UpstreamResponse, what: string): T {
    const parsed = schema.safeParse(response.body);
    if (!parsed.success)
      throw invalidResponse(
        transport,
        { service: "google", method: /insert|freeBusy/.test(what) ? "POST" : "GET", url: `${api}/calendar/v3 ${what}` },
        parsed.error.issues[0]?.message ?? "not the expected shape",
        response.status,
        response.body,
      );
    return parsed.data;
  }

  async function loadJwks(force: boolean): Promise<{ keys: JSONWebKeySet; fresh: boolean }> {
    const cached = jwksCache.get(urls.jwksUrl);
    if (cached && !force && Date.now() - cached.fetchedAt < JWKS_TTL_MS) return { keys: cached.keys, fresh: false };
    const response = await callUpstream(transport, {
      service: "google",
      method: "GET",
      url: urls.jwksUrl,
      headers: { Accept: "application/json" },
      retryOn: transient,
      idempotent: true,
    });
    const parsed = z.looseObject({ keys: z.array(z.looseObject({ kty: z.string() })) }).safeParse(response.body);
    if (!parsed.success)
      throw invalidResponse(transport, { service: "google", method: "GET", url: urls.jwksUrl }, "not a JWKS", response.status);
    const keys = parsed.data as JSONWebKeySet;
    jwksCache.set(urls.jwksUrl, { keys, fetchedAt: Date.now() });
    return { keys, fresh: true };
  }

  async function verifyWith(keys: JSONWebKeySet, idToken: string): Promise<GoogleIdentity> {
    const { payload } = await jwtVerify(idToken, createLocalJWKSet(keys), {
      issuer: GOOGLE_ISSUERS,
      audience: client.clientId,
      algorithms: ["RS256"],
      requiredClaims: ["sub", "exp", "iat"],
    });
    const email = typeof payload.email === "string" ? payload.email : null;
    // Older tokens carried "true" as a string.
    const emailVerified = payload.email_verified === true || payload.email_verified === "true";
    return { sub: payload.sub!, email, emailVerified };
  }

  return {
    authorizationUrl({ state, codeChallenge, scopes, loginHint }) {
      const url = new URL(urls.oauthUrl);
      const params: Record<string, string> = {
        client_id: client.clientId,
        redirect_uri: client.redirectUri,
        response_type: "code",
        scope: scopes.join(" "),
        access_type: "offline",
        // Without consent, a reconnect returns no refresh token.
        prompt: "consent",
        include_granted_scopes: "true",
        state,
        code_challenge: codeChallenge,
        code_challenge_method: "S256",
      };
      if (loginHint) params.login_hint = loginHint;
      for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
      return url.toString();
    },

    exchangeCode: ({ code, codeVerifier }) =>
      tokenRequest(
        new URLSearchParams({
          grant_type: "authorization_code",
          code,
          code_verifier: codeVerifier,
          client_id: client.clientId,
          client_secret: client.clientSecret,
          redirect_uri: client.redirectUri,
        }),
        // A code is single use: after a lost answer a retry could only say "Malformed auth code.".
        false,
      ),

    refresh: (refreshToken) =>
      tokenRequest(
        new URLSearchParams({
          grant_type: "refresh_token",
          refresh_token: refreshToken,
          client_id: client.clientId,
          client_secret: client.clientSecret,
        }),
        true,
      ),

    async verifyIdToken(idToken) {
      let { keys, fresh } = await loadJwks(false);
      for (;;) {
        try {
          return await verifyWith(keys, idToken);
        } catch (error) {
          // Google rotates its keys: an unknown kid in a cached set is worth one fresh look.
          if (error instanceof joseErrors.JWKSNoMatchingKey && !fresh) {
            ({ keys, fresh } = await loadJwks(true));
            continue;
          }
          if (error instanceof joseErrors.JOSEError)
            throw new GoogleIdTokenError(error.code, `Google's id_token did not verify: ${error.message}`);
          throw error;
        }
      }
    },

    async revoke(token) {
      try {
        await callUpstream(transport, {
          service: "google",
          method: "POST",
          url: urls.revokeUrl,
          // In the body, not the query Google also accepts: URLs end up in logs.
          headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
          body: new URLSearchParams({ token }).toString(),
          retryOn: transient,
          // Revoking twice answers 400, which is "already_invalid": the same outcome.
          idempotent: true,
          describeError: describeGoogleOAuthError,
        });
        return "revoked";
      } catch (error) {
        if (error instanceof UpstreamError && error.failure === "http" && error.status === 400) return "already_invalid";
        throw asOAuthError(error);
      }
    },

    async freeBusy(accessToken, query) {
      const body = {
        timeMin: query.timeMin,
        timeMax: query.timeMax,
        timeZone: query.timeZone,
        items: query.calendarIds.map((id) => ({ id })),
      };
      // A read: safe to repeat after a timeout.
      const response = await apiRequest("POST", "/freeBusy", accessToken, body, true);
      const calendars = parse(freeBusySchema, response, "freeBusy").calendars;
      const result: Record<string, FreeBusyCalendar> = {};
      for (const id of query.calendarIds) {
        const calendar = calendars[id];
        result[id] = calendar
          ? {
              busy: (calendar.busy ?? []).map(({ start, end }) => ({ start, end })),
              errors: (calendar.errors ?? []).map((e) => ({ domain: e.domain ?? "global", reason: e.reason ?? "unknown" })),
            }
          : // Google left it out: unknown, not free.
            { busy: [], errors: [{ domain: "switchboard", reason: "missingFromResponse" }] };
      }
      return result;
    },

    async insertEvent(accessToken, calendarId, event, options) {
      const path = `/calendars/${encodeURIComponent(calendarId)}/events?sendUpdates=${options.sendUpdates}`;
      // The client-chosen id makes a repeat answer 409 duplicate instead of a second event.
      const response = await apiRequest("POST", path, accessToken, event, true);
      return parse(eventSchema, response, "events.insert");
    },

    async getEvent(accessToken, calendarId, eventId) {
      try {
        const response = await apiRequest(
          "GET",
          `/calendars/${encodeURIComponent(calendarId)}/events/${encodeURIComponent(eventId)}`,
          accessToken,
          undefined,
          true,
        );
        return parse(eventSchema, response, "events.get");
      } catch (error) {
        if (error instanceof GoogleApiError && error.status === 404) return null;
        throw error;
      }
    },

    async getCalendar(accessToken, calendarId) {
      try {
        const response = await apiRequest("GET", `/calendars/${encodeURIComponent(calendarId)}`, accessToken, undefined, true);
        const calendar = parse(calendarSchema, response, "calendars.get");
        return { id: calendar.id, timeZone: calendar.timeZone ?? null, summary: calendar.summary ?? null };
      } catch (error) {
        if (error instanceof GoogleApiError && error.status === 403 && !error.isRateLimited) return null;
        throw error;
      }
    },
  };
}

function asOAuthError(error: unknown): unknown {
  if (!(error instanceof UpstreamError) || error.failure !== "http" || error.status === undefined) return error;
  const oauth = readOAuthError(error.body);
  return new GoogleOAuthError(
    oauth?.error ?? `http_${error.status}`,
    oauth?.description ?? null,
    error.message,
    error.status,
    error.body,
    error.retryAfterSeconds,
  );
}

function asApiError(error: unknown): unknown {
  if (!(error instanceof UpstreamError) || error.failure !== "http" || error.status === undefined) return error;
  const api = readApiError(error.body);
  return new GoogleApiError(api?.reason ?? null, api?.status ?? null, error.message, error.status, error.body, error.retryAfterSeconds);
}

/** base64url(sha256(verifier)) without padding: the S256 code challenge. */
export async function pkceChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  let binary = "";
  for (const byte of new Uint8Array(digest)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The required scopes Google did not grant (the user may uncheck some on the consent screen). */
export function missingScopes(granted: readonly string[], required: readonly string[] = GOOGLE_CALENDAR_SCOPES): string[] {
  const have = new Set(granted);
  // Google reports `email` as its full URL in some responses.
  if (have.has("https://www.googleapis.com/auth/userinfo.email")) have.add("email");
  return required.filter((scope) => !have.has(scope));
}
