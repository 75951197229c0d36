import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/platform/log";
import { loadSettings, type Settings } from "../../src/platform/settings";
import { createGoogle, missingGoogleSettings } from "../../src/integrations/index";
import {
  GOOGLE_CALENDAR_SCOPES,
  GoogleApiError,
  GoogleOAuthError,
  missingScopes,
  pkceChallenge,
  type GoogleClient,
} from "../../src/integrations/google";
import { SANDBOX_SERVICE_HEADER } from "../../src/integrations/sandbox";
import { sandboxStub } from "../../dev/sandbox/upstream-sandbox";
import { call, sandbox } from "../helpers/api";
import { expectError } from "../helpers/assertions";
import { rejection } from "../helpers/upstream";

const FREEBUSY = "https://www.googleapis.com/auth/calendar.freebusy";
const EVENTS = "https://www.googleapis.com/auth/calendar.events";

/** The test settings, with the OAuth client the sandbox accepts when none is configured. */
function googleSettings(overrides: Partial<Settings> = {}): Settings {
  const settings = loadSettings(env);
  return {
    ...settings,
    GOOGLE_CLIENT_ID: settings.GOOGLE_CLIENT_ID ?? "sandbox-google-client-id",
    GOOGLE_CLIENT_SECRET: settings.GOOGLE_CLIENT_SECRET ?? "sandbox-google-client-secret",
    GOOGLE_REDIRECT_URI: settings.GOOGLE_REDIRECT_URI ?? "https://switchboard.test/api/calendar/google/callback",
    ...overrides,
  };
}
const google = (overrides: Partial<Settings> = {}) => createGoogle(env, googleSettings(overrides), createLogger());

/** A Google account of its own for each test: the sandbox's state is shared by the whole file. */
const newAccount = () => `owner-${crypto.randomUUID().slice(0, 8)}@example.com`;

const randomVerifier = () => `${crypto.randomUUID()}${crypto.randomUUID()}`.replaceAll("-", "");

/** The browser's part: follow the authorization URL through the sandbox's consent "screen". */
async function authorize(client: GoogleClient, loginHint: string = newAccount()) {
  const verifier = randomVerifier();
  const state = `state-${crypto.randomUUID()}`;
  const url = client.authorizationUrl({ state, codeChallenge: await pkceChallenge(verifier), scopes: GOOGLE_CALENDAR_SCOPES, loginHint });
  const outcome = await sandbox().googleAuthorizeOutcome(url);
  if (!("location" in outcome)) throw new Error(`the sandbox refused the authorization URL: ${outcome.status} ${outcome.error}`);
  return { url, callback: new URL(outcome.location), verifier, state };
}

async function connect(client: GoogleClient, loginHint = newAccount()) {
  const { callback, verifier } = await authorize(client, loginHint);
  const tokens = await client.exchangeCode({ code: callback.searchParams.get("code")!, codeVerifier: verifier });
  return { tokens, email: loginHint };
}

/** The error Google's page would show instead of redirecting. */
async function authorizeError(url: string) {
  const outcome = await sandbox().googleAuthorizeOutcome(url);
  if ("location" in outcome) throw new Error(`expected the sandbox to refuse the authorization URL, it redirected to ${outcome.location}`);
  return outcome;
}

const day = { timeMin: "2026-06-02T00:00:00-05:00", timeMax: "2026-06-03T00:00:00-05:00", timeZone: "America/Chicago" };
const slot = (id: string) => ({
  id,
  summary: "AC repair – Jane Doe",
  description: "Booked by the receptionist",
  start: { dateTime: "2026-06-02T14:00:00-05:00", timeZone: "America/Chicago" },
  end: { dateTime: "2026-06-02T15:00:00-05:00", timeZone: "America/Chicago" },
});
const eventId = () => crypto.randomUUID().replaceAll("-", "");

afterEach(async () => {
  await sandbox().googleSetConsent({});
  await sandbox().clearFaults();
});

describe("Google sandbox: the OAuth round trip", () => {
  it("authorize → code → exchange → id_token → refresh → freeBusy → insert → duplicate → revoke → refresh refused", async () => {
    const client = google();
    const email = newAccount();
    const { callback, verifier, state } = await authorize(client, email);
    expect(`${callback.origin}${callback.pathname}`).toBe(googleSettings().GOOGLE_REDIRECT_URI);
    expect(callback.searchParams.get("state")).toBe(state);
    expect(callback.searchParams.get("scope")!.split(" ")).toEqual(
      expect.arrayContaining(["openid", "https://www.googleapis.com/auth/userinfo.email", EVENTS, FREEBUSY]),
    );

    const tokens = await client.exchangeCode({ code: callback.searchParams.get("code")!, codeVerifier: verifier });
    expect(tokens).toMatchObject({ expiresIn: 3599, tokenType: "Bearer", refreshToken: expect.any(String), idToken: expect.any(String) });
    // Google names `email` by its full URL in the granted scopes.
    expect(tokens.scopes).toContain("https://www.googleapis.com/auth/userinfo.email");
    expect(missingScopes(tokens.scopes)).toEqual([]);

    const identity = await client.verifyIdToken(tokens.idToken!);
    expect(identity).toEqual({ sub: expect.stringMatching(/^1\d{20}$/), email, emailVerified: true });

    const refreshed = await client.refresh(tokens.refreshToken!);
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(refreshed.refreshToken).toBeNull();
    expect(refreshed.scopes).toEqual(tokens.scopes);
    expect((await client.verifyIdToken(refreshed.idToken!)).sub).toBe(identity.sub);

    await sandbox().googleAddBusy({ start: "2026-06-02T15:00:00Z", end: "2026-06-02T16:00:00Z", calendarId: email });
    const busy = await client.freeBusy(refreshed.accessToken, { ...day, calendarIds: ["primary", "stranger@example.com"] });
    expect(busy.primary).toEqual({ busy: [{ start: "2026-06-02T10:00:00-05:00", end: "2026-06-02T11:00:00-05:00" }], errors: [] });
    expect(busy["stranger@example.com"]!.errors).toEqual([{ domain: "global", reason: "notFound" }]);

    const id = eventId();
    const inserted = await client.insertEvent(refreshed.accessToken, "primary", slot(id), { sendUpdates: "none" });
    expect(inserted).toMatchObject({ id, status: "confirmed", summary: "AC repair – Jane Doe", start: slot(id).start });
    expect((await sandbox().googleEvents(email)).map((e) => e.id)).toContain(id);
    const after = await client.freeBusy(refreshed.accessToken, { ...day, calendarIds: [email] });
    expect(after[email]!.busy).toContainEqual({ start: "2026-06-02T14:00:00-05:00", end: "2026-06-02T15:00:00-05:00" });

    const duplicate = await rejection(
      client.insertEvent(refreshed.accessToken, "primary", slot(id), { sendUpdates: "none" }),
      GoogleApiError,
    );
    expect(duplicate).toMatchObject({ status: 409, reason: "duplicate", isDuplicate: true });
    expect(await client.getEvent(refreshed.accessToken, "primary", id)).toMatchObject({ id });
    expect(await client.getEvent(refreshed.accessToken, "primary", eventId())).toBeNull();
    // Our scopes do not include reading the calendar itself.
    expect(await client.getCalendar(refreshed.accessToken, "primary")).toBeNull();

    expect(await client.revoke(tokens.refreshToken!)).toBe("revoked");
    const dead = await rejection(client.refresh(tokens.refreshToken!), GoogleOAuthError);
    expect(dead).toMatchObject({
      status: 400,
      oauthError: "invalid_grant",
      description: "Token has been expired or revoked.",
      needsReconnect: true,
    });
    const unauthenticated = await rejection(client.freeBusy(refreshed.accessToken, { ...day, calendarIds: ["primary"] }), GoogleApiError);
    expect(unauthenticated).toMatchObject({ status: 401, reason: "authError" });
    expect(await client.revoke(tokens.refreshToken!)).toBe("already_invalid");
  });

  it("the authorization URL itself answers the 302 a user clicking Allow would get", async () => {
    const { url } = await authorize(google());
    const response = await sandboxStub(env).fetch(
      new Request(url, { headers: { [SANDBOX_SERVICE_HEADER]: "google" }, redirect: "manual" }),
    );
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get("Location")!);
    expect(location.searchParams.get("code")).toMatch(/^4\/0/);
  });

  it("refuses a wrong PKCE verifier, and the code is then used up", async () => {
    const client = google();
    const { callback, verifier } = await authorize(client);
    const code = callback.searchParams.get("code")!;
    const wrong = await rejection(client.exchangeCode({ code, codeVerifier: randomVerifier() }), GoogleOAuthError);
    expect(wrong).toMatchObject({ status: 400, oauthError: "invalid_grant", description: "Invalid code verifier." });
    const reused = await rejection(client.exchangeCode({ code, codeVerifier: verifier }), GoogleOAuthError);
    expect(reused).toMatchObject({ oauthError: "invalid_grant", description: "Malformed auth code." });
  });

  it("refuses a code used twice, one older than 10 minutes, and another redirect URI", async () => {
    const client = google();
    const first = await authorize(client);
    const code = first.callback.searchParams.get("code")!;
    await client.exchangeCode({ code, codeVerifier: first.verifier });
    expect(await rejection(client.exchangeCode({ code, codeVerifier: first.verifier }), GoogleOAuthError)).toMatchObject({
      oauthError: "invalid_grant",
      description: "Malformed auth code.",
    });

    const late = await authorize(client);
    await sandbox().advanceClock(601);
    expect(
      await rejection(
        client.exchangeCode({ code: late.callback.searchParams.get("code")!, codeVerifier: late.verifier }),
        GoogleOAuthError,
      ),
    ).toMatchObject({
      oauthError: "invalid_grant",
    });

    const elsewhere = await authorize(client);
    const other = google({ GOOGLE_REDIRECT_URI: "https://switchboard.test/other/callback" });
    expect(
      await rejection(
        other.exchangeCode({ code: elsewhere.callback.searchParams.get("code")!, codeVerifier: elsewhere.verifier }),
        GoogleOAuthError,
      ),
    ).toMatchObject({
      oauthError: "redirect_uri_mismatch",
    });
  });

  it("refuses a wrong client secret with invalid_client", async () => {
    const { callback, verifier } = await authorize(google());
    const error = await rejection(
      google({ GOOGLE_CLIENT_SECRET: "wrong" }).exchangeCode({ code: callback.searchParams.get("code")!, codeVerifier: verifier }),
      GoogleOAuthError,
    );
    expect(error).toMatchObject({ status: 401, oauthError: "invalid_client" });
  });

  it("an authorization URL with an unknown client or without S256 never reaches the callback", async () => {
    const client = google({ GOOGLE_CLIENT_ID: "someone-else" });
    const url = client.authorizationUrl({
      state: "s",
      codeChallenge: await pkceChallenge(randomVerifier()),
      scopes: GOOGLE_CALENDAR_SCOPES,
    });
    expect(await authorizeError(url)).toMatchObject({ status: 401, error: "invalid_client" });

    const plain = new URL(
      google().authorizationUrl({ state: "s", codeChallenge: await pkceChallenge(randomVerifier()), scopes: GOOGLE_CALENDAR_SCOPES }),
    );
    plain.searchParams.set("code_challenge_method", "plain");
    expect(await authorizeError(plain.toString())).toMatchObject({
      status: 400,
      error: "invalid_request",
      message: expect.stringMatching(/S256/),
    });
  });

  it("the sandbox's request log names the fields of token calls, never their values", async () => {
    await sandbox().clearRequests();
    const { tokens } = await connect(google());
    const logged = JSON.stringify(await sandbox().requests("google"));
    expect(logged).toContain("grant_type=authorization_code");
    expect(logged).toContain("client_secret=%5Bredacted%5D");
    expect(logged).not.toContain(tokens.refreshToken!);
    expect(logged).not.toContain("sandbox-google-client-secret");
  });
});

describe("Google sandbox: consent", () => {
  it("a user who unchecks free/busy: the callback and tokens say so, and freeBusy answers 403", async () => {
    await sandbox().googleSetConsent({ grantScopes: [EVENTS] });
    const client = google();
    const { callback, verifier } = await authorize(client);
    expect(callback.searchParams.get("scope")).not.toContain(FREEBUSY);
    const tokens = await client.exchangeCode({ code: callback.searchParams.get("code")!, codeVerifier: verifier });
    expect(missingScopes(tokens.scopes)).toEqual([FREEBUSY]);
    expect(tokens.refreshToken).not.toBeNull();

    const denied = await rejection(client.freeBusy(tokens.accessToken, { ...day, calendarIds: ["primary"] }), GoogleApiError);
    expect(denied).toMatchObject({ status: 403, reason: "insufficientPermissions", isRateLimited: false });
    expect((await client.insertEvent(tokens.accessToken, "primary", slot(eventId()), { sendUpdates: "none" })).status).toBe("confirmed");
  });

  it("with include_granted_scopes, a scope granted earlier stays granted even if unchecked on reconnect", async () => {
    const client = google();
    const email = newAccount();
    await connect(client, email);
    await sandbox().googleSetConsent({ grantScopes: [EVENTS] });
    const { callback } = await authorize(client, email);
    expect(callback.searchParams.get("scope")).toContain(FREEBUSY);
  });

  it("a user who clicks Cancel comes back with error=access_denied and the state", async () => {
    await sandbox().googleSetConsent({ deny: true });
    const { callback, state } = await authorize(google());
    expect(Object.fromEntries(callback.searchParams)).toEqual({ error: "access_denied", state });
  });
});

describe("Google sandbox: tokens over time", () => {
  it("an expired access token answers 401 until refreshed", async () => {
    const client = google();
    const { tokens } = await connect(client);
    await sandbox().googleExpireAccessTokens();
    const expired = await rejection(client.freeBusy(tokens.accessToken, { ...day, calendarIds: ["primary"] }), GoogleApiError);
    expect(expired).toMatchObject({ status: 401, reason: "authError" });
    const { accessToken } = await client.refresh(tokens.refreshToken!);
    expect((await client.freeBusy(accessToken, { ...day, calendarIds: ["primary"] })).primary!.errors).toEqual([]);
  });

  it("a user who removes access in their Google account: refresh answers invalid_grant", async () => {
    const client = google();
    const { tokens } = await connect(client);
    await sandbox().googleRevokeAll();
    expect(await rejection(client.refresh(tokens.refreshToken!), GoogleOAuthError)).toMatchObject({
      oauthError: "invalid_grant",
      needsReconnect: true,
    });
    expect(await client.revoke(tokens.accessToken)).toBe("already_invalid");
  });

  it("revoking the access token revokes the refresh token too", async () => {
    const client = google();
    const { tokens } = await connect(client);
    expect(await client.revoke(tokens.accessToken)).toBe("revoked");
    expect(await rejection(client.refresh(tokens.refreshToken!), GoogleOAuthError)).toMatchObject({ oauthError: "invalid_grant" });
  });
});

describe("Google sandbox: calendar", () => {
  it("busy times come back in the asked time zone, on both sides of a DST change", async () => {
    const client = google();
    const { tokens, email } = await connect(client);
    await sandbox().googleAddBusy({ start: "2026-03-07T16:00:00Z", end: "2026-03-07T17:00:00Z", calendarId: email });
    await sandbox().googleAddBusy({ start: "2026-03-09T15:00:00Z", end: "2026-03-09T16:00:00Z", calendarId: email });
    const result = await client.freeBusy(tokens.accessToken, {
      timeMin: "2026-03-07T00:00:00Z",
      timeMax: "2026-03-10T00:00:00Z",
      timeZone: "America/Chicago",
      calendarIds: ["primary"],
    });
    expect(result.primary!.busy).toEqual([
      { start: "2026-03-07T10:00:00-06:00", end: "2026-03-07T11:00:00-06:00" },
      { start: "2026-03-09T10:00:00-05:00", end: "2026-03-09T11:00:00-05:00" },
    ]);
  });

  it("refuses a window over 90 days and an event id outside base32hex", async () => {
    const client = google();
    const { tokens } = await connect(client);
    const long = await rejection(
      client.freeBusy(tokens.accessToken, {
        timeMin: "2026-01-01T00:00:00Z",
        timeMax: "2026-04-02T00:00:00Z",
        timeZone: "UTC",
        calendarIds: ["primary"],
      }),
      GoogleApiError,
    );
    expect(long).toMatchObject({ status: 400, reason: "timeRangeTooLong" });
    const badId = await rejection(
      client.insertEvent(tokens.accessToken, "primary", slot("Booking-XYZ"), { sendUpdates: "none" }),
      GoogleApiError,
    );
    expect(badId).toMatchObject({ status: 400, reason: "invalid" });
    expect(badId.message).toContain("Invalid resource id value.");
  });

  it("a Google outage on freeBusy is retried", async () => {
    const client = google();
    const { tokens } = await connect(client);
    await sandbox().injectFault({ service: "google", pathPrefix: "/calendar/v3/freeBusy", count: 1, kind: "status", status: 503 });
    expect((await client.freeBusy(tokens.accessToken, { ...day, calendarIds: ["primary"] })).primary!.errors).toEqual([]);
  });
});

describe("createGoogle", () => {
  it("names the missing OAuth client settings", () => {
    const settings = { ...googleSettings(), GOOGLE_CLIENT_SECRET: undefined, GOOGLE_REDIRECT_URI: undefined };
    expect(missingGoogleSettings(settings)).toEqual(["GOOGLE_CLIENT_SECRET", "GOOGLE_REDIRECT_URI"]);
    expect(() => createGoogle(env, settings, createLogger())).toThrow(
      "Google Calendar is not configured: set GOOGLE_CLIENT_SECRET, GOOGLE_REDIRECT_URI",
    );
  });
});

describe("the sandbox's consent page (GET /sandbox/google/authorize) refuses bad input in the error shape", () => {
  const page = (query: string) => call("GET", `/sandbox/google/authorize${query}`, { token: null });

  it("no parameters: 401 google_invalid_client, never a 500", async () => {
    await expectError(await page(""), 401, "google_invalid_client");
  });

  it("an unregistered redirect URI, a missing scope, no PKCE: 400 naming Google's reason", async () => {
    const base = "?client_id=sandbox-google-client-id&response_type=code";
    await expectError(
      await page(`${base}&redirect_uri=${encodeURIComponent("https://evil.example/cb")}&scope=openid`),
      400,
      "google_redirect_uri_mismatch",
    );
    const redirect = `&redirect_uri=${encodeURIComponent("https://switchboard.test/api/calendar/google/callback")}`;
    await expectError(await page(`${base}${redirect}`), 400, "google_invalid_request");
    await expectError(await page(`${base}${redirect}&scope=openid`), 400, "google_invalid_request");
  });
});
