import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { secretBox } from "../../../src/platform/crypto";
import { loadSettings } from "../../../src/platform/settings";
import { createLogger } from "../../../src/platform/log";
import { completeGoogleAuthorization } from "../../../src/features/calendar/connection";
import { createGoogle } from "../../../src/integrations/index";
import { call, json, sampleBusiness, sandbox, token } from "../../helpers/api";
import { resetState } from "../../helpers/pool";
import { webhook } from "../../helpers/provisioning";

const owner = () => token({ org: "org-a", role: "owner" });

/** The whole browser round trip: our auth URL → (sandbox) Google consent → our callback → the settings page. */
async function connect(): Promise<URL> {
  const { url } = await json(await call("GET", "/api/calendar/google/auth", { token: await owner() }));
  const consent = new URL(url);
  const google = await call("GET", consent.pathname + consent.search, { token: null });
  expect(google.status).toBe(302);
  const back = new URL(google.headers.get("Location")!);
  const callback = await call("GET", back.pathname + back.search, { token: null });
  expect(callback.status).toBe(302);
  return new URL(callback.headers.get("Location")!);
}

async function assistantWith(business: Record<string, unknown>) {
  const res = await call("POST", "/api/assistants", { token: await token({ org: "org-a" }), body: { business_data: business } });
  expect(res.status).toBe(201);
  return json(res);
}

function toolCall(vapiAssistantId: string, name: string, args: unknown, ids = { call: "call-1", tool: "tool-1" }) {
  return webhook({
    type: "tool-calls",
    call: { id: ids.call, assistantId: vapiAssistantId },
    toolCallList: [{ id: ids.tool, type: "function", function: { name, arguments: args } }],
  });
}

async function say(vapiAssistantId: string, name: string, args: unknown, ids?: { call: string; tool: string }): Promise<string> {
  const res = await toolCall(vapiAssistantId, name, args, ids);
  expect(res.status).toBe(200);
  const body = await json(res);
  return body.results[0].result ?? body.results[0].error;
}

/** A weekday at least two days from now, as YYYY-MM-DD (the tools refuse the past and short notice). */
function upcoming(weekday: number): string {
  const d = new Date(Date.now() + 2 * 86_400_000);
  while (d.getUTCDay() !== weekday) d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

const open9to5 = {
  mon: [{ open: "09:00", close: "17:00" }],
  tue: [{ open: "09:00", close: "17:00" }],
  wed: [{ open: "09:00", close: "17:00" }],
  thu: [{ open: "09:00", close: "17:00" }],
  fri: [{ open: "09:00", close: "17:00" }],
};

beforeEach(async () => {
  await resetState();
  await env.DB.batch([
    env.DB.prepare("DELETE FROM calendar_connections"),
    env.DB.prepare("DELETE FROM oauth_states"),
    env.DB.prepare("DELETE FROM bookings"),
  ]);
});

describe("connecting Google Calendar", () => {
  it("builds Google's authorization URL with PKCE, offline access, consent and every scope", async () => {
    const { url } = await json(await call("GET", "/api/calendar/google/auth", { token: await owner() }));
    const params = new URL(url).searchParams;
    expect(params.get("client_id")).toBe("sandbox-google-client-id");
    expect(params.get("redirect_uri")).toBe("https://switchboard.test/api/calendar/google/callback");
    expect(params.get("response_type")).toBe("code");
    expect(params.get("scope")!.split(" ").sort()).toEqual(
      ["email", "https://www.googleapis.com/auth/calendar.events", "https://www.googleapis.com/auth/calendar.freebusy", "openid"].sort(),
    );
    expect(params.get("access_type")).toBe("offline");
    expect(params.get("prompt")).toBe("consent");
    expect(params.get("include_granted_scopes")).toBe("true");
    expect(params.get("code_challenge_method")).toBe("S256");
    expect(params.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get("state")!.split(".")).toHaveLength(5); // a compact JWE: opaque to the browser
    expect((await call("GET", "/api/calendar/google/auth", { token: await token({ role: "member" }) })).status).toBe(403);
  });

  it("completes the round trip, keeps sub and email, and stores the tokens sealed", async () => {
    const landing = await connect();
    expect(landing.toString()).toBe("https://app.example.com/settings/phone-calendar?calendar=connected");
    const status = await json(await call("GET", "/api/calendar/status"));
    expect(status).toMatchObject({
      connected: true,
      status: "connected",
      email: "calendar-owner@example.com",
      calendar_id: "primary",
      last_error: null,
      missing_settings: [],
    });
    expect(status.scopes).toEqual(
      expect.arrayContaining(["https://www.googleapis.com/auth/calendar.events", "https://www.googleapis.com/auth/calendar.freebusy"]),
    );

    const row = await env.DB.prepare("SELECT * FROM calendar_connections WHERE org_id = 'org-a'").first<Record<string, string>>();
    expect(row!.google_sub).toBeTruthy();
    expect(row!.access_token).toMatch(/^enc:v1:/);
    expect(row!.refresh_token).toMatch(/^enc:v1:/);
    const box = await secretBox(env.ENCRYPTION_KEY as string);
    const refresh = await box.decrypt(row!.refresh_token!, "google:org-a");
    const access = await box.decrypt(row!.access_token!, "google:org-a");
    for (const table of ["calendar_connections", "oauth_states", "alerts"]) {
      const dump = JSON.stringify((await env.DB.prepare(`SELECT * FROM ${table}`).all()).results);
      expect(dump).not.toContain(refresh);
      expect(dump).not.toContain(access);
    }
    // Another organization sees nothing of it.
    expect((await json(await call("GET", "/api/calendar/status", { token: await token({ org: "org-b" }) }))).connected).toBe(false);
  });

  it("refuses a replayed or tampered state, and an expired one", async () => {
    const { url } = await json(await call("GET", "/api/calendar/google/auth", { token: await owner() }));
    const consent = new URL(url);
    const back = new URL((await call("GET", consent.pathname + consent.search, { token: null })).headers.get("Location")!);
    expect(
      new URL((await call("GET", back.pathname + back.search, { token: null })).headers.get("Location")!).searchParams.get("calendar"),
    ).toBe("connected");
    const replay = await call("GET", back.pathname + back.search, { token: null });
    expect(new URL(replay.headers.get("Location")!).searchParams.get("calendar_error")).toBe("state_replayed");

    const tampered = new URLSearchParams(back.search);
    tampered.set("state", `${tampered.get("state")!.slice(0, -4)}AAAA`);
    const bad = await call("GET", `${back.pathname}?${tampered}`, { token: null });
    expect(new URL(bad.headers.get("Location")!).searchParams.get("calendar_error")).toBe("invalid_state");

    const settings = loadSettings(env);
    const { url: second } = await json(await call("GET", "/api/calendar/google/auth", { token: await owner() }));
    const state = new URL(second).searchParams.get("state")!;
    const outcome = await completeGoogleAuthorization(
      {
        db: (await import("../../../src/db/client")).createDb(env.DB),
        log: createLogger(),
        settings,
        box: await secretBox(settings.ENCRYPTION_KEY),
        google: createGoogle(env, settings, createLogger()),
      },
      { state, code: "anything" },
      Date.now() + 11 * 60_000,
    );
    expect(outcome).toEqual({ connected: false, error: "state_expired", orgId: null });
  });

  it("reports a denied consent and missing scopes as outcomes the settings page can show", async () => {
    await sandbox().googleSetConsent({ deny: true });
    expect((await connect()).searchParams.get("calendar_error")).toBe("access_denied");
    await sandbox().googleSetConsent({ grantScopes: ["openid", "email", "https://www.googleapis.com/auth/calendar.events"] });
    expect((await connect()).searchParams.get("calendar_error")).toBe("missing_scopes");
    expect((await json(await call("GET", "/api/calendar/status"))).connected).toBe(false);
  });

  it("names the missing settings when the OAuth client is not configured", async () => {
    const { createApp } = await import("../../../src/app");
    const app = createApp();
    const res = await app.request(
      "/api/calendar/status",
      { headers: { Authorization: `Bearer ${await owner()}` } },
      { ...env, GOOGLE_CLIENT_ID: "", GOOGLE_REDIRECT_URI: "" },
    );
    expect(((await res.json()) as any).missing_settings).toEqual(["GOOGLE_CLIENT_ID", "GOOGLE_REDIRECT_URI"]);
    const auth = await app.request(
      "/api/calendar/google/auth",
      { headers: { Authorization: `Bearer ${await owner()}` } },
      { ...env, GOOGLE_CLIENT_ID: "" },
    );
    expect(auth.status).toBe(503);
    expect(((await auth.json()) as any).error).toMatchObject({
      code: "calendar_not_configured",
      details: { missing_settings: ["GOOGLE_CLIENT_ID"] },
    });
  });

  it("disconnects: revokes at Google and forgets the tokens", async () => {
    await connect();
    const res = await call("POST", "/api/calendar/disconnect", { token: await owner() });
    expect(await json(res)).toEqual({ disconnected: true, revoked: true });
    expect((await json(await call("GET", "/api/calendar/status"))).status).toBe("not_connected");
    expect(await env.DB.prepare("SELECT count(*) AS n FROM calendar_connections").first("n")).toBe(0);
    expect((await sandbox().requests("google")).some((r) => r.method === "POST" && r.path.includes("revoke"))).toBe(true);
  });
});

describe("tools during a call", () => {
  it("check_availability offers open slots inside business hours, minus busy times", async () => {
    await connect();
    const a = await assistantWith({ ...sampleBusiness, timezone: "America/Chicago", hours: open9to5 });
    const monday = upcoming(1);
    await sandbox().googleAddBusy({ start: `${monday}T15:00:00Z`, end: `${monday}T17:00:00Z` }); // 9–11 in Chicago
    const line = await say(a.vapi_assistant_id, "check_availability", JSON.stringify({ date: monday, duration_minutes: 60 }));
    // Free from 11:00 to 17:00: four starts spread over it, the day said once.
    expect(line).toMatch(/^I have 11:00 AM, 12:30 PM, 2:30 PM or 4:00 PM on Monday, \w+ \d{1,2}\. Which works best\?$/);
    // Arguments as an object work the same.
    expect(await say(a.vapi_assistant_id, "check_availability", { date: monday, duration_minutes: 60 })).toBe(line);
  });

  it("a per-calendar error from freeBusy means unknown, never free", async () => {
    await connect();
    const a = await assistantWith({ ...sampleBusiness, hours: open9to5 });
    await env.DB.prepare("UPDATE calendar_connections SET calendar_id = 'someone-else@example.com'").run();
    const line = await say(a.vapi_assistant_id, "check_availability", { date: upcoming(2) });
    expect(line).toMatch(/can't reach the appointment calendar/);
  });

  it("book_appointment books once: a retried tool call answers the same booking, never a second event", async () => {
    await connect();
    const a = await assistantWith({ ...sampleBusiness, timezone: "America/Chicago", hours: open9to5 });
    const tuesday = upcoming(2);
    const args = {
      start: `${tuesday}T14:00`,
      duration_minutes: 60,
      caller_name: "Sam Lee",
      caller_phone: "+15125550123",
      reason: "AC not cooling",
    };
    const first = await say(a.vapi_assistant_id, "book_appointment", args, { call: "call-7", tool: "tool-7" });
    expect(first).toMatch(/^You're booked for .* at 2:00 PM/);
    const again = await say(a.vapi_assistant_id, "book_appointment", args, { call: "call-7", tool: "tool-7" });
    expect(again).toBe(first);
    const events = await sandbox().googleEvents();
    expect(events).toHaveLength(1);
    expect(Date.parse(events[0]!.start.dateTime)).toBe(Date.parse(`${tuesday}T20:00:00Z`));
    expect(await env.DB.prepare("SELECT count(*) AS n FROM bookings").first("n")).toBe(1);
    // The slot is now taken for a different call.
    const clash = await say(a.vapi_assistant_id, "book_appointment", { ...args, caller_name: "Kim" }, { call: "call-8", tool: "tool-8" });
    expect(clash).toMatch(/was just taken/);
  });

  it("refuses a slot outside business hours", async () => {
    await connect();
    const a = await assistantWith({ ...sampleBusiness, timezone: "America/Chicago", hours: open9to5 });
    const line = await say(a.vapi_assistant_id, "book_appointment", {
      start: `${upcoming(3)}T18:30`,
      caller_name: "Sam",
      caller_phone: "+15125550123",
    });
    expect(line).toMatch(/outside our booking hours/);
    expect(await sandbox().googleEvents()).toHaveLength(0);
  });

  it("books in the business's time zone across a DST change, and knows a skipped time does not exist", async () => {
    await connect();
    const a = await assistantWith({ ...sampleBusiness, timezone: "America/New_York", hours: open9to5 });
    const args = { caller_name: "Ana", caller_phone: "+12125550100" };
    // 2027-03-14: New York springs forward. 9:00 is 14:00Z the Monday before and 13:00Z the Monday after.
    await say(a.vapi_assistant_id, "book_appointment", { ...args, start: "2027-03-08T09:00" }, { call: "c1", tool: "t1" });
    await say(a.vapi_assistant_id, "book_appointment", { ...args, start: "2027-03-15T09:00" }, { call: "c2", tool: "t2" });
    const starts = (await sandbox().googleEvents()).map((e) => new Date(e.start.dateTime).toISOString()).sort();
    expect(starts).toEqual(["2027-03-08T14:00:00.000Z", "2027-03-15T13:00:00.000Z"]);
    const skipped = await say(a.vapi_assistant_id, "book_appointment", { ...args, start: "2027-03-14T02:30" }, { call: "c3", tool: "t3" });
    expect(skipped).toMatch(/doesn't exist/);
  });

  it("a refresh token revoked mid-call: the assistant says so, the connection needs reconnecting, an alert opens", async () => {
    await connect();
    const a = await assistantWith({ ...sampleBusiness, hours: open9to5 });
    await sandbox().googleRevokeAll();
    await sandbox().googleExpireAccessTokens();
    await env.DB.prepare("UPDATE calendar_connections SET access_token_expires_at = ?")
      .bind(new Date(Date.now() + 60_000).toISOString())
      .run();
    const line = await say(a.vapi_assistant_id, "check_availability", { date: upcoming(1) });
    expect(line).toMatch(/take your name and number/);
    const status = await json(await call("GET", "/api/calendar/status"));
    expect(status).toMatchObject({ connected: false, status: "reconnect_required" });
    expect(status.last_error).toMatch(/Reconnect/);
    expect(
      await env.DB.prepare("SELECT count(*) AS n FROM alerts WHERE kind = 'calendar_reconnect_required' AND status = 'open'").first("n"),
    ).toBe(1);
    // Reconnecting clears it.
    expect((await connect()).searchParams.get("calendar")).toBe("connected");
    expect(
      await env.DB.prepare("SELECT count(*) AS n FROM alerts WHERE kind = 'calendar_reconnect_required' AND status = 'open'").first("n"),
    ).toBe(0);
  });

  it("refreshes the access token five minutes before expiry, once for concurrent calls", async () => {
    await connect();
    const a = await assistantWith({ ...sampleBusiness, hours: open9to5 });
    await env.DB.prepare("UPDATE calendar_connections SET access_token_expires_at = ?")
      .bind(new Date(Date.now() + 4 * 60_000).toISOString())
      .run();
    await sandbox().clearRequests();
    const lines = await Promise.all(
      [1, 2, 3].map((i) => say(a.vapi_assistant_id, "check_availability", { date: upcoming(1) }, { call: `c${i}`, tool: `t${i}` })),
    );
    expect(lines.every((l) => l.startsWith("I have"))).toBe(true);
    const refreshes = (await sandbox().requests("google")).filter((r) => r.method === "POST" && r.path.endsWith("/token"));
    expect(refreshes).toHaveLength(1);
    const expiry = await env.DB.prepare("SELECT access_token_expires_at FROM calendar_connections").first<string>(
      "access_token_expires_at",
    );
    expect(Date.parse(expiry!)).toBeGreaterThan(Date.now() + 50 * 60_000);
  });

  it("answers a line the assistant can say when no calendar is connected", async () => {
    const a = await assistantWith({ ...sampleBusiness, hours: open9to5 });
    const line = await say(a.vapi_assistant_id, "book_appointment", {
      start: `${upcoming(1)}T10:00`,
      caller_name: "Sam",
      caller_phone: "+15125550123",
    });
    expect(line).toMatch(/take your name and number/);
  });

  it("answers within the tool-call deadline even when Google does not answer (Vapi waits 20 s at most)", async () => {
    await connect();
    const a = await assistantWith({ ...sampleBusiness, hours: open9to5 });
    await sandbox().injectFault({ service: "google", method: "POST", pathPrefix: "/calendar/v3/freeBusy", count: 3, kind: "timeout" });
    const { createApp } = await import("../../../src/app");
    const res = await createApp().request(
      "https://switchboard.test/webhooks/vapi",
      {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Vapi-Secret": env.VAPI_WEBHOOK_SECRET as string },
        body: JSON.stringify({
          message: {
            type: "tool-calls",
            call: { id: "c-deadline", assistantId: a.vapi_assistant_id },
            toolCallList: [{ id: "t-deadline", function: { name: "check_availability", arguments: { date: upcoming(1) } } }],
          },
        }),
      },
      { ...env, TOOL_CALL_DEADLINE_MS: "100" },
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).results).toEqual([
      { toolCallId: "t-deadline", name: "check_availability", result: expect.stringMatching(/having trouble with the calendar/) },
    ]);
    await sandbox().clearFaults();
  });
});
