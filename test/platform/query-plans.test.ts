import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { eq } from "drizzle-orm";
import { createDb, type ExecutedStatement, RequestCost, recordStatements } from "../../src/db/client";
import { alerts, organizations } from "../../src/db/schema";
import { call, json, sampleBusiness, sandbox, token } from "../helpers/api";
import { newOrg } from "../helpers/assertions";
import {
  configureTwilio,
  connectCalendar,
  created,
  HOUR,
  MINUTE,
  TWILIO_LISTED,
  TWILIO_SID,
  TWILIO_TOKEN,
  toolCall,
  upcoming,
  weekdays9to5,
} from "../helpers/faults";
import { adminToken, DAY_MS, resetTwilio, runCron } from "../helpers/operations";
import { resetState, seedNumber } from "../helpers/pool";
import { TEST_SETTINGS } from "../settings";
import { createProvisioning, webhook } from "../helpers/provisioning";

/**
 * Every statement the app and the jobs send to D1, collected while a representative workload runs through the real
 * worker and the crons, is planned with EXPLAIN QUERY PLAN: none may read a whole table that grows with the
 * platform. The statements come from the code (the recorder in src/db/client.ts), not from a list kept here.
 */

const GROWING = ["phone_numbers", "assistants", "phone_number_events", "idempotency_keys", "alerts", "twilio_numbers", "bookings"];

/**
 * Full scans that are known, each with why it is accepted for now. Matched on the table and the statement's SQL.
 * Keep it short: a new entry needs a reason a reviewer accepts, and one nothing matches any more fails the test.
 */
const ALLOWED_SCANS: { table: string; sql: RegExp; reason: string }[] = [
  {
    table: "phone_number_events",
    sql: /^select .* from "phone_number_events" left join "phone_numbers" .* order by "phone_number_events"\."id" desc limit \?$/,
    reason: "The history's first page: newest first along the rowid, stopped by the LIMIT (later pages SEARCH by id).",
  },
  {
    table: "phone_numbers",
    sql: /^select "id", "vapi_phone_number_id", "status", "source", "assistant_id" from "phone_numbers"$/,
    reason: "POST /api/admin/vapi/import (admin-run, rare) matches Vapi's whole account against every row.",
  },
  {
    table: "assistants",
    sql: /^select "id", "org_id", "state", "vapi_assistant_id" from "assistants"$/,
    reason: "POST /api/admin/vapi/import (admin-run, rare) matches Vapi's whole account against every assistant.",
  },
  {
    table: "twilio_numbers",
    sql: /^select "id", "org_id", "number", "origin", "twilio_sid" from "twilio_numbers" where "twilio_numbers"\."state" <> \?$/,
    reason: "POST /api/admin/vapi/import (admin-run, rare): every listed Twilio number, to adopt the ones Vapi holds.",
  },
  {
    table: "phone_numbers",
    sql: /^select "phone_numbers"\."id", "phone_numbers"\."vapi_phone_number_id", "assistants"\."vapi_assistant_id", "assistants"\."state" from "phone_numbers" left join "assistants"/,
    reason: "POST /api/admin/routing/convert (admin-run, once per mode change) compares every live number with Vapi's listing.",
  },
];

/**
 * Sorts before a LIMIT that are known: every match is read and sorted to give the first page. Matched on the SQL;
 * the same rules as ALLOWED_SCANS.
 */
const ALLOWED_SORTS: { sql: RegExp; reason: string }[] = [
  {
    sql: /^select "assistants"\."id", .* from "assistants" left join "phone_numbers" .* order by "assistants"\."id" asc limit \?$/,
    reason: "POST /api/admin/assistants/resync (admin-run, after a secret rotation) pages the active assistants by id.",
  },
  {
    sql: /^select "phone_numbers"\."id", "phone_numbers"\."vapi_phone_number_id", "phone_numbers"\."vapi_fallback", .* order by "phone_numbers"\."id" asc limit \?$/s,
    reason: "Edge routing's fallback sync of one organisation (after its settings change) pages its numbers by id.",
  },
];

interface PlanRow {
  id: number;
  parent: number;
  detail: string;
}

const recorded = new Map<string, ExecutedStatement>();

/** The representative workload: what members, owners, admins, Vapi and the crons do on a day. */
async function workload() {
  const org = newOrg();
  const otherOrg = newOrg();
  const member = await token({ org });
  const owner = await token({ org, role: "owner" });
  const admin = await adminToken();
  const asAdmin = (method: string, path: string, body?: unknown) => call(method, path, { token: admin, body });

  await seedNumber({ unassignedAt: new Date(Date.now() - 40 * DAY_MS).toISOString() });
  await seedNumber({ unassignedAt: new Date(Date.now() - 31 * DAY_MS).toISOString() });
  await sandbox().seedTwilioAccount({ accountSid: TWILIO_SID, authToken: TWILIO_TOKEN, numbers: [TWILIO_LISTED] });

  // Admin reads and dry runs over a pool with an old unused number.
  for (const path of [
    "/api/admin/phone-pool",
    "/api/admin/phone-pool/history",
    "/api/admin/phone-pool/twilio",
    "/api/admin/phone-pool/provisioning/events",
    "/api/admin/vapi/import",
  ]) {
    expect((await asAdmin("GET", path)).status, path).toBe(200);
  }
  expect((await asAdmin("POST", "/api/admin/phone-pool/cleanup")).status).toBe(200);
  expect((await asAdmin("POST", "/api/admin/vapi/import", {})).status).toBe(200);
  expect((await asAdmin("POST", "/api/admin/routing/convert")).status).toBe(200);

  // Organisation settings.
  await configureTwilio(org, { phone_numbers: [TWILIO_LISTED], auto_purchase: false });
  expect((await call("GET", "/api/organization/twilio", { token: owner })).status).toBe(200);
  expect((await call("PUT", "/api/organization/fallback", { token: owner, body: { phone: "+15125550100" } })).status).toBe(200);
  expect((await call("GET", "/api/organization/fallback", { token: owner })).status).toBe(200);
  expect((await asAdmin("PUT", `/api/admin/organizations/${org}/limits`, { max_concurrent_calls: 5 })).status).toBe(200);

  // Assistants: two reuse pool numbers (one through an Idempotency-Key), one gets a new provisioning number.
  const keyed = await call("POST", "/api/assistants", {
    token: member,
    // With an area code: the claim probes the pool for it first.
    body: { business_data: { ...sampleBusiness, hours: weekdays9to5 }, area_code: "415" },
    headers: { "Idempotency-Key": crypto.randomUUID() },
  });
  expect(keyed.status, await keyed.clone().text()).toBe(201);
  const first = await json(keyed);
  const second = await created(org);
  const provisioning = await createProvisioning(otherOrg);

  expect((await call("GET", "/api/assistants", { token: member })).status).toBe(200);
  expect((await call("GET", `/api/assistants/${first.id}`, { token: member })).status).toBe(200);
  expect((await call("PATCH", `/api/assistants/${first.id}`, { token: member, body: { name: "Renamed" } })).status).toBe(200);
  expect((await call("GET", `/api/assistants/${first.id}/phone`, { token: member })).status).toBe(200);
  const contact = { name: "Pat", phone: "+15125550111" };
  expect((await call("PUT", `/api/assistants/${first.id}/emergency-contact`, { token: member, body: contact })).status).toBe(200);
  expect((await call("GET", `/api/assistants/${first.id}/emergency-contact`, { token: member })).status).toBe(200);
  expect((await call("DELETE", `/api/assistants/${first.id}/emergency-contact`, { token: member })).status).toBe(204);

  // A number that failed: the assistant asks for another (its organisation's own Twilio number).
  await env.DB.prepare("UPDATE phone_numbers SET status = 'failed' WHERE id = ?").bind(second.phone_number_id).run();
  const assigned = await call("POST", `/api/assistants/${second.id}/phone`, { token: member, body: {} });
  expect(assigned.status, await assigned.clone().text()).toBe(200);

  // Calendar: status, and a booking made by a tool call.
  expect((await call("GET", "/api/calendar/status", { token: member })).status).toBe(200);
  await connectCalendar(org);
  expect((await call("GET", "/api/calendar/status", { token: member })).status).toBe(200);
  await toolCall(first.vapi_assistant_id, "book_appointment", {
    start: `${upcoming(2)}T14:00`,
    duration_minutes: 60,
    caller_name: "Sam Lee",
    caller_phone: "+15125550123",
  });

  // Vapi's webhooks: routing a call, call status on a provisioning number (proves it live), the end of a call.
  const firstNumber = await env.DB.prepare("SELECT vapi_phone_number_id AS v FROM phone_numbers WHERE id = ?")
    .bind(first.phone_number_id)
    .first<{ v: string }>();
  const routed = await webhook({
    type: "assistant-request",
    call: { id: crypto.randomUUID(), type: "inboundPhoneCall", phoneNumberId: firstNumber!.v },
    customer: { number: "+15125550199" },
  });
  expect(routed.status).toBe(200);
  const callOnProvisioning = {
    id: "call-proof",
    type: "inboundPhoneCall",
    phoneNumberId: provisioning.vapiId,
    assistantId: provisioning.assistant.vapi_assistant_id,
  };
  const proof = { call: callOnProvisioning, phoneNumber: { number: "+14155550142" }, timestamp: Date.now() - MINUTE };
  expect((await webhook({ type: "status-update", status: "in-progress", ...proof })).status).toBe(200);
  expect((await webhook({ type: "end-of-call-report", endedReason: "customer-ended-call", ...proof })).status).toBe(200);

  await toolCall(first.vapi_assistant_id, "check_availability", { date: upcoming(3), duration_minutes: 60 });
  expect((await call("POST", "/api/calendar/disconnect", { token: owner })).status).toBeLessThan(300);

  // Admin repairs and resyncs.
  const refreshed = await asAdmin("POST", `/api/admin/phone-numbers/${provisioning.numberId}/refresh`);
  expect(refreshed.status, await refreshed.clone().text()).toBe(200);
  const numberOfFirst = await env.DB.prepare("SELECT number FROM phone_numbers WHERE id = ?")
    .bind(first.phone_number_id)
    .first<{ number: string }>();
  const repaired = await asAdmin("PATCH", `/api/admin/phone-numbers/${first.phone_number_id}`, { number: numberOfFirst!.number });
  expect(repaired.status, await repaired.clone().text()).toBe(200);
  expect((await asAdmin("POST", `/api/admin/assistants/resync?org_id=${org}`)).status).toBe(200);
  expect((await asAdmin("POST", "/api/admin/assistants/resync")).status).toBe(200);
  const openAlert = await env.DB.prepare("SELECT id FROM alerts WHERE status = 'open' LIMIT 1").first<{ id: number }>();
  if (openAlert) expect((await asAdmin("POST", `/api/admin/alerts/${openAlert.id}/resolve`)).status).toBe(200);

  // Admin writes after the record has grown.
  expect((await asAdmin("POST", "/api/admin/phone-pool/pre-provision", { count: 1 })).status).toBe(200);
  expect((await asAdmin("GET", "/api/admin/phone-pool")).status).toBe(200);
  expect((await asAdmin("GET", "/api/admin/phone-pool/history")).status).toBe(200);
  expect((await asAdmin("GET", "/api/admin/phone-pool/usage?days=90")).status).toBe(200);
  expect((await asAdmin("POST", "/api/admin/routing/convert")).status).toBe(200);

  expect((await call("DELETE", `/api/assistants/${second.id}`, { token: member })).status).toBe(204);
  expect((await call("DELETE", "/api/organization/twilio", { token: owner })).status).toBe(204);

  await edgeWorkload();

  // The jobs, later: the 5-minute sweep and the daily maintenance (edge routing adds the fallback repair).
  await runCron("*/5 * * * *", Date.now() + 11 * MINUTE);
  await runCron("17 3 * * *", Date.now() + 2 * HOUR);
  await runCron("17 3 * * *", Date.now() + 31 * DAY_MS, { ROUTING_MODE: "edge" });
}

/** With ROUTING_MODE=edge, numbers carry fallbacks and calls are admitted against caps: their own queries. */
async function edgeWorkload() {
  const app = createApp();
  const org = newOrg();
  const send = async (method: string, path: string, options: { token?: string | null; body?: unknown } = {}) => {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (options.token) headers.Authorization = `Bearer ${options.token}`;
    else headers["X-Vapi-Secret"] = TEST_SETTINGS.VAPI_WEBHOOK_SECRET;
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const response = await app.request(`https://switchboard.test${path}`, { method, headers, body }, { ...env, ROUTING_MODE: "edge" });
    expect(response.status, `${method} ${path}: ${await response.clone().text()}`).toBeLessThan(300);
    return response;
  };
  const member = await token({ org });
  const owner = await token({ org, role: "owner" });
  const number = await seedNumber();
  await send("PUT", "/api/organization/fallback", { token: owner, body: { phone: "+15125550100" } });
  const assistant = await json(await send("POST", "/api/assistants", { token: member, body: { business_data: sampleBusiness } }));
  await send("PUT", `/api/assistants/${assistant.id}/emergency-contact`, { token: member, body: { name: "Pat", phone: "+15125550111" } });
  const callId = crypto.randomUUID();
  await send("POST", "/webhooks/vapi", {
    body: {
      message: {
        type: "assistant-request",
        call: { id: callId, type: "inboundPhoneCall", phoneNumberId: number.vapiId },
        customer: { number: "+15125550199" },
      },
    },
  });
  await send("POST", "/webhooks/vapi", {
    body: {
      message: { type: "status-update", status: "ended", call: { id: callId, phoneNumberId: number.vapiId }, timestamp: Date.now() },
    },
  });
  await send("DELETE", `/api/organization/fallback`, { token: owner });
  await send("DELETE", `/api/assistants/${assistant.id}`, { token: member });
}

async function planOf(statement: ExecutedStatement): Promise<PlanRow[]> {
  const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${statement.sql}`)
    .bind(...statement.params)
    .all<PlanRow>();
  return results;
}

/** The statement's table aliases (`FROM phone_numbers p`): the plan names a table by its alias. */
function aliasesOf(sql: string): Map<string, string> {
  const aliases = new Map<string, string>();
  for (const [, table, alias] of sql.matchAll(/\b(?:from|join)\s+"?(\w+)"?(?:\s+(?:as\s+)?"?(\w+)"?)?/gi)) {
    if (alias && !/^(where|on|left|inner|join|group|order|limit|union|set|values|using)$/i.test(alias)) aliases.set(alias, table!);
  }
  return aliases;
}

/** The table a `SCAN` line reads and how: `full` without an index, `index` along one (ORDER BY … LIMIT, covering). */
function scanOf(detail: string, aliases: Map<string, string>): { table: string; kind: "full" | "index" } | null {
  const match = /^SCAN (\S+)(?: AS \S+)?(.*)$/.exec(detail);
  if (!match) return null;
  return { table: aliases.get(match[1]!) ?? match[1]!, kind: /\bUSING\b/.test(match[2]!) ? "index" : "full" };
}

const short = (sql: string) => sql.replace(/\s+/g, " ").slice(0, 4000);

beforeAll(async () => {
  await resetState();
  await resetTwilio();
  recordStatements((statement) => {
    if (!recorded.has(statement.sql)) recorded.set(statement.sql, statement);
  });
  try {
    await workload();
  } finally {
    recordStatements(null);
  }
}, 120_000);

afterAll(() => recordStatements(null));

describe("the statement recorder", () => {
  it("hears each statement with its parameters, alone or in a batch, and nothing once cleared", async () => {
    const heard: ExecutedStatement[] = [];
    const db = createDb(env.DB, new RequestCost());
    recordStatements((statement) => heard.push(statement));
    try {
      await db.select({ id: alerts.id }).from(alerts).where(eq(alerts.kind, "one"));
      await db.batch([db.select({ id: alerts.id }).from(alerts).where(eq(alerts.kind, "two")), db.select().from(organizations)]);
      recordStatements(null);
      await db.select({ id: alerts.id }).from(alerts).where(eq(alerts.kind, "three"));
    } finally {
      recordStatements(null);
    }
    expect(heard.map((s) => s.params)).toEqual([["one"], ["two"], []]);
    expect(heard[2]!.sql).toContain('from "organizations"');
  });
});

describe("query plans", () => {
  it("the workload reached every growing table", () => {
    const sqls = [...recorded.keys()];
    for (const table of GROWING) {
      expect(
        sqls.some((sql) => sql.includes(`"${table}"`) || new RegExp(`\\b${table}\\b`).test(sql)),
        table,
      ).toBe(true);
    }
    // A floor, so a workload that silently stops reaching most of the code fails (88 statements when written).
    expect(recorded.size).toBeGreaterThan(80);
  });

  it("no statement reads a whole growing table", async () => {
    const failures: string[] = [];
    const warnings: string[] = [];
    const allowedSeen = new Set<(typeof ALLOWED_SCANS)[number] | (typeof ALLOWED_SORTS)[number]>();
    for (const statement of recorded.values()) {
      const plan = await planOf(statement);
      const aliases = aliasesOf(statement.sql);
      // A LIMIT bounds nothing when the rows are sorted afterwards: every match is read first.
      if (/\blimit\b/i.test(statement.sql) && plan.some((row) => row.detail.startsWith("USE TEMP B-TREE FOR ORDER BY"))) {
        const allowed = ALLOWED_SORTS.find((a) => a.sql.test(statement.sql));
        if (allowed) allowedSeen.add(allowed);
        else failures.push(`sorted before its LIMIT: ${plan.map((row) => row.detail).join("; ")}\n    ${short(statement.sql)}`);
      }
      for (const row of plan) {
        const scan = scanOf(row.detail, aliases);
        if (!scan || !GROWING.includes(scan.table)) continue;
        const line = `${row.detail}\n    ${short(statement.sql)}`;
        if (scan.kind === "index") {
          warnings.push(line);
          continue;
        }
        const allowed = ALLOWED_SCANS.find((a) => a.table === scan.table && a.sql.test(statement.sql));
        if (allowed) allowedSeen.add(allowed);
        else failures.push(line);
      }
    }
    if (warnings.length > 0) console.warn(`Reads that grow with their matches (scans along an index):\n  ${warnings.join("\n  ")}`);
    expect(failures, `Full scans of growing tables, sorts before a LIMIT:\n  ${failures.join("\n  ")}`).toEqual([]);
    // An exception nothing needs any more is removed, so the list stays short and true.
    expect([...ALLOWED_SCANS, ...ALLOWED_SORTS].filter((a) => !allowedSeen.has(a)).map((a) => a.reason)).toEqual([]);
  });

  it("a pool claim probes the queue indexes in order (own, then shared; the area code, then any); the pool's counts read indexes alone", async () => {
    const statements = [...recorded.values()];
    const claims = statements.filter((s) => s.sql.startsWith('update "phone_numbers" set "assistant_id" = ?, "assigned_at" = ?'));
    const probesOf = async (statement: ExecutedStatement) =>
      (await planOf(statement))
        .filter((row) => row.detail.startsWith("SEARCH phone_numbers USING INDEX phone_numbers_pool"))
        .map((row) => row.detail);
    const plans = await Promise.all(claims.map(probesOf));
    expect(plans).toContainEqual([
      "SEARCH phone_numbers USING INDEX phone_numbers_pool_area (status=? AND assistant_id=? AND org_id=? AND area_code=?)",
      "SEARCH phone_numbers USING INDEX phone_numbers_pool (status=? AND assistant_id=? AND org_id=?)",
      "SEARCH phone_numbers USING INDEX phone_numbers_pool_area (status=? AND assistant_id=? AND org_id=? AND area_code=?)",
      "SEARCH phone_numbers USING INDEX phone_numbers_pool (status=? AND assistant_id=? AND org_id=?)",
    ]);
    const reserve = statements.find(
      (s) => s.sql.startsWith('insert into "phone_numbers"') && s.sql.includes("FROM phone_numbers WHERE source = 'vapi_free'"),
    );
    expect((await planOf(reserve!)).map((row) => row.detail)).toContain(
      "SEARCH phone_numbers USING COVERING INDEX phone_numbers_source_status (source=? AND status=?)",
    );
    // The overview's counts: in the index's order, so nothing is sorted to group them.
    const stats = statements.find((s) => s.sql.startsWith('select "provider", "status", ') && s.sql.includes("group by"));
    expect((await planOf(stats!)).map((row) => row.detail)).toEqual(["SEARCH phone_numbers USING INDEX phone_numbers_stats (status=?)"]);
  });
});
