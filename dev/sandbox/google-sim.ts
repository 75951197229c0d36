import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from "jose";
import type { Settings } from "../../src/platform/settings";
import { addBusyEvent, handleCalendarApi, listCalendarEvents, unauthenticated } from "./google-calendar-sim";
import type { SandboxStore } from "./store";

/**
 * Google's OAuth endpoints (authorization, token, revoke, JWKS) as the reference describes them, and the entry to
 * the Calendar API (google-calendar-sim.ts) behind Google's access-token check.
 *
 * Google's consent screen cannot be simulated, so the authorization URL is answered at once with the redirect a
 * user who clicked "Allow" would get (or "Cancel", after `googleSetConsent({deny: true})`). In `npm run dev` the
 * browser would go to the real accounts.google.com (the provider's URL, not the sandbox): the frontend or a
 * developer follows the URL through the sandbox instead, with the `googleAuthorizeOutcome` RPC or the dev
 * route that calls it (`/sandbox/google/authorize`).
 */

const USER = "google_user";
const CODE = "google_code";
/** One per refresh token; deleting it revokes the refresh token and every access token issued from it. */
const GRANT = "google_grant";
const ACCESS = "google_access_token";
const KEY = "google_signing_key";
const CONSENT = "google_consent";

const GOOGLE_SANDBOX_CLIENT = { clientId: "sandbox-google-client-id", clientSecret: "sandbox-google-client-secret" } as const;
const GOOGLE_SANDBOX_USER = { email: "calendar-owner@example.com", timeZone: "America/Chicago" } as const;

const CODE_TTL_MS = 10 * 60 * 1000;
const ACCESS_TTL_SECONDS = 3599;
const ISSUER = "https://accounts.google.com";
/** Google grants these whatever the user unchecks, and reports `email`/`profile` under their full names. */
const IDENTITY_SCOPES: Record<string, string> = {
  openid: "openid",
  email: "https://www.googleapis.com/auth/userinfo.email",
  profile: "https://www.googleapis.com/auth/userinfo.profile",
};
const PKCE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

interface SimUser {
  [key: string]: unknown;
  email: string;
  sub: string;
  timeZone: string;
}

interface SimCode {
  [key: string]: unknown;
  clientId: string;
  redirectUri: string;
  scopes: string[];
  codeChallenge: string;
  email: string;
  expiresAt: number;
  used: boolean;
}

interface SimGrant {
  [key: string]: unknown;
  refreshToken: string;
  clientId: string;
  email: string;
  scopes: string[];
}

interface SimAccessToken {
  [key: string]: unknown;
  token: string;
  refreshToken: string;
  scopes: string[];
  expiresAt: number;
}

type Json = Record<string, unknown>;

export interface GoogleConsent {
  /** The scopes the user leaves checked (identity scopes are always granted); all requested ones when unset. */
  grantScopes?: string[];
  /** The user clicks "Cancel": the redirect carries `error=access_denied`. */
  deny?: boolean;
}

const random = (prefix: string) =>
  `${prefix}${crypto.randomUUID().replaceAll("-", "")}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
const pathOf = (url: string) => new URL(url).pathname.replace(/\/+$/, "");
const clientOf = (settings: Settings) => ({
  clientId: settings.GOOGLE_CLIENT_ID ?? GOOGLE_SANDBOX_CLIENT.clientId,
  clientSecret: settings.GOOGLE_CLIENT_SECRET ?? GOOGLE_SANDBOX_CLIENT.clientSecret,
});

export async function handleGoogle(
  store: SandboxStore,
  settings: Settings,
  request: Request,
  url: URL,
  bodyText: string,
): Promise<Response> {
  const path = url.pathname.replace(/\/+$/, "");
  const method = request.method;
  if (path === pathOf(settings.GOOGLE_OAUTH_URL) && method === "GET") {
    const outcome = authorize(store, settings, url);
    if ("location" in outcome) return new Response(null, { status: 302, headers: { Location: outcome.location } });
    return new Response(`<html><body><h1>Error ${outcome.status}: ${outcome.error}</h1><p>${outcome.message}</p></body></html>`, {
      status: outcome.status,
      headers: { "Content-Type": "text/html; charset=utf-8" },
    });
  }
  if (path === pathOf(settings.GOOGLE_TOKEN_URL) && method === "POST")
    return token(store, settings, request, new URLSearchParams(bodyText));
  if (path === pathOf(settings.GOOGLE_REVOKE_URL) && method === "POST")
    return revoke(store, url.searchParams.get("token") ?? new URLSearchParams(bodyText).get("token"));
  if (path === pathOf(settings.GOOGLE_JWKS_URL) && method === "GET") {
    const key = await signingKey(store);
    return Response.json({ keys: [key.publicJwk] }, { headers: { "Cache-Control": "public, max-age=21600" } });
  }
  const apiBase = `${pathOf(settings.GOOGLE_API_URL)}/calendar/v3/`;
  if (url.pathname.startsWith(apiBase)) return calendarApi(store, request, url, url.pathname.slice(apiBase.length - 1), bodyText);
  return new Response("<html><body>Error 404 (Not Found)</body></html>", { status: 404, headers: { "Content-Type": "text/html" } });
}

const SECRET_FIELDS = ["client_secret", "code", "code_verifier", "refresh_token", "token"];

/** The request log keeps which fields a token or revoke call sent, not their secret values. */
export function redactGoogleBody(bodyText: string): string {
  if (!bodyText || bodyText.trimStart().startsWith("{")) return bodyText;
  const form = new URLSearchParams(bodyText);
  for (const field of SECRET_FIELDS) if (form.has(field)) form.set(field, "[redacted]");
  return form.toString();
}

// ——— OAuth ———

export type AuthorizeOutcome = { location: string } | { status: number; error: string; message: string };

/** What Google does with an authorization URL once the user answers the consent screen. */
export function authorize(store: SandboxStore, settings: Settings, url: URL): AuthorizeOutcome {
  const params = url.searchParams;
  const refuse = (status: number, error: string, message: string) => ({ status, error, message });
  if (params.get("client_id") !== clientOf(settings).clientId) return refuse(401, "invalid_client", "The OAuth client was not found.");
  const redirectUri = params.get("redirect_uri") ?? "";
  if (!redirectAllowed(settings, redirectUri)) {
    return refuse(
      400,
      "redirect_uri_mismatch",
      `You can't sign in because this app sent an invalid request. redirect_uri=${redirectUri} is not registered for this client.`,
    );
  }
  if (params.get("response_type") !== "code")
    return refuse(400, "unsupported_response_type", `Invalid response_type: ${params.get("response_type") ?? ""}`);
  const requested = (params.get("scope") ?? "").split(/\s+/).filter(Boolean);
  if (requested.length === 0) return refuse(400, "invalid_request", "Missing required parameter: scope");
  const invalid = requested.filter((s) => !(s in IDENTITY_SCOPES) && !s.startsWith("https://www.googleapis.com/auth/"));
  if (invalid.length > 0) return refuse(400, "invalid_scope", `Some requested scopes were invalid. {invalid=[${invalid.join(", ")}]}`);
  // Stricter than Google, which makes PKCE optional: Switchboard always sends S256, so anything else is a bug.
  const challenge = params.get("code_challenge") ?? "";
  if (params.get("code_challenge_method") !== "S256" || !PKCE_CHALLENGE.test(challenge)) {
    return refuse(400, "invalid_request", "code_challenge must be base64url(sha256(code_verifier)) with code_challenge_method=S256");
  }

  const callback = new URL(redirectUri);
  const state = params.get("state");
  const consent: GoogleConsent = store.getResource<Json>(CONSENT, "next") ?? {};
  if (consent.deny) {
    callback.searchParams.set("error", "access_denied");
    if (state !== null) callback.searchParams.set("state", state);
    return { location: callback.toString() };
  }
  const user = userFor(store, params.get("login_hint"));
  const clientId = clientOf(settings).clientId;
  let scopes = requested
    .filter((s) => s in IDENTITY_SCOPES || !consent.grantScopes || consent.grantScopes.includes(s))
    .map((s) => IDENTITY_SCOPES[s] ?? s);
  if (params.get("include_granted_scopes") === "true") {
    for (const grant of store.listResources<SimGrant>(GRANT))
      if (grant.email === user.email && grant.clientId === clientId) scopes.push(...grant.scopes);
  }
  scopes = [...new Set(scopes)];
  const code = random("4/0Sbx");
  const record: SimCode = {
    clientId,
    redirectUri,
    scopes,
    codeChallenge: challenge,
    email: user.email,
    expiresAt: store.now() + CODE_TTL_MS,
    used: false,
  };
  store.putResource(CODE, code, record, new Date(store.now()).toISOString());
  callback.searchParams.set("code", code);
  callback.searchParams.set("scope", scopes.join(" "));
  if (state !== null) callback.searchParams.set("state", state);
  return { location: callback.toString() };
}

/** GOOGLE_REDIRECT_URI when set (Google compares exactly: scheme, case, trailing slash); else any http(s) URL. */
function redirectAllowed(settings: Settings, redirectUri: string): boolean {
  if (settings.GOOGLE_REDIRECT_URI) return redirectUri === settings.GOOGLE_REDIRECT_URI;
  return /^https?:\/\/[^/]+/.test(redirectUri);
}

const oauthError = (status: number, error: string, description?: string) =>
  Response.json(description === undefined ? { error } : { error, error_description: description }, { status });

async function token(store: SandboxStore, settings: Settings, request: Request, form: URLSearchParams): Promise<Response> {
  const client = clientOf(settings);
  const basic = basicCredentials(request.headers.get("authorization"));
  const clientId = form.get("client_id") ?? basic?.id;
  const clientSecret = form.get("client_secret") ?? basic?.secret;
  if (clientId !== client.clientId) return oauthError(401, "invalid_client", "The OAuth client was not found.");
  if (clientSecret !== client.clientSecret) return oauthError(401, "invalid_client", "Unauthorized");

  const grantType = form.get("grant_type");
  if (grantType === "authorization_code") {
    const code = form.get("code");
    if (!code) return oauthError(400, "invalid_request", "Missing required parameter: code");
    const record = store.getResource<SimCode>(CODE, code);
    if (!record || record.used || record.clientId !== clientId) return oauthError(400, "invalid_grant", "Malformed auth code.");
    // Any redemption attempt uses the code up.
    store.putResource(CODE, code, { ...record, used: true }, new Date(store.now()).toISOString());
    if (record.expiresAt <= store.now()) return oauthError(400, "invalid_grant", "Bad Request");
    if (form.get("redirect_uri") !== record.redirectUri) return oauthError(400, "redirect_uri_mismatch", "Bad Request");
    const verifier = form.get("code_verifier");
    if (!verifier) return oauthError(400, "invalid_grant", "Missing code verifier.");
    if ((await s256(verifier)) !== record.codeChallenge) return oauthError(400, "invalid_grant", "Invalid code verifier.");

    const grant: SimGrant = { refreshToken: random("1//0Sbx"), clientId, email: record.email, scopes: record.scopes };
    store.putResource(GRANT, grant.refreshToken, grant, new Date(store.now()).toISOString());
    return Response.json({ ...(await issueAccess(store, grant)), refresh_token: grant.refreshToken });
  }
  if (grantType === "refresh_token") {
    const refreshToken = form.get("refresh_token");
    if (!refreshToken) return oauthError(400, "invalid_request", "Missing required parameter: refresh_token");
    const grant = store.getResource<SimGrant>(GRANT, refreshToken);
    if (!grant || grant.clientId !== clientId) return oauthError(400, "invalid_grant", "Token has been expired or revoked.");
    return Response.json(await issueAccess(store, grant));
  }
  return oauthError(400, "unsupported_grant_type", `Invalid grant_type: ${grantType ?? ""}`);
}

async function issueAccess(store: SandboxStore, grant: SimGrant): Promise<Json> {
  const accessToken = random("ya29.Sbx");
  const record: SimAccessToken = {
    token: accessToken,
    refreshToken: grant.refreshToken,
    scopes: grant.scopes,
    expiresAt: store.now() + ACCESS_TTL_SECONDS * 1000,
  };
  store.putResource(ACCESS, accessToken, record, new Date(store.now()).toISOString());
  const body: Json = { access_token: accessToken, expires_in: ACCESS_TTL_SECONDS, scope: grant.scopes.join(" "), token_type: "Bearer" };
  if (grant.scopes.includes("openid")) body.id_token = await idToken(store, grant);
  return body;
}

async function idToken(store: SandboxStore, grant: SimGrant): Promise<string> {
  const user = userFor(store, grant.email);
  const key = await signingKey(store);
  const claims: Json = { azp: grant.clientId };
  if (grant.scopes.includes(IDENTITY_SCOPES.email!)) Object.assign(claims, { email: user.email, email_verified: true });
  const now = Math.floor(store.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "JWT" })
    .setIssuer(ISSUER)
    .setAudience(grant.clientId)
    .setSubject(user.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(key.privateKey);
}

/** Revoking an access token or a refresh token revokes the whole grant. */
function revoke(store: SandboxStore, tokenValue: string | null): Response {
  const access = tokenValue ? store.getResource<SimAccessToken>(ACCESS, tokenValue) : null;
  const refreshToken = access && access.expiresAt > store.now() ? access.refreshToken : tokenValue;
  if (!refreshToken || !store.getResource(GRANT, refreshToken)) return oauthError(400, "invalid_token", "Token expired or revoked");
  store.deleteResource(GRANT, refreshToken);
  return new Response(null, { status: 200 });
}

function basicCredentials(header: string | null): { id: string; secret: string } | null {
  const encoded = /^Basic\s+(\S+)$/i.exec(header ?? "")?.[1];
  if (!encoded) return null;
  try {
    const [id, ...rest] = atob(encoded).split(":");
    return { id: decodeURIComponent(id!), secret: decodeURIComponent(rest.join(":")) };
  } catch {
    return null;
  }
}

async function s256(verifier: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return btoa(String.fromCharCode(...digest))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

const importedKeys = new Map<string, CryptoKey>();

/** The sandbox's RS256 key, made once and kept in storage (a `reset()` makes a new one, like a key rotation). */
async function signingKey(store: SandboxStore): Promise<{ kid: string; publicJwk: JWK; privateKey: CryptoKey }> {
  let stored = store.getResource<{ kid: string; publicJwk: JWK; privateJwk: JWK }>(KEY, "current");
  if (!stored) {
    const pair = await generateKeyPair("RS256", { extractable: true });
    const kid = crypto.randomUUID().replaceAll("-", "");
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, alg: "RS256", use: "sig" };
    const privateJwk = { ...(await exportJWK(pair.privateKey)), kid, alg: "RS256" };
    // Another request may have made one while this one awaited: the first stored wins.
    stored = store.getResource(KEY, "current") ?? { kid, publicJwk, privateJwk };
    store.putResource(KEY, "current", stored, new Date(store.now()).toISOString());
  }
  let privateKey = importedKeys.get(stored.kid);
  if (!privateKey) {
    privateKey = (await importJWK(stored.privateJwk, "RS256")) as CryptoKey;
    importedKeys.set(stored.kid, privateKey);
  }
  return { kid: stored.kid, publicJwk: stored.publicJwk, privateKey };
}

/** The login hint's account (made on first sight), or the sandbox's default user. */
function userFor(store: SandboxStore, loginHint: string | null): SimUser {
  const email = loginHint?.includes("@") ? loginHint.toLowerCase() : GOOGLE_SANDBOX_USER.email;
  const existing = store.getResource<SimUser>(USER, email);
  if (existing) return existing;
  const digits = Array.from(crypto.getRandomValues(new Uint8Array(20)), (b) => b % 10).join("");
  const user: SimUser = { email, sub: `1${digits}`, timeZone: GOOGLE_SANDBOX_USER.timeZone };
  store.putResource(USER, email, user, new Date(store.now()).toISOString());
  return user;
}

// ——— Calendar API ———

/** The access token's account and scopes, or Google's 401 for a missing, unknown, expired or revoked token. */
function calendarApi(store: SandboxStore, request: Request, url: URL, path: string, bodyText: string): Response {
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
  const access = bearer ? store.getResource<SimAccessToken>(ACCESS, bearer) : null;
  const grant = access ? store.getResource<SimGrant>(GRANT, access.refreshToken) : null;
  if (!access || !grant || access.expiresAt <= store.now()) return unauthenticated();
  const user = userFor(store, grant.email);
  return handleCalendarApi(store, { email: user.email, timeZone: user.timeZone, scopes: access.scopes }, request, url, path, bodyText);
}

// ——— Controls for tests and `npm run dev` (RPC) ———

export function setGoogleConsent(store: SandboxStore, consent: GoogleConsent): void {
  store.putResource(CONSENT, "next", { ...consent }, new Date(store.now()).toISOString());
}

/** The user removes the app's access: every refresh and access token stops working. */
export function revokeAllGoogleGrants(store: SandboxStore): void {
  for (const grant of store.listResources<SimGrant>(GRANT)) store.deleteResource(GRANT, grant.refreshToken);
}

export function expireGoogleAccessTokens(store: SandboxStore): void {
  const past = store.now() - 1;
  for (const record of store.listResources<SimAccessToken>(ACCESS))
    store.putResource(ACCESS, record.token, { ...record, expiresAt: past }, new Date(past).toISOString());
}

const calendarFor = (store: SandboxStore, calendarId?: string) =>
  !calendarId || calendarId === "primary" ? userFor(store, null).email : calendarId.toLowerCase();

export function listGoogleEvents(store: SandboxStore, calendarId?: string): Record<string, unknown>[] {
  return listCalendarEvents(store, calendarFor(store, calendarId));
}

/** Someone else's appointment in the calendar (the default user's unless `calendarId`). */
export function addGoogleBusy(store: SandboxStore, busy: { start: string; end: string; calendarId?: string }): { id: string } {
  return addBusyEvent(store, calendarFor(store, busy.calendarId), busy.start, busy.end);
}

/** Follows an authorization URL: the redirect to the callback, or the error page Google would show instead. */
export function googleAuthorizeOutcome(store: SandboxStore, settings: Settings, authorizationUrl: string): AuthorizeOutcome {
  const url = new URL(authorizationUrl);
  if (url.pathname.replace(/\/+$/, "") !== pathOf(settings.GOOGLE_OAUTH_URL)) {
    return { status: 404, error: "not_found", message: `Not Google's authorization URL: ${url.origin}${url.pathname}` };
  }
  return authorize(store, settings, url);
}
