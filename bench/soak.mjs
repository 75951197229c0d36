#!/usr/bin/env node
// `npm run soak [-- --duration 60 --concurrency 8 --orgs 4 --free-limit 25 --settle 5]`: starts `wrangler dev`
// (sandbox upstream, throwaway state) and runs, for a bounded time and request count, a concurrent mix of
// creates and deletes of assistants in several organisations, lists, Vapi webhooks on the numbers the
// assistants got and check_availability tool calls. Then it stops the traffic, lets in-flight work settle,
// stops wrangler and checks the pool's invariants directly in D1. Prints PASS/FAIL lines, requests, statuses
// and latency per route; writes bench/soak-results.json. Exits non-zero on an invariant failure or on any
// unexpected answer (every 5xx is unexpected). Plain Node ESM, no dependencies; traffic only to 127.0.0.1.
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { assistantBody, DevServer, percentile, printTable, ROOT, runScript, SECRETS, sleep, token } from "./lib.mjs";

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "60" }, // seconds of traffic
    concurrency: { type: "string", default: "8" }, // concurrent clients
    orgs: { type: "string", default: "4" },
    "free-limit": { type: "string", default: "25" }, // VAPI_FREE_NUMBER_LIMIT
    settle: { type: "string", default: "5" }, // seconds between the last answer and the checks
    "max-requests": { type: "string", default: "50000" },
  },
});

function intArg(name, min, max) {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`soak: --${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(args[name])})`);
    process.exit(2);
  }
  return value;
}

const SETTINGS = {
  duration_s: intArg("duration", 1, 3600),
  concurrency: intArg("concurrency", 1, 64),
  orgs: intArg("orgs", 1, 50),
  free_number_limit: intArg("free-limit", 1, 1000),
  settle_s: intArg("settle", 0, 120),
  max_requests: intArg("max-requests", 1, 1_000_000),
  request_timeout_ms: 30_000,
  snapshot_every_ms: 2_000, // how often the numbers' Vapi ids are read from D1 during the traffic
  startup_tries: 240, // × 500 ms
  // The share of each kind of request (creates fall back to lists etc. when there is nothing to act on).
  mix: { create: 30, delete: 15, list: 20, webhook: 20, tool: 15 },
};
SETTINGS.deadline_ms = (SETTINGS.duration_s + SETTINGS.settle_s) * 1000 + 10 * 60_000;

const VARS = {
  UPSTREAM_MODE: "sandbox",
  // Small, so the pool fills: then creates answer 409 pool_exhausted (expected) until deletes free numbers.
  VAPI_FREE_NUMBER_LIMIT: String(SETTINGS.free_number_limit),
  // The simulated account accepts more, so only Switchboard's own accounting keeps it within the limit.
  SANDBOX_VAPI_NUMBER_LIMIT: String(SETTINGS.free_number_limit * 4),
  // New numbers stay "activating" briefly and trackers poll every second: their alarms run under the load.
  SANDBOX_ACTIVATION_DELAY_SECONDS: "2",
  POLL_INTERVAL_SECONDS: "1",
  RATE_LIMITS_ENABLED: "false",
};

const server = new DevServer({
  name: "soak",
  vars: VARS,
  startupTries: SETTINGS.startup_tries,
  requestTimeoutMs: SETTINGS.request_timeout_ms,
  preferredPort: 8798,
});

const ORGS = Array.from({ length: SETTINGS.orgs }, (_, i) => {
  const id = `soak-org-${i + 1}`;
  return { id, token: token(id, { prefix: "soak" }) };
});
const CALENDAR_FALLBACK = "take your name and number";

// ---------- what the client knows ----------

/** Assistants created (201) and not being deleted: id → { id, org, vapiAssistantId, phoneNumberId }. */
const live = new Map();
/** Numbers of live assistants, as the API answered them: phone_number_id → assistant id. */
const liveNumbers = new Map();
/** Assistants whose DELETE answered 204. */
const deleted = new Map();
/** Numbers with a Vapi id, read from D1 during the traffic: [{ vapi_id, number, status, vapi_assistant_id }]. */
let numberSnapshot = [];
const snapshots = { taken: 0, failed: 0, last_error: null };

const samples = []; // { route, status, code, ms, outcome: "ok" | "expected" | "unexpected" }
const unexpected = []; // the first ones in detail
let sent = 0;
let createSeq = 0;
let callSeq = 0;

function record(route, res, outcome, why) {
  const code = res.json?.error?.code ?? null;
  samples.push({ route, status: res.status, code, ms: res.ms, outcome });
  if (outcome === "unexpected" && unexpected.length < 25) {
    unexpected.push({ route, status: res.status, code, why: why ?? null, request_id: res.requestId, body: res.text.slice(0, 300) });
  }
}

const pick = (list) => list[Math.floor(Math.random() * list.length)];

/** A weekday at least two days ahead, as YYYY-MM-DD (the calendar tool refuses the past and short notice). */
function upcomingWeekday() {
  const d = new Date(Date.now() + 2 * 86_400_000);
  while (d.getUTCDay() === 0 || d.getUTCDay() === 6) d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

// ---------- the requests ----------

async function create() {
  const org = pick(ORGS);
  const i = createSeq++;
  const res = await server.call("POST", "/api/assistants", {
    auth: org.token,
    body: assistantBody(i),
    headers: { "Idempotency-Key": randomUUID() },
  });
  const route = "POST /api/assistants";
  if (res.status === 201) {
    const a = res.json ?? {};
    if (!a.id || !a.vapi_assistant_id || !a.phone_number_id || !["active", "provisioning"].includes(a.phone_status)) {
      return record(route, res, "unexpected", "201 without an assistant id, a Vapi id and an active or provisioning number");
    }
    const holder = liveNumbers.get(a.phone_number_id);
    if (holder) return record(route, res, "unexpected", `number ${a.phone_number_id} was given while assistant ${holder} still holds it`);
    live.set(a.id, { id: a.id, org, vapiAssistantId: a.vapi_assistant_id, phoneNumberId: a.phone_number_id });
    liveNumbers.set(a.phone_number_id, a.id);
    return record(route, res, "ok");
  }
  if (res.status === 409 && res.json?.error?.code === "pool_exhausted") return record(route, res, "expected");
  return record(route, res, "unexpected");
}

async function remove() {
  const victim = pick([...live.values()]);
  // Out of the client's view first: nothing is sent for it as if it were live while it goes, and its number
  // may be handed to a concurrent create as soon as the DELETE has unassigned it, before the 204 arrives here.
  live.delete(victim.id);
  liveNumbers.delete(victim.phoneNumberId);
  const res = await server.call("DELETE", `/api/assistants/${victim.id}`, { auth: victim.org.token });
  const route = "DELETE /api/assistants/:id";
  if (res.status === 204) {
    deleted.set(victim.id, victim);
    return record(route, res, "ok");
  }
  // Not deleted: it stays live (the invariants will say whether D1 agrees).
  live.set(victim.id, victim);
  if (!liveNumbers.has(victim.phoneNumberId)) liveNumbers.set(victim.phoneNumberId, victim.id);
  return record(route, res, "unexpected");
}

async function list() {
  const org = pick(ORGS);
  const res = await server.call("GET", "/api/assistants", { auth: org.token });
  const route = "GET /api/assistants";
  if (res.status === 200 && Array.isArray(res.json?.assistants)) return record(route, res, "ok");
  return record(route, res, "unexpected", res.status === 200 ? "200 without an assistants array" : undefined);
}

async function webhook() {
  const n = pick(numberSnapshot);
  const type = Math.random() < 0.6 ? "status-update" : "end-of-call-report";
  const message = {
    type,
    timestamp: Date.now(),
    call: { id: `soak-call-${callSeq++}`, phoneNumberId: n.vapi_id, ...(n.vapi_assistant_id ? { assistantId: n.vapi_assistant_id } : {}) },
    // Real digits only (a number still provisioning has none yet: the service then asks Vapi).
    ...(n.number ? { phoneNumber: { id: n.vapi_id, number: n.number } } : {}),
    ...(type === "status-update" ? { status: "in-progress" } : { endedReason: "customer-ended-call", durationSeconds: 42 }),
  };
  const res = await server.call("POST", "/webhooks/vapi", { body: { message }, headers: { "X-Vapi-Secret": SECRETS.VAPI_WEBHOOK_SECRET } });
  record(`POST /webhooks/vapi ${type}`, res, res.status === 200 ? "ok" : "unexpected");
}

async function toolCall() {
  // Mostly live assistants; sometimes one already deleted (answered 200 with an error line).
  const deletedOnes = [...deleted.values()];
  const onDeleted = deletedOnes.length > 0 && Math.random() < 0.1;
  const a = onDeleted ? pick(deletedOnes) : pick([...live.values()]);
  const id = callSeq++;
  const message = {
    type: "tool-calls",
    call: { id: `soak-call-${id}`, assistantId: a.vapiAssistantId },
    toolCallList: [
      {
        id: `soak-tool-${id}`,
        type: "function",
        function: { name: "check_availability", arguments: { date: upcomingWeekday(), duration_minutes: 30 } },
      },
    ],
  };
  const res = await server.call("POST", "/webhooks/vapi", { body: { message }, headers: { "X-Vapi-Secret": SECRETS.VAPI_WEBHOOK_SECRET } });
  const route = "POST /webhooks/vapi tool-calls";
  if (res.status !== 200) return record(route, res, "unexpected");
  const answer = res.json?.results?.[0];
  if (onDeleted)
    return record(route, res, answer?.error ? "ok" : "unexpected", "a deleted assistant's tool call was answered as if it were active");
  // Still live unless a concurrent delete began meanwhile (then either answer is right).
  if (answer?.result?.includes(CALENDAR_FALLBACK) || !live.has(a.id)) return record(route, res, "ok");
  return record(route, res, "unexpected", `expected the "${CALENDAR_FALLBACK}" line`);
}

function nextAction() {
  const { mix } = SETTINGS;
  let roll = Math.random() * Object.values(mix).reduce((x, y) => x + y, 0);
  let kind = "list";
  for (const [k, weight] of Object.entries(mix)) {
    roll -= weight;
    if (roll < 0) {
      kind = k;
      break;
    }
  }
  if (kind === "delete" && live.size === 0) return create;
  if (kind === "tool" && live.size === 0) return list;
  if (kind === "webhook" && numberSnapshot.length === 0) return list;
  return { create, delete: remove, list, webhook, tool: toolCall }[kind];
}

/** Refreshes the numbers' Vapi ids from D1 (wrangler d1 execute) until the traffic ends. */
async function snapshotLoop(until, stopped) {
  const maxSnapshots = Math.ceil((until - Date.now()) / SETTINGS.snapshot_every_ms) + 1;
  for (let i = 0; i < maxSnapshots && !stopped() && Date.now() < until; i++) {
    try {
      const [rows] = await server.d1(
        "SELECT p.vapi_phone_number_id AS vapi_id, p.number, p.status, a.vapi_assistant_id FROM phone_numbers p " +
          "LEFT JOIN assistants a ON a.id = p.assistant_id AND a.state = 'active' " +
          "WHERE p.vapi_phone_number_id IS NOT NULL AND p.status != 'released'",
        { timeoutMs: 30_000 },
      );
      numberSnapshot = rows;
      snapshots.taken++;
    } catch (error) {
      snapshots.failed++;
      snapshots.last_error = String(error.message ?? error).slice(0, 300);
    }
    for (let waited = 0; waited < SETTINGS.snapshot_every_ms && !stopped(); waited += 250) await sleep(250);
  }
}

async function traffic() {
  const started = Date.now();
  const until = started + SETTINGS.duration_s * 1000;
  let done = false;
  const snapshotting = snapshotLoop(until, () => done);
  const progress = setInterval(() => {
    const s = ((Date.now() - started) / 1000).toFixed(0);
    console.log(`soak: ${s} s, ${sent} requests, ${live.size} live assistants, ${numberSnapshot.length} numbers with a Vapi id`);
  }, 10_000);
  await Promise.all(
    Array.from({ length: SETTINGS.concurrency }, async () => {
      while (Date.now() < until && sent < SETTINGS.max_requests) {
        sent++;
        await nextAction()();
      }
    }),
  );
  const trafficMs = Date.now() - started;
  done = true;
  clearInterval(progress);
  await snapshotting;
  return trafficMs;
}

// ---------- the invariants, from D1 ----------

const CHECKS = [
  {
    name: "no number on two assistants",
    // An assistant_id twice in phone_numbers, or the same Vapi number or digits on two assistants.
    sql: [
      "SELECT 'assistant ' || assistant_id AS what, count(*) AS n FROM phone_numbers WHERE assistant_id IS NOT NULL GROUP BY assistant_id HAVING count(*) > 1",
      "SELECT 'vapi id ' || vapi_phone_number_id AS what, count(DISTINCT assistant_id) AS n FROM phone_numbers WHERE vapi_phone_number_id IS NOT NULL AND assistant_id IS NOT NULL AND status != 'released' GROUP BY vapi_phone_number_id HAVING count(DISTINCT assistant_id) > 1",
      "SELECT 'digits ' || number AS what, count(DISTINCT assistant_id) AS n FROM phone_numbers WHERE number IS NOT NULL AND assistant_id IS NOT NULL AND status != 'released' GROUP BY number HAVING count(DISTINCT assistant_id) > 1",
    ],
    pass: (sets) => sets.every((rows) => rows.length === 0),
    detail: (sets) => sets.flat(),
  },
  {
    name: "no assigned number whose assistant is missing or deleted",
    sql: [
      "SELECT p.id, p.status, p.assistant_id, a.state AS assistant_state FROM phone_numbers p LEFT JOIN assistants a ON a.id = p.assistant_id WHERE p.assistant_id IS NOT NULL AND (a.id IS NULL OR a.state = 'deleted')",
    ],
    pass: ([rows]) => rows.length === 0,
    detail: ([rows]) => rows,
  },
  {
    name: "no assistant stuck in state 'creating'",
    sql: ["SELECT id, org_id, created_at FROM assistants WHERE state = 'creating'"],
    pass: ([rows]) => rows.length === 0,
    detail: ([rows]) => rows,
  },
  {
    name: "free Vapi numbers (not released) ≤ VAPI_FREE_NUMBER_LIMIT",
    sql: ["SELECT count(*) AS free FROM phone_numbers WHERE source = 'vapi_free' AND status != 'released'"],
    pass: ([[row]]) => row.free <= SETTINGS.free_number_limit,
    detail: ([[row]]) => ({ free: row.free, limit: SETTINGS.free_number_limit }),
  },
  {
    name: "assigned + unassigned + provisioning + stuck + failed = numbers not released",
    sql: [
      "SELECT count(*) AS total, " +
        "coalesce(sum(status = 'active' AND assistant_id IS NOT NULL), 0) AS assigned, " +
        "coalesce(sum(status = 'active' AND assistant_id IS NULL), 0) AS unassigned, " +
        "coalesce(sum(status = 'provisioning'), 0) AS provisioning, " +
        "coalesce(sum(status = 'stuck'), 0) AS stuck, " +
        "coalesce(sum(status = 'failed'), 0) AS failed " +
        "FROM phone_numbers WHERE status != 'released'",
    ],
    pass: ([[r]]) => r.assigned + r.unassigned + r.provisioning + r.stuck + r.failed === r.total,
    detail: ([[r]]) => r,
  },
  {
    name: "each active assistant holds at most one number",
    sql: [
      "SELECT a.id, count(p.id) AS numbers FROM assistants a JOIN phone_numbers p ON p.assistant_id = a.id AND p.status != 'released' WHERE a.state = 'active' GROUP BY a.id HAVING count(p.id) > 1",
    ],
    pass: ([rows]) => rows.length === 0,
    detail: ([rows]) => rows,
  },
  {
    name: "D1 agrees with the API's answers (created → active, deleted → deleted)",
    sql: ["SELECT id, state FROM assistants"],
    pass: ([rows]) => disagreements(rows).length === 0,
    detail: ([rows]) => disagreements(rows),
  },
];

function disagreements(rows) {
  const state = new Map(rows.map((r) => [r.id, r.state]));
  const wrong = [];
  for (const id of live.keys()) if (state.get(id) !== "active") wrong.push({ id, api: "created", d1: state.get(id) ?? "missing" });
  for (const id of deleted.keys()) if (state.get(id) !== "deleted") wrong.push({ id, api: "deleted", d1: state.get(id) ?? "missing" });
  return wrong;
}

const OVERVIEW = [
  "SELECT state, count(*) AS n FROM assistants GROUP BY state ORDER BY state",
  "SELECT status, source, (assistant_id IS NOT NULL) AS assigned, count(*) AS n FROM phone_numbers GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
  "SELECT event || coalesce(' via ' || json_extract(detail, '$.via'), '') AS event, count(*) AS n FROM phone_number_events GROUP BY 1 ORDER BY 1",
  "SELECT kind, status, count(*) AS n FROM alerts GROUP BY kind, status ORDER BY kind, status",
  "SELECT count(*) AS n FROM assistants a WHERE a.state = 'active' AND NOT EXISTS (SELECT 1 FROM phone_numbers p WHERE p.assistant_id = a.id AND p.status != 'released')",
];

async function checkInvariants() {
  const statements = CHECKS.flatMap((c) => c.sql);
  const sets = await server.d1([...statements, ...OVERVIEW].join(";\n"), { timeoutMs: 120_000 });
  let at = 0;
  const results = CHECKS.map((check) => {
    const mine = sets.slice(at, at + check.sql.length);
    at += check.sql.length;
    const pass = check.pass(mine);
    return { name: check.name, pass, detail: check.detail(mine) };
  });
  const [assistantsByState, numbers, events, alerts, [activeWithoutNumber]] = sets.slice(at);
  return {
    results,
    overview: {
      assistants_by_state: assistantsByState,
      numbers,
      events,
      alerts,
      active_assistants_without_number: activeWithoutNumber?.n ?? null,
    },
  };
}

// ---------- the report ----------

function routeRows() {
  const byRoute = new Map();
  for (const s of samples) {
    if (!byRoute.has(s.route)) byRoute.set(s.route, []);
    byRoute.get(s.route).push(s);
  }
  return [...byRoute.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([route, list]) => {
      const ms = list.map((s) => s.ms).sort((a, b) => a - b);
      const statuses = {};
      for (const s of list) {
        const key = s.code ? `${s.status} ${s.code}` : String(s.status);
        statuses[key] = (statuses[key] ?? 0) + 1;
      }
      return {
        route,
        requests: list.length,
        ok: list.filter((s) => s.outcome === "ok").length,
        expected_409_pool_exhausted: list.filter((s) => s.outcome === "expected").length,
        unexpected: list.filter((s) => s.outcome === "unexpected").length,
        p50_ms: percentile(ms, 50),
        p99_ms: percentile(ms, 99),
        max_ms: ms.at(-1) ?? NaN,
        statuses,
      };
    });
}

function countBy(list, key) {
  const counts = {};
  for (const item of list) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

async function main() {
  const started = Date.now();
  console.log(`soak: state in ${server.state}; starting wrangler dev…`);
  const health = await server.start();
  console.log(
    `soak: ${server.base} up (version ${health.version}) after ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
      `${SETTINGS.duration_s} s of traffic, concurrency ${SETTINGS.concurrency}, ${SETTINGS.orgs} orgs, free number limit ${SETTINGS.free_number_limit}…`,
  );

  const trafficMs = await traffic();
  console.log(`soak: traffic stopped after ${(trafficMs / 1000).toFixed(1)} s (all answers in); settling ${SETTINGS.settle_s} s…`);
  await sleep(SETTINGS.settle_s * 1000);
  await server.stop();
  console.log("soak: wrangler stopped; checking the invariants in D1…\n");
  const { results: invariants, overview } = await checkInvariants();

  const routes = routeRows();
  const fmt = (n) => (Number.isFinite(n) ? n.toFixed(1) : "-");
  printTable([
    ["route", "requests", "ok", "409 pool_exhausted", "unexpected", "p50 ms", "p99 ms", "max ms"],
    ...routes.map((r) => [
      r.route,
      String(r.requests),
      String(r.ok),
      String(r.expected_409_pool_exhausted),
      String(r.unexpected),
      fmt(r.p50_ms),
      fmt(r.p99_ms),
      fmt(r.max_ms),
    ]),
  ]);

  const unexpectedSamples = samples.filter((s) => s.outcome === "unexpected");
  const statuses = countBy(samples, (s) => String(s.status));
  const unexpectedByStatus = countBy(unexpectedSamples, (s) => (s.code ? `${s.status} ${s.code}` : String(s.status)));
  const unexpected5xx = unexpectedSamples.filter((s) => s.status >= 500).length;
  const expected409 = samples.filter((s) => s.outcome === "expected").length;
  console.log(
    `\ntotal requests: ${samples.length} in ${(trafficMs / 1000).toFixed(1)} s (${((samples.length / trafficMs) * 1000).toFixed(0)} req/s)`,
  );
  console.log(
    `statuses: ${Object.entries(statuses)
      .map(([k, v]) => `${k} × ${v}`)
      .join(", ")}`,
  );
  console.log(`expected: 409 pool_exhausted × ${expected409}`);
  console.log(
    `unexpected: ${
      unexpectedSamples.length === 0
        ? "none"
        : Object.entries(unexpectedByStatus)
            .map(([k, v]) => `${k} × ${v}`)
            .join(", ")
    } (5xx: ${unexpected5xx})`,
  );
  for (const u of unexpected.slice(0, 10))
    console.log(`  ${u.route}: ${u.status}${u.why ? ` (${u.why})` : ""} request ${u.request_id ?? "-"}: ${u.body}`);
  console.log(
    `client view at the end: ${live.size} live assistants, ${deleted.size} deleted; ` +
      `D1 snapshots of the numbers: ${snapshots.taken} (${snapshots.failed} failed${snapshots.last_error ? `: ${snapshots.last_error}` : ""})`,
  );
  console.log(
    `D1 at the end: assistants ${overview.assistants_by_state.map((r) => `${r.state} ${r.n}`).join(", ") || "none"}; ` +
      `numbers ${overview.numbers.map((r) => `${r.status}/${r.source}/${r.assigned ? "assigned" : "unassigned"} ${r.n}`).join(", ") || "none"}; ` +
      `active assistants without a number ${overview.active_assistants_without_number}`,
  );
  console.log(
    `events: ${overview.events.map((r) => `${r.event} ${r.n}`).join(", ") || "none"}; alerts: ${overview.alerts.map((r) => `${r.kind}/${r.status} ${r.n}`).join(", ") || "none"}\n`,
  );

  for (const inv of invariants) {
    console.log(`${inv.pass ? "PASS" : "FAIL"}  ${inv.name}`);
    if (!inv.pass) console.log(`      ${JSON.stringify(inv.detail).slice(0, 600)}`);
  }

  const failed = invariants.filter((i) => !i.pass).length;
  const ok = failed === 0 && unexpectedSamples.length === 0;
  const results = {
    timestamp: new Date().toISOString(),
    node: process.version,
    service_version: health.version,
    settings: { ...SETTINGS, vars: VARS, base: server.base },
    traffic_ms: trafficMs,
    total_requests: samples.length,
    statuses,
    expected_409_pool_exhausted: expected409,
    unexpected_by_status: unexpectedByStatus,
    unexpected_5xx: unexpected5xx,
    unexpected_samples: unexpected,
    routes,
    client_view: { live: live.size, deleted: deleted.size, creates_sent: createSeq },
    snapshots,
    d1_overview: overview,
    invariants,
    passed: ok,
  };
  writeFileSync(join(ROOT, "bench/soak-results.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote bench/soak-results.json`);
  console.log(
    ok
      ? "soak: PASS"
      : `soak: FAIL (${failed} invariant(s) failed, ${unexpectedSamples.length} unexpected answer(s), ${unexpected5xx} of them 5xx)`,
  );
  return ok ? 0 : 1;
}

runScript("soak", server, main, { deadlineMs: SETTINGS.deadline_ms });
