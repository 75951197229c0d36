import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import type { Logger } from "../../src/platform/log";
import {
  createGoogleClient,
  GOOGLE_CALENDAR_SCOPES,
  GoogleApiError,
  GoogleIdTokenError,
  GoogleOAuthError,
  missingScopes,
  pkceChallenge,
  type GoogleUrls,
} from "../../src/integrations/google";
import type { UpstreamError, UpstreamTransport } from "../../src/integrations/http";
import { rejection, scripted, type Step } from "../helpers/upstream";

const logged: unknown[] = [];
const recording: Logger = {
  debug: (...args) => void logged.push(args),
  info: (...args) => void logged.push(args),
  warn: (...args) => void logged.push(args),
  error: (...args) => void logged.push(args),
  child: () => recording,
};

const URLS: GoogleUrls = {
  oauthUrl: "https://accounts.google.test/o/oauth2/v2/auth",
  tokenUrl: "https://oauth2.google.test/token",
  revokeUrl: "https://oauth2.google.test/revoke",
  jwksUrl: "https://www.google.test/oauth2/v3/certs",
  apiUrl: "https://www.google.test/",
};
const CLIENT = {
  clientId: "client-123.apps.googleusercontent.com",
  clientSecret: "client-secret-never-shown",
  redirectUri: "https://switchboard.test/api/calendar/google/callback",
};
const REFRESH_TOKEN = "1//refresh-token-that-must-stay-secret";
const ACCESS_TOKEN = "ya29.access-token-that-must-stay-secret";
const CODE = "4/0auth-code-that-must-stay-secret";
const VERIFIER = "verifier-that-must-stay-secret-0123456789abcdefghijkl";

const client = (fetch: UpstreamTransport["fetch"], overrides: Partial<UpstreamTransport> = {}, urls: Partial<GoogleUrls> = {}) =>
  createGoogleClient(
    { fetch, timeoutMs: 5_000, maxRetries: 2, retryBaseMs: 1, log: recording, ...overrides },
    { ...URLS, ...urls },
    CLIENT,
  );

const ok =
  (body: unknown, status = 200): Step =>
  () =>
    Response.json(body, { status });
const oauthError =
  (status: number, error: string, description: string): Step =>
  () =>
    Response.json({ error, error_description: description }, { status });
const apiError =
  (status: number, reason: string, message: string, statusName?: string): Step =>
  () =>
    Response.json({ error: { errors: [{ domain: "global", reason, message }], code: status, message, status: statusName } }, { status });
const hang: Step = () => new Promise<Response>(() => {});
const tokens = (extra: Record<string, unknown> = {}) => ({
  access_token: ACCESS_TOKEN,
  expires_in: 3599,
  scope: GOOGLE_CALENDAR_SCOPES.join(" "),
  token_type: "Bearer",
  ...extra,
});

/** Nothing secret in what a person or a log would read. */
function expectNoSecrets(error: Error) {
  const visible = `${error.message} ${JSON.stringify(logged)} ${JSON.stringify((error as UpstreamError).body ?? null)}`;
  for (const secret of [REFRESH_TOKEN, ACCESS_TOKEN, CODE, VERIFIER, CLIENT.clientSecret]) expect(visible).not.toContain(secret);
}

afterEach(() => {
  logged.length = 0;
});

describe("Google authorization URL", () => {
  it("carries exactly the parameters of the web-server flow with PKCE S256", () => {
    const url = new URL(
      client(scripted().fetch).authorizationUrl({ state: "signed.state", codeChallenge: "challenge-abc", scopes: GOOGLE_CALENDAR_SCOPES }),
    );
    expect(`${url.origin}${url.pathname}`).toBe(URLS.oauthUrl);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: CLIENT.clientId,
      redirect_uri: CLIENT.redirectUri,
      response_type: "code",
      scope: "openid email https://www.googleapis.com/auth/calendar.events https://www.googleapis.com/auth/calendar.freebusy",
      access_type: "offline",
      prompt: "consent",
      include_granted_scopes: "true",
      state: "signed.state",
      code_challenge: "challenge-abc",
      code_challenge_method: "S256",
    });
  });

  it("adds login_hint only when given", () => {
    const url = new URL(
      client(scripted().fetch).authorizationUrl({ state: "s", codeChallenge: "c", scopes: ["openid"], loginHint: "owner@example.com" }),
    );
    expect(url.searchParams.get("login_hint")).toBe("owner@example.com");
  });

  it("the S256 challenge is RFC 7636's", async () => {
    expect(await pkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  });

  it("missingScopes accepts Google's full name for email and names what was unchecked", () => {
    const granted = ["openid", "https://www.googleapis.com/auth/userinfo.email", "https://www.googleapis.com/auth/calendar.events"];
    expect(missingScopes(granted)).toEqual(["https://www.googleapis.com/auth/calendar.freebusy"]);
    expect(missingScopes([...granted, "https://www.googleapis.com/auth/calendar.freebusy"])).toEqual([]);
  });
});

describe("Google token endpoint", () => {
  it("exchanges a code with a form body carrying the verifier, client and redirect URI", async () => {
    const fake = scripted(ok(tokens({ refresh_token: REFRESH_TOKEN, id_token: "id.token.jwt" })));
    const result = await client(fake.fetch).exchangeCode({ code: CODE, codeVerifier: VERIFIER });
    expect(result).toEqual({
      accessToken: ACCESS_TOKEN,
      expiresIn: 3599,
      refreshToken: REFRESH_TOKEN,
      scopes: [...GOOGLE_CALENDAR_SCOPES],
      idToken: "id.token.jwt",
      tokenType: "Bearer",
    });
    const { request, body } = fake.calls[0]!;
    expect(request.method).toBe("POST");
    expect(request.url).toBe(URLS.tokenUrl);
    expect(request.headers.get("Content-Type")).toBe("application/x-www-form-urlencoded");
    expect(Object.fromEntries(new URLSearchParams(body))).toEqual({
      grant_type: "authorization_code",
      code: CODE,
      code_verifier: VERIFIER,
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
      redirect_uri: CLIENT.redirectUri,
    });
  });

  it("refreshes with a form body; Google sends no new refresh token", async () => {
    const fake = scripted(ok(tokens()));
    const result = await client(fake.fetch).refresh(REFRESH_TOKEN);
    expect(result.refreshToken).toBeNull();
    expect(result.idToken).toBeNull();
    expect(Object.fromEntries(new URLSearchParams(fake.calls[0]!.body))).toEqual({
      grant_type: "refresh_token",
      refresh_token: REFRESH_TOKEN,
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
    });
  });

  it("invalid_grant is typed, asks for a reconnect, is not retried and shows no token", async () => {
    const fake = scripted(oauthError(400, "invalid_grant", "Token has been expired or revoked."));
    const error = await rejection(client(fake.fetch).refresh(REFRESH_TOKEN), GoogleOAuthError);
    expect(fake.calls).toHaveLength(1);
    expect(error).toMatchObject({
      oauthError: "invalid_grant",
      description: "Token has been expired or revoked.",
      status: 400,
      service: "google",
      needsReconnect: true,
    });
    expect(error.message).toBe("invalid_grant: Token has been expired or revoked.");
    expectNoSecrets(error);
  });

  it("invalid_client is typed and not a reconnect", async () => {
    const fake = scripted(oauthError(401, "invalid_client", "Unauthorized"));
    const error = await rejection(client(fake.fetch).exchangeCode({ code: CODE, codeVerifier: VERIFIER }), GoogleOAuthError);
    expect(error).toMatchObject({ oauthError: "invalid_client", status: 401, needsReconnect: false });
    expect(fake.calls).toHaveLength(1);
    expectNoSecrets(error);
  });

  it("5xx and 429 are retried with backoff, then succeed", async () => {
    const fake = scripted(
      () => new Response("<html>oops</html>", { status: 503 }),
      () => Response.json({}, { status: 429 }),
      ok(tokens()),
    );
    expect((await client(fake.fetch).refresh(REFRESH_TOKEN)).accessToken).toBe(ACCESS_TOKEN);
    expect(fake.calls).toHaveLength(3);
  });

  it("a code exchange that got no answer is not repeated (a code is single use); a refresh is", async () => {
    const exchange = scripted(hang);
    const error = await rejection(client(exchange.fetch, { timeoutMs: 20 }).exchangeCode({ code: CODE, codeVerifier: VERIFIER }));
    expect(error.failure).toBe("timeout");
    expect(exchange.calls).toHaveLength(1);

    const refresh = scripted(hang, ok(tokens()));
    expect((await client(refresh.fetch, { timeoutMs: 20 }).refresh(REFRESH_TOKEN)).accessToken).toBe(ACCESS_TOKEN);
    expect(refresh.calls).toHaveLength(2);
  });

  it("an unreadable token response keeps no body (it would hold tokens)", async () => {
    const fake = scripted(ok({ access_token: ACCESS_TOKEN, refresh_token: REFRESH_TOKEN }));
    const error = await rejection(client(fake.fetch).exchangeCode({ code: CODE, codeVerifier: VERIFIER }));
    expect(error.failure).toBe("invalid_response");
    expect(error.body).toBeUndefined();
    expectNoSecrets(error);
  });
});

describe("Google revoke", () => {
  it("posts the token in a form body, never in the URL", async () => {
    const fake = scripted(() => new Response(null, { status: 200 }));
    expect(await client(fake.fetch).revoke(REFRESH_TOKEN)).toBe("revoked");
    expect(fake.calls[0]!.request.url).toBe(URLS.revokeUrl);
    expect(fake.calls[0]!.body).toBe(`token=${encodeURIComponent(REFRESH_TOKEN)}`);
  });

  it("a 400 means already revoked or never valid", async () => {
    const fake = scripted(oauthError(400, "invalid_token", "Token expired or revoked"));
    expect(await client(fake.fetch).revoke(REFRESH_TOKEN)).toBe("already_invalid");
    expect(fake.calls).toHaveLength(1);
  });

  it("a 5xx is retried, then surfaces as an error", async () => {
    const fake = scripted(() => new Response("", { status: 502 }));
    const error = await rejection(client(fake.fetch).revoke(REFRESH_TOKEN), GoogleOAuthError);
    expect(error.status).toBe(502);
    expect(fake.calls).toHaveLength(3);
    expectNoSecrets(error);
  });
});

describe("Google Calendar API", () => {
  const query = {
    timeMin: "2026-06-02T00:00:00-05:00",
    timeMax: "2026-06-03T00:00:00-05:00",
    timeZone: "America/Chicago",
    calendarIds: ["primary", "other@example.com", "missing@example.com"],
  };

  it("freeBusy posts the window and items with the bearer token; per-calendar errors are kept, a missing calendar is unknown", async () => {
    const fake = scripted(
      ok({
        kind: "calendar#freeBusy",
        calendars: {
          primary: { busy: [{ start: "2026-06-02T10:00:00-05:00", end: "2026-06-02T11:00:00-05:00" }] },
          "other@example.com": { errors: [{ domain: "global", reason: "notFound" }] },
        },
      }),
    );
    const result = await client(fake.fetch).freeBusy(ACCESS_TOKEN, query);
    expect(result).toEqual({
      primary: { busy: [{ start: "2026-06-02T10:00:00-05:00", end: "2026-06-02T11:00:00-05:00" }], errors: [] },
      "other@example.com": { busy: [], errors: [{ domain: "global", reason: "notFound" }] },
      "missing@example.com": { busy: [], errors: [{ domain: "switchboard", reason: "missingFromResponse" }] },
    });
    const { request, body } = fake.calls[0]!;
    expect(request.url).toBe("https://www.google.test/calendar/v3/freeBusy");
    expect(request.headers.get("Authorization")).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(JSON.parse(body)).toEqual({
      timeMin: query.timeMin,
      timeMax: query.timeMax,
      timeZone: query.timeZone,
      items: query.calendarIds.map((id) => ({ id })),
    });
  });

  it("freeBusy is retried on 5xx and on a timeout (it is a read)", async () => {
    const fake = scripted(apiError(503, "backendError", "Backend Error"), hang, ok({ calendars: { primary: { busy: [] } } }));
    const result = await client(fake.fetch, { timeoutMs: 20 }).freeBusy(ACCESS_TOKEN, { ...query, calendarIds: ["primary"] });
    expect(result.primary).toEqual({ busy: [], errors: [] });
    expect(fake.calls).toHaveLength(3);
  });

  it("401 is an authError, not retried, without the access token in the message", async () => {
    const fake = scripted(apiError(401, "authError", "Invalid Credentials", "UNAUTHENTICATED"));
    const error = await rejection(client(fake.fetch).freeBusy(ACCESS_TOKEN, query), GoogleApiError);
    expect(error).toMatchObject({ reason: "authError", googleStatus: "UNAUTHENTICATED", status: 401 });
    expect(error.message).toBe("Google Calendar 401 authError: Invalid Credentials");
    expect(fake.calls).toHaveLength(1);
    expectNoSecrets(error);
  });

  it("inserts an event with its client id and sendUpdates=none", async () => {
    const event = {
      id: "a1b2c3d4e5",
      summary: "AC repair – Jane Doe",
      description: "Booked by phone",
      start: { dateTime: "2026-06-02T10:00:00-05:00", timeZone: "America/Chicago" },
      end: { dateTime: "2026-06-02T11:00:00-05:00", timeZone: "America/Chicago" },
    };
    const fake = scripted(ok({ kind: "calendar#event", status: "confirmed", htmlLink: "https://calendar.test/e", ...event }));
    const inserted = await client(fake.fetch).insertEvent(ACCESS_TOKEN, "owner@example.com", event, { sendUpdates: "none" });
    expect(inserted).toMatchObject({ id: "a1b2c3d4e5", status: "confirmed", start: event.start });
    const { request, body } = fake.calls[0]!;
    expect(request.method).toBe("POST");
    expect(request.url).toBe("https://www.google.test/calendar/v3/calendars/owner%40example.com/events?sendUpdates=none");
    expect(JSON.parse(body)).toEqual(event);
  });

  it("insert: a 409 is a typed duplicate, not retried; a 5xx is retried (the id makes it safe)", async () => {
    const event = {
      id: "a1b2c3d4e5",
      summary: "x",
      start: { dateTime: "2026-06-02T10:00:00Z", timeZone: "UTC" },
      end: { dateTime: "2026-06-02T11:00:00Z", timeZone: "UTC" },
    };
    const duplicate = scripted(apiError(409, "duplicate", "The requested identifier already exists."));
    const error = await rejection(
      client(duplicate.fetch).insertEvent(ACCESS_TOKEN, "primary", event, { sendUpdates: "none" }),
      GoogleApiError,
    );
    expect(error).toMatchObject({ reason: "duplicate", status: 409, isDuplicate: true });
    expect(duplicate.calls).toHaveLength(1);

    const flaky = scripted(apiError(500, "backendError", "Backend Error"), ok({ ...event, status: "confirmed" }));
    expect((await client(flaky.fetch).insertEvent(ACCESS_TOKEN, "primary", event, { sendUpdates: "none" })).id).toBe("a1b2c3d4e5");
    expect(flaky.calls).toHaveLength(2);
  });

  it("getEvent answers null for a 404", async () => {
    const fake = scripted(apiError(404, "notFound", "Not Found"));
    expect(await client(fake.fetch).getEvent(ACCESS_TOKEN, "primary", "a1b2c3d4e5")).toBeNull();
    expect(fake.calls[0]!.request.url).toBe("https://www.google.test/calendar/v3/calendars/primary/events/a1b2c3d4e5");
  });

  it("getCalendar answers null when the scopes do not allow it, but a rate limit is an error", async () => {
    const denied = scripted(
      apiError(403, "insufficientPermissions", "Request had insufficient authentication scopes.", "PERMISSION_DENIED"),
    );
    expect(await client(denied.fetch).getCalendar(ACCESS_TOKEN, "primary")).toBeNull();

    const limited = scripted(apiError(403, "rateLimitExceeded", "Rate Limit Exceeded"));
    const error = await rejection(client(limited.fetch).getCalendar(ACCESS_TOKEN, "primary"), GoogleApiError);
    expect(error.isRateLimited).toBe(true);

    const found = scripted(
      ok({ kind: "calendar#calendar", id: "owner@example.com", summary: "owner@example.com", timeZone: "America/Chicago" }),
    );
    expect(await client(found.fetch).getCalendar(ACCESS_TOKEN, "primary")).toEqual({
      id: "owner@example.com",
      summary: "owner@example.com",
      timeZone: "America/Chicago",
    });
  });
});

describe("Google id_token", () => {
  async function signer() {
    const pair = await generateKeyPair("RS256");
    const kid = crypto.randomUUID();
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid, alg: "RS256", use: "sig" };
    const sign = (claims: Record<string, unknown> = {}, options: { issuer?: string; audience?: string; expiresIn?: string } = {}) =>
      new SignJWT({ email: "owner@example.com", email_verified: true, ...claims })
        .setProtectedHeader({ alg: "RS256", kid })
        .setIssuer(options.issuer ?? "https://accounts.google.com")
        .setAudience(options.audience ?? CLIENT.clientId)
        .setSubject("110169484474386276334")
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? "1h")
        .sign(pair.privateKey);
    return { jwk, sign };
  }
  /** Each test its own JWKS URL: the key set is cached per isolate and URL. */
  const jwksUrl = () => `https://www.google.test/oauth2/v3/certs?test=${crypto.randomUUID()}`;

  it("verifies against Google's JWKS, fetched once and cached", async () => {
    const { jwk, sign } = await signer();
    const fake = scripted(ok({ keys: [jwk] }));
    const google = client(fake.fetch, {}, { jwksUrl: jwksUrl() });
    expect(await google.verifyIdToken(await sign())).toEqual({
      sub: "110169484474386276334",
      email: "owner@example.com",
      emailVerified: true,
    });
    expect(await google.verifyIdToken(await sign({ email_verified: "false" }, { issuer: "accounts.google.com" }))).toMatchObject({
      emailVerified: false,
    });
    expect(fake.calls).toHaveLength(1);
  });

  it("refetches the JWKS once when Google rotated its keys", async () => {
    const old = await signer();
    const rotated = await signer();
    const fake = scripted(ok({ keys: [old.jwk] }), ok({ keys: [old.jwk, rotated.jwk] }));
    const google = client(fake.fetch, {}, { jwksUrl: jwksUrl() });
    await google.verifyIdToken(await old.sign());
    expect((await google.verifyIdToken(await rotated.sign())).sub).toBe("110169484474386276334");
    expect(fake.calls).toHaveLength(2);
  });

  it("refuses another audience, another issuer, an expired token and an unknown key", async () => {
    const { jwk, sign } = await signer();
    const stranger = await signer();
    const google = client(scripted(ok({ keys: [jwk] })).fetch, {}, { jwksUrl: jwksUrl() });
    for (const token of [
      await sign({}, { audience: "someone-else" }),
      await sign({}, { issuer: "https://evil.example.com" }),
      await sign({}, { expiresIn: "-1m" }),
      await stranger.sign(),
    ]) {
      const error = await rejection(google.verifyIdToken(token), GoogleIdTokenError);
      expect(error.message).toMatch(/^Google's id_token did not verify/);
      expect(error.message).not.toContain(token);
    }
  });
});
