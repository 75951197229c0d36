import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sampleBusiness, sandbox } from "../../helpers/api";
import { newOrg } from "../../helpers/assertions";
import {
  connectCalendar,
  created,
  faultFor,
  inject,
  RETRIED,
  toolCall,
  upcoming,
  weekdays9to5,
  type FaultKind,
  type FaultTarget,
  useFaultSuite,
  settleAndCheck,
} from "../../helpers/faults";
import { alertRows } from "../../helpers/operations";

/**
 * Faults on Google during a call: the access-token refresh before a calendar tool, and the event insert of
 * book_appointment. The webhook always answers HTTP 200 with a line the assistant can say; a transient failure
 * never disconnects the calendar; a booking exists in Google exactly when it is on record.
 */

const UNAVAILABLE = /can't reach the appointment calendar/;

const suite = useFaultSuite();

/** An organisation with its calendar connected and an assistant open weekdays 9 to 5 (Chicago). */
async function setup() {
  const org = newOrg();
  await connectCalendar(org);
  const assistant = await created(org, { business_data: { ...sampleBusiness, timezone: "America/Chicago", hours: weekdays9to5 } });
  return { org, vapiAssistantId: String(assistant.vapi_assistant_id) };
}

const connectionOf = (org: string) =>
  env.DB.prepare("SELECT status, last_error, refresh_lock_until, access_token_expires_at FROM calendar_connections WHERE org_id = ?")
    .bind(org)
    .first<Record<string, any>>();

/** A transient failure leaves the connection as it was: connected, unlocked, no reconnect alert. */
async function expectStillConnected(org: string) {
  expect(await connectionOf(org)).toMatchObject({ status: "connected", refresh_lock_until: null });
  expect((await alertRows("calendar_reconnect_required")).filter((a) => a.status === "open")).toEqual([]);
}

/** Every event Switchboard put in Google has its booking on record, and the other way round. */
async function expectBookingsMatchCalendar(org: string) {
  const events = (await sandbox().googleEvents()).map((e) => String(e.id)).sort();
  const booked = (
    await env.DB.prepare("SELECT google_event_id FROM bookings WHERE org_id = ?").bind(org).all<{ google_event_id: string }>()
  ).results
    .map((b) => b.google_event_id)
    .sort();
  expect(booked, "bookings on record vs events in Google").toEqual(events);
}

async function settleCalendar(org: string) {
  await settleAndCheck();
  await expectStillConnected(org);
}

describe("fault on the token refresh (POST /token) before a calendar tool", () => {
  const target: FaultTarget = { service: "google", method: "POST", pathPrefix: "/token" };

  async function refreshWith(kind: FaultKind, count?: number) {
    const { org, vapiAssistantId } = await setup();
    // Four minutes left: under the five-minute margin, so the tool refreshes first.
    await env.DB.prepare("UPDATE calendar_connections SET access_token_expires_at = ? WHERE org_id = ?")
      .bind(new Date(Date.now() + 4 * 60_000).toISOString(), org)
      .run();
    const fault = faultFor(target, kind, RETRIED);
    await inject(count === undefined ? fault : { ...fault, count });
    const line = await toolCall(vapiAssistantId, "check_availability", { date: upcoming(1) });
    await sandbox().clearFaults();
    return { org, vapiAssistantId, line };
  }

  /** Google is back: the next tool call refreshes and answers with slots. */
  async function recovers(org: string, vapiAssistantId: string) {
    await settleCalendar(org);
    const line = await toolCall(vapiAssistantId, "check_availability", { date: upcoming(1) }, { call: "call-2", tool: "tool-2" });
    expect(line).toMatch(/^I have /);
    expect(Date.parse((await connectionOf(org))!.access_token_expires_at)).toBeGreaterThan(Date.now() + 50 * 60_000);
  }

  it("500 on every attempt → HTTP 200, the 'can't reach the calendar' line; still connected, logged, no alert", async () => {
    const { org, vapiAssistantId, line } = await refreshWith("500");
    expect(line).toMatch(UNAVAILABLE);
    expect(suite.logs().events("calendar_refresh_failed")).toEqual([expect.objectContaining({ org_id: org })]);
    expect(suite.logs().events("calendar_tool_unavailable")).toEqual([expect.objectContaining({ reason: "google_unavailable" })]);
    await expectStillConnected(org);
    await recovers(org, vapiAssistantId);
  });

  it("429 with Retry-After: 0 → retried → slots offered", async () => {
    const { org, vapiAssistantId, line } = await refreshWith("429_retry_after_0");
    expect(line).toMatch(/^I have /);
    await recovers(org, vapiAssistantId);
  });

  it("429 with Retry-After: 120 → not waited for during a call: the 'can't reach' line; still connected", async () => {
    const { org, vapiAssistantId, line } = await refreshWith("429_retry_after_120");
    expect(line).toMatch(UNAVAILABLE);
    await expectStillConnected(org);
    await recovers(org, vapiAssistantId);
  });

  it("timeout on every attempt → the 'can't reach' line; still connected", async () => {
    const { org, vapiAssistantId, line } = await refreshWith("timeout");
    expect(line).toMatch(UNAVAILABLE);
    expect(suite.logs().events("upstream_failed")).toEqual([
      expect.objectContaining({ service: "google", failure: "timeout", attempts: 3 }),
    ]);
    await expectStillConnected(org);
    await recovers(org, vapiAssistantId);
  });

  it("timeout after Google issued a token, once → the refresh is resent (a refresh is idempotent) → slots offered", async () => {
    const { org, vapiAssistantId, line } = await refreshWith("timeout_after_processing", 1);
    expect(line).toMatch(/^I have /);
    await recovers(org, vapiAssistantId);
  });

  it("timeout after Google issued a token, on every attempt → the 'can't reach' line; the saved refresh token still works", async () => {
    const { org, vapiAssistantId, line } = await refreshWith("timeout_after_processing");
    expect(line).toMatch(UNAVAILABLE);
    await expectStillConnected(org);
    await recovers(org, vapiAssistantId);
  });

  it("malformed JSON → the 'can't reach' line; still connected", async () => {
    const { org, vapiAssistantId, line } = await refreshWith("malformed");
    expect(line).toMatch(UNAVAILABLE);
    await expectStillConnected(org);
    await recovers(org, vapiAssistantId);
  });
});

describe("fault on the event insert of book_appointment (POST /calendar/v3/calendars/:id/events)", () => {
  const target: FaultTarget = { service: "google", method: "POST", pathPrefix: "/calendar/v3/calendars/" };
  const ids = { call: "call-7", tool: "tool-7" };
  const args = () => ({
    start: `${upcoming(2)}T14:00`,
    duration_minutes: 60,
    caller_name: "Sam Lee",
    caller_phone: "+15125550123",
    reason: "AC not cooling",
  });

  async function bookWith(kind: FaultKind, count?: number) {
    const { org, vapiAssistantId } = await setup();
    const fault = faultFor(target, kind, RETRIED);
    await inject(count === undefined ? fault : { ...fault, count });
    const booking = args();
    const line = await toolCall(vapiAssistantId, "book_appointment", booking, ids);
    await sandbox().clearFaults();
    return { org, vapiAssistantId, booking, line };
  }

  /** Vapi retries the same tool call once Google is back: booked once, never twice. */
  async function retryBooksOnce(org: string, vapiAssistantId: string, booking: Record<string, unknown>) {
    const again = await toolCall(vapiAssistantId, "book_appointment", booking, ids);
    expect(again).toMatch(/^You're booked for .* at 2:00 PM/);
    expect(await sandbox().googleEvents()).toHaveLength(1);
    await expectBookingsMatchCalendar(org);
  }

  it("500 on every attempt → HTTP 200, the 'can't reach' line; no event, no booking; a retried tool call books once", async () => {
    const { org, vapiAssistantId, booking, line } = await bookWith("500");
    expect(line).toMatch(UNAVAILABLE);
    expect(suite.logs().events("calendar_tool_unavailable")).toEqual([expect.objectContaining({ reason: "google_error" })]);
    expect(await sandbox().googleEvents()).toEqual([]);
    await expectBookingsMatchCalendar(org);
    await settleCalendar(org);
    await retryBooksOnce(org, vapiAssistantId, booking);
  });

  it("429 with Retry-After: 0 → retried → booked once", async () => {
    const { org, line } = await bookWith("429_retry_after_0");
    expect(line).toMatch(/^You're booked for /);
    expect(await sandbox().googleEvents()).toHaveLength(1);
    await expectBookingsMatchCalendar(org);
    await settleCalendar(org);
  });

  it("429 with Retry-After: 120 → the 'can't reach' line; nothing booked; a retried tool call books once", async () => {
    const { org, vapiAssistantId, booking, line } = await bookWith("429_retry_after_120");
    expect(line).toMatch(UNAVAILABLE);
    expect(await sandbox().googleEvents()).toEqual([]);
    await expectBookingsMatchCalendar(org);
    await settleCalendar(org);
    await retryBooksOnce(org, vapiAssistantId, booking);
  });

  it("timeout on every attempt (Google never got it) → the 'can't reach' line; nothing booked", async () => {
    const { org, vapiAssistantId, booking, line } = await bookWith("timeout");
    expect(line).toMatch(UNAVAILABLE);
    expect(await sandbox().googleEvents()).toEqual([]);
    await expectBookingsMatchCalendar(org);
    await settleCalendar(org);
    await retryBooksOnce(org, vapiAssistantId, booking);
  });

  it("timeout after Google made the event, once → the resent insert answers 409 duplicate → booked, one event, one booking", async () => {
    const { org, line } = await bookWith("timeout_after_processing", 1);
    expect(line).toMatch(/^You're booked for .* at 2:00 PM/);
    const inserts = (await sandbox().requests("google")).filter((r) => r.method === "POST" && r.path.includes("/events"));
    expect(inserts.map((r) => r.status)).toEqual([200, 409]);
    expect(await sandbox().googleEvents()).toHaveLength(1);
    await expectBookingsMatchCalendar(org);
    await settleCalendar(org);
  });

  it("timeout after Google made the event, on every attempt → still HTTP 200 with a line to say; the pool is untouched", async () => {
    // toolCall asserts the HTTP 200 and the one line; what the line says is the GAP below.
    const { org } = await bookWith("timeout_after_processing");
    await settleCalendar(org);
  });

  it("after every insert attempt timed out once Google had made the event, Vapi's retry of the same tool call finds its own event and confirms the booking", async () => {
    const { org, vapiAssistantId, booking } = await bookWith("timeout_after_processing");
    await retryBooksOnce(org, vapiAssistantId, booking);
  });

  it("when every insert attempt timed out after Google made the event, the caller still hears the booking confirmed and it is on record", async () => {
    const { org, line } = await bookWith("timeout_after_processing");
    expect(line).toMatch(/^You're booked for /);
    await expectBookingsMatchCalendar(org);
  });

  it("malformed JSON answering the insert → the 'can't reach' line; a retried tool call books once", async () => {
    const { org, vapiAssistantId, booking, line } = await bookWith("malformed");
    expect(line).toMatch(UNAVAILABLE);
    await settleCalendar(org);
    await retryBooksOnce(org, vapiAssistantId, booking);
  });

  it("Google made the event but its answer cannot be read → the event is looked up: booked, one event, one booking", async () => {
    const { org, line } = await bookWith("malformed_after_processing");
    expect(line).toMatch(/^You're booked for .* at 2:00 PM/);
    expect(await sandbox().googleEvents()).toHaveLength(1);
    await expectBookingsMatchCalendar(org);
    await settleCalendar(org);
  });

  it("a replay whose booking record was lost, while Google cannot show the event (500) → the 'can't reach' line, never 'just taken'", async () => {
    const { org, vapiAssistantId } = await setup();
    const booking = args();
    expect(await toolCall(vapiAssistantId, "book_appointment", booking, ids)).toMatch(/^You're booked for /);
    await env.DB.prepare("DELETE FROM bookings WHERE org_id = ?").bind(org).run();
    await inject(faultFor({ service: "google", method: "GET", pathPrefix: "/calendar/v3/calendars/" }, "500", RETRIED));
    expect(await toolCall(vapiAssistantId, "book_appointment", booking, ids)).toMatch(UNAVAILABLE);
    await sandbox().clearFaults();
    // Google answers again: the replay finds its own event, says so, and records it.
    expect(await toolCall(vapiAssistantId, "book_appointment", booking, ids)).toMatch(/^You're booked for .* at 2:00 PM/);
    await expectBookingsMatchCalendar(org);
    await settleCalendar(org);
  });

  it("freeBusy fails (500 on every attempt) before the insert → the 'can't reach' line; nothing booked", async () => {
    const { org, vapiAssistantId } = await setup();
    await inject(faultFor({ service: "google", method: "POST", pathPrefix: "/calendar/v3/freeBusy" }, "500", RETRIED));
    const line = await toolCall(vapiAssistantId, "book_appointment", args(), ids);
    expect(line).toMatch(UNAVAILABLE);
    expect(await sandbox().googleEvents()).toEqual([]);
    await expectBookingsMatchCalendar(org);
    await settleCalendar(org);
  });
});

describe("the Calendar API refuses (401) an access token Switchboard believes valid", () => {
  const RECONNECT = /Online booking is paused/;
  const booking = () => ({ start: `${upcoming(2)}T14:00`, duration_minutes: 60, caller_name: "Sam Lee", caller_phone: "+15125550123" });
  const tokenRequests = async () => (await sandbox().requests("google")).filter((r) => r.method === "POST" && r.path.endsWith("/token"));

  /** Google dropped the access token early (the stored one still has about an hour left). */
  async function refusedEarly() {
    const context = await setup();
    await sandbox().googleExpireAccessTokens();
    await sandbox().clearRequests();
    return context;
  }

  async function expectReconnectRequired(org: string) {
    expect(await connectionOf(org)).toMatchObject({ status: "reconnect_required", refresh_lock_until: null });
    expect((await alertRows("calendar_reconnect_required")).filter((a) => a.status === "open" && a.subject === org)).toHaveLength(1);
  }

  it("401, then a refresh and one retry → slots offered and a booking made; still connected, one refresh", async () => {
    const { org, vapiAssistantId } = await refusedEarly();
    expect(await toolCall(vapiAssistantId, "check_availability", { date: upcoming(1) })).toMatch(/^I have /);
    expect(await tokenRequests()).toHaveLength(1);
    expect(suite.logs().events("calendar_access_token_refused")).toEqual([expect.objectContaining({ org_id: org })]);
    await expectStillConnected(org);

    await sandbox().googleExpireAccessTokens();
    expect(await toolCall(vapiAssistantId, "book_appointment", booking(), { call: "call-2", tool: "tool-2" })).toMatch(
      /^You're booked for .* at 2:00 PM/,
    );
    expect(await sandbox().googleEvents()).toHaveLength(1);
    await expectBookingsMatchCalendar(org);
    await expectStillConnected(org);
  });

  it("401 on the event insert → a refresh and one retry of the booking → booked once, still connected", async () => {
    const { org, vapiAssistantId } = await setup();
    await sandbox().clearRequests();
    await inject({ service: "google", method: "POST", pathPrefix: "/calendar/v3/calendars/", count: 1, kind: "status", status: 401 });
    expect(await toolCall(vapiAssistantId, "book_appointment", booking())).toMatch(/^You're booked for .* at 2:00 PM/);
    expect(await tokenRequests()).toHaveLength(1);
    expect(await sandbox().googleEvents()).toHaveLength(1);
    await expectBookingsMatchCalendar(org);
    await expectStillConnected(org);
  });

  it("401, then the refresh answers invalid_grant → reconnect_required, with an alert", async () => {
    const { org, vapiAssistantId } = await refusedEarly();
    await sandbox().googleRevokeAll();
    expect(await toolCall(vapiAssistantId, "check_availability", { date: upcoming(1) })).toMatch(RECONNECT);
    expect((await tokenRequests()).map((r) => r.status)).toEqual([400]);
    await expectReconnectRequired(org);
  });

  it("401, a refresh that works, and the retry refused too → reconnect_required, with an alert", async () => {
    const { org, vapiAssistantId } = await setup();
    await sandbox().clearRequests();
    await inject({ service: "google", method: "POST", pathPrefix: "/calendar/v3/freeBusy", count: 2, kind: "status", status: 401 });
    expect(await toolCall(vapiAssistantId, "check_availability", { date: upcoming(1) })).toMatch(RECONNECT);
    expect((await tokenRequests()).map((r) => r.status)).toEqual([200]);
    await expectReconnectRequired(org);
  });

  it("401, then the refresh fails with 500 → the 'can't reach' line; still connected, no alert; the next call recovers", async () => {
    const { org, vapiAssistantId } = await refusedEarly();
    await inject(faultFor({ service: "google", method: "POST", pathPrefix: "/token" }, "500", RETRIED));
    expect(await toolCall(vapiAssistantId, "check_availability", { date: upcoming(1) })).toMatch(UNAVAILABLE);
    expect(suite.logs().events("calendar_tool_unavailable")).toEqual([expect.objectContaining({ reason: "google_unavailable" })]);
    await expectStillConnected(org);
    await sandbox().clearFaults();
    expect(await toolCall(vapiAssistantId, "check_availability", { date: upcoming(1) }, { call: "call-2", tool: "tool-2" })).toMatch(
      /^I have /,
    );
  });
});
