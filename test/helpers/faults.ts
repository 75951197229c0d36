import { env } from "cloudflare:workers";
import { afterEach, beforeEach, expect, vi } from "vitest";
import type { SandboxFault } from "../../dev/sandbox/upstream-sandbox";
import { call, json, sampleBusiness, sandbox, token } from "./api";
import { expectError } from "./assertions";
import { adminToken, runCron } from "./operations";
import { checkPoolInvariants, resetState, seedNumbers } from "./pool";
import { webhook } from "./provisioning";

/**
 * The fault suites' shared moves: inject a fault, run the crons as Cloudflare would (later than now, past the
 * repair windows), and check the invariants a user (or an operator) would check afterwards.
 */

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** The fault kinds every scenario is tried with. */
export type FaultKind =
  | "500"
  | "429_retry_after_0"
  | "429_retry_after_120"
  | "timeout"
  | "timeout_after_processing"
  | "malformed"
  | "malformed_after_processing";

export interface FaultTarget {
  service: SandboxFault["service"];
  method: string;
  pathPrefix: string;
}

/**
 * How many times the client sends a call before giving up: Vapi and Google retry 408/429/5xx (3 attempts with
 * the tests' UPSTREAM_MAX_RETRIES of 2) and resend on a timeout only when the call is idempotent (not a POST
 * that creates); Twilio retries 429 only.
 */
export interface Attempts {
  status: number;
  timeout: number;
}
export const RETRIED: Attempts = { status: 3, timeout: 3 };
export const RETRIED_POST: Attempts = { status: 3, timeout: 1 };

/**
 * The fault for `kind` on `target`, repeated as often as the client tries, so a 500 or a timeout outlasts the
 * retries; a 429 with `Retry-After: 0` is answered once (the retry then succeeds); a 429 asking for 120 s is not
 * waited for; a malformed 200 is never retried (`malformed_after_processing`: the upstream acted before garbling it).
 */
export function faultFor(target: FaultTarget, kind: FaultKind, attempts: Attempts = RETRIED): SandboxFault {
  switch (kind) {
    case "500":
      return { ...target, count: attempts.status, kind: "status", status: 500 };
    case "429_retry_after_0":
      return { ...target, count: 1, kind: "status", status: 429, retryAfterSeconds: 0 };
    case "429_retry_after_120":
      return { ...target, count: 1, kind: "status", status: 429, retryAfterSeconds: 120 };
    case "timeout":
      return { ...target, count: attempts.timeout, kind: "timeout" };
    case "timeout_after_processing":
      return { ...target, count: attempts.timeout, kind: "timeout", afterProcessing: true };
    case "malformed":
      return { ...target, count: 1, kind: "malformed" };
    case "malformed_after_processing":
      return { ...target, count: 1, kind: "malformed", afterProcessing: true };
  }
}

export const inject = (fault: SandboxFault) => sandbox().injectFault(fault);

/** Empties the record (every table a fault scenario touches) and the simulated upstreams. */
export async function resetAll(): Promise<void> {
  await resetState();
  await env.DB.batch(
    ["organizations", "twilio_numbers", "calendar_connections", "oauth_states", "bookings"].map((t) => env.DB.prepare(`DELETE FROM ${t}`)),
  );
}

/** The 5-minute cron (provisioning sweep, repair of interrupted creations, alert review), `minutesLater` from now. */
export const sweep = (minutesLater = 11) => runCron("*/5 * * * *", Date.now() + minutesLater * MINUTE);
/** The daily cron (reconcile numbers and assistants, cleanup, key pruning), late enough that nothing is "in flight". */
export const daily = (hoursLater = 2) => runCron("17 3 * * *", Date.now() + hoursLater * HOUR);

// ---------------------------------------------------------------------------------------------------------------
// Logs: the worker, its Durable Objects and the sandbox run in the test's isolate, so console is observable.

export interface LogLine {
  level: string;
  event: string;
  [key: string]: unknown;
}

/** Records every structured log line from now on (still printed); `vi.restoreAllMocks()` ends it. */
export function captureLogs() {
  const lines: LogLine[] = [];
  for (const level of ["log", "warn", "error"] as const) {
    const original = console[level].bind(console);
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      try {
        const parsed = JSON.parse(String(args[0])) as LogLine;
        if (parsed && typeof parsed.event === "string") lines.push(parsed);
      } catch {
        // not one of ours
      }
      original(...args);
    });
  }
  return {
    lines,
    events: (event: string) => lines.filter((l) => l.event === event),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// What the caller got.

/** The one error shape, with this status and code, and never a bare `internal_error`. */
export async function expectFailure(response: Response, status: number, code: string) {
  expect(code).not.toBe("internal_error");
  return expectError(response, status, code);
}

// ---------------------------------------------------------------------------------------------------------------
// Invariants.

interface PoolRow {
  id: string;
  status: string;
  assistant_id: string | null;
  org_id: string | null;
  number: string | null;
  vapi_phone_number_id: string | null;
  source: string;
  assistant_vapi_id: string | null;
}

export interface InvariantOptions {
  /** After the daily reconcile: Vapi and D1 agree exactly (no orphan number, no stray assistant, same assignments). */
  reconciled?: boolean;
  /** A Twilio account whose numbers bought by Switchboard must all be on record. */
  twilioAccountSid?: string;
}

/**
 * No number on two assistants (in D1 or in Vapi), no number lost (every pool row is in Vapi; after reconcile every
 * Vapi number is a pool row), no half-made assistant (none `creating`, no reservation without its Vapi number,
 * every active assistant exists in Vapi; after reconcile no Vapi assistant of ours without its active row),
 * totals that add up (the admin dashboard's), and Twilio numbers neither stranded mid-import nor bought and forgotten.
 */
export async function expectInvariants(options: InvariantOptions = {}): Promise<void> {
  await checkPoolInvariants(10);

  const rows = (
    await env.DB.prepare(
      `SELECT p.id, p.status, p.assistant_id, p.org_id, p.number, p.vapi_phone_number_id, p.source, a.vapi_assistant_id AS assistant_vapi_id
       FROM phone_numbers p LEFT JOIN assistants a ON a.id = p.assistant_id`,
    ).all<PoolRow>()
  ).results;
  const live = rows.filter((r) => r.status !== "released");
  const vapiNumbers = await sandbox().vapiPhoneNumbers();
  const inVapi = new Map(vapiNumbers.map((n) => [String(n.id), n]));

  expect(
    live.filter((r) => !r.vapi_phone_number_id).map((r) => r.id),
    "reservations left without a Vapi number",
  ).toEqual([]);
  expect(
    live.filter((r) => !inVapi.has(r.vapi_phone_number_id!)).map((r) => r.id),
    "pool rows whose number is not in Vapi",
  ).toEqual([]);

  const pointedAt = vapiNumbers.map((n) => n.assistantId).filter((id): id is string => typeof id === "string");
  expect(
    pointedAt.filter((id, i) => pointedAt.indexOf(id) !== i),
    "a Vapi assistant answering on two numbers",
  ).toEqual([]);
  for (const row of live.filter((r) => r.assistant_id)) {
    expect(inVapi.get(row.vapi_phone_number_id!)?.assistantId ?? null, `Vapi number of ${row.id} points at its assistant`).toBe(
      row.assistant_vapi_id,
    );
  }

  const active = (
    await env.DB.prepare("SELECT id, vapi_assistant_id FROM assistants WHERE state = 'active'").all<{
      id: string;
      vapi_assistant_id: string | null;
    }>()
  ).results;
  const vapiAssistants = await sandbox().vapiAssistants();
  const vapiAssistantIds = new Set(vapiAssistants.map((a) => String(a.id)));
  expect(
    active.filter((a) => !a.vapi_assistant_id || !vapiAssistantIds.has(a.vapi_assistant_id)).map((a) => a.id),
    "active assistants missing in Vapi",
  ).toEqual([]);

  if (options.reconciled) {
    const known = new Set(live.map((r) => r.vapi_phone_number_id));
    expect(
      vapiNumbers.filter((n) => !known.has(String(n.id))).map((n) => ({ id: n.id, name: n.name, number: n.number })),
      "Vapi numbers that are in no pool row (lost)",
    ).toEqual([]);
    for (const row of live.filter((r) => !r.assistant_id)) {
      expect(
        inVapi.get(row.vapi_phone_number_id!)?.assistantId ?? null,
        `unassigned number ${row.id} still points at an assistant in Vapi`,
      ).toBeNull();
    }
    const activeByVapiId = new Map(active.map((a) => [a.vapi_assistant_id, a.id]));
    const strays = vapiAssistants.filter((a) => {
      const ours = a.metadata?.switchboardAssistantId;
      return typeof ours === "string" && activeByVapiId.get(String(a.id)) !== ours;
    });
    expect(
      strays.map((a) => ({ id: a.id, switchboardAssistantId: a.metadata?.switchboardAssistantId })),
      "Vapi assistants without their active row",
    ).toEqual([]);
  }

  const overview = await call("GET", "/api/admin/phone-pool", { token: await adminToken() });
  expect(overview.status).toBe(200);
  const { stats } = await json(overview);
  expect(stats.assigned + stats.unassigned + stats.provisioning + stats.stuck, JSON.stringify(stats)).toBe(stats.total);
  expect(stats.total).toBe(live.length);

  const twilioRows = (
    await env.DB.prepare("SELECT id, org_id, number, origin, state, phone_number_id FROM twilio_numbers").all<Record<string, any>>()
  ).results;
  expect(
    twilioRows.filter((t) => t.state === "importing"),
    "Twilio numbers stranded mid-import",
  ).toEqual([]);
  for (const t of twilioRows.filter((t) => t.state === "in_vapi")) {
    const row = live.find((r) => r.id === t.phone_number_id);
    expect(row?.number, `Twilio number ${t.number} in Vapi has its pool row`).toBe(t.number);
  }
  if (options.twilioAccountSid) {
    const bought = (await sandbox().twilioNumbers(options.twilioAccountSid)).filter((n) => n.friendlyName.startsWith("Switchboard "));
    const recorded = new Set(twilioRows.map((t) => t.number));
    expect(
      bought.filter((n) => !recorded.has(n.phoneNumber)).map((n) => n.phoneNumber),
      "Twilio numbers Switchboard bought but has no record of",
    ).toEqual([]);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Flows.

export const createBody = { business_data: sampleBusiness, languages: ["en"] };

export async function createAs(org: string, extra: Record<string, unknown> = {}) {
  return call("POST", "/api/assistants", { token: await token({ org }), body: { ...createBody, ...extra } });
}

export async function created(org: string, extra: Record<string, unknown> = {}) {
  const response = await createAs(org, extra);
  const body = await json(response);
  expect(response.status, JSON.stringify(body)).toBe(201);
  return body as Record<string, any>;
}

export const TWILIO_SID = `AC${"0".repeat(32)}`;
export const TWILIO_TOKEN = "sandbox-twilio-auth-token";
export const TWILIO_LISTED = "+14155550101";

/** The organisation's owner saves the sandbox's demo Twilio account. */
export async function configureTwilio(org: string, body: Record<string, unknown>) {
  const response = await call("PUT", "/api/organization/twilio", {
    token: await token({ org, role: "owner" }),
    body: { account_sid: TWILIO_SID, auth_token: TWILIO_TOKEN, ...body },
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

/** No room for free numbers: ten free numbers, all stuck (they still hold their slots), so only Twilio can help. */
export async function fillFreePool() {
  const seeded = await seedNumbers(10);
  await env.DB.prepare(`UPDATE phone_numbers SET status = 'stuck' WHERE id IN (${seeded.map(() => "?").join(",")})`)
    .bind(...seeded.map((s) => s.id))
    .run();
  return seeded;
}

/** The browser round trip through the sandbox's Google: the organisation's calendar is connected. */
export async function connectCalendar(org: string) {
  const owner = await token({ org, role: "owner" });
  const { url } = await json(await call("GET", "/api/calendar/google/auth", { token: owner }));
  const consent = new URL(url);
  const google = await call("GET", consent.pathname + consent.search, { token: null });
  expect(google.status).toBe(302);
  const back = new URL(google.headers.get("Location")!);
  const callback = await call("GET", back.pathname + back.search, { token: null });
  expect(new URL(callback.headers.get("Location")!).searchParams.get("calendar")).toBe("connected");
}

/** A calendar tool call as Vapi sends it; the answer must be HTTP 200 with one line to say. */
export async function toolCall(
  vapiAssistantId: string,
  name: string,
  args: unknown,
  ids = { call: "call-1", tool: "tool-1" },
): Promise<string> {
  const response = await webhook({
    type: "tool-calls",
    call: { id: ids.call, assistantId: vapiAssistantId },
    toolCallList: [{ id: ids.tool, type: "function", function: { name, arguments: args } }],
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  const body = JSON.parse(text);
  const line = body.results[0].result ?? body.results[0].error;
  expect(typeof line).toBe("string");
  expect(line.length).toBeGreaterThan(0);
  expect(line).not.toContain("\n");
  return line as string;
}

/** A weekday at least two days from now, as YYYY-MM-DD. */
export function upcoming(weekday: number): string {
  const d = new Date(Date.now() + 2 * 86_400_000);
  while (d.getUTCDay() !== weekday) d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

export const weekdays9to5 = Object.fromEntries(["mon", "tue", "wed", "thu", "fri"].map((d) => [d, [{ open: "09:00", close: "17:00" }]]));

/**
 * The setup every fault suite shares: a clean record, sandbox and log capture before each test; no mocks or
 * pending faults after. `logs()` is the current test's capture.
 */
export function useFaultSuite(): { logs: () => ReturnType<typeof captureLogs> } {
  let current: ReturnType<typeof captureLogs>;
  beforeEach(async () => {
    await resetAll();
    current = captureLogs();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await sandbox().clearFaults();
  });
  return { logs: () => current };
}

export const vapiAssistantIds = async () => (await sandbox().vapiAssistants()).map((a) => String(a.id));

/** After a fault: the 5-minute sweep past the repair window, the invariants, the daily reconcile, the strict ones. */
export async function settleAndCheck(options: Omit<InvariantOptions, "reconciled"> = {}): Promise<void> {
  await sandbox().clearFaults();
  await sweep(11);
  await expectInvariants(options);
  await daily();
  await expectInvariants({ ...options, reconciled: true });
}
