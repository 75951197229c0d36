#!/usr/bin/env node
// `npm run bench`: starts `wrangler dev` (sandbox upstream, throwaway state), seeds a pool through the API and
// measures GET /health, GET /api/assistants (200 assistants), POST /api/assistants on the reuse path and Vapi's
// assistant-request at POST /webhooks/vapi, in edge routing; then the reuse path's Vapi calls in direct routing
// and the list against a bare Hono worker, both on the same D1. Prints a table and writes bench/results.json.
// Plain Node ESM, no dependencies; traffic only to 127.0.0.1.
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { assistantBody, DevServer, percentile, pool, printTable as printColumns, ROOT, runScript, SECRETS, sleep, token } from "./lib.mjs";

const SETTINGS = {
  concurrency: 4,
  health_requests: 400,
  list_requests: 200,
  reuse_creates: 60,
  list_org_assistants: 200,
  reuse_pool_numbers: 8,
  assistant_requests: 400,
  assistant_request_pool_share: 0.1, // the rest go to numbers with an assistant
  assistant_request_p99_target: 2, // × /health's p99
  direct_reuse_creates: 10,
  activation_wait_ms: 60_000,
  request_timeout_ms: 30_000,
  startup_tries: 240, // × 500 ms
  deadline_ms: 15 * 60_000,
};
const VARS = {
  UPSTREAM_MODE: "sandbox",
  VAPI_FREE_NUMBER_LIMIT: "1000",
  SANDBOX_VAPI_NUMBER_LIMIT: "1000",
  SANDBOX_ACTIVATION_DELAY_SECONDS: "0",
  // The benchmark creates hundreds of assistants in one organisation on purpose.
  RATE_LIMITS_ENABLED: "false",
  // The path measured: numbers stay bare in Vapi and calls are routed by assistant-request.
  ROUTING_MODE: "edge",
};

const server = new DevServer({
  name: "bench",
  vars: VARS,
  startupTries: SETTINGS.startup_tries,
  requestTimeoutMs: SETTINGS.request_timeout_ms,
});
const call = (method, path, options) => server.call(method, path, options);

const failures = [];
function expect(what, res, status) {
  if (res.status === status) return true;
  failures.push({ what, status: res.status, body: res.text.slice(0, 300) });
  return false;
}

// ---------- seeding and measuring ----------

async function seed(listToken, reuseToken) {
  await pool(SETTINGS.list_org_assistants, SETTINGS.concurrency, async (i) => {
    expect("seed: create bench-list assistant", await call("POST", "/api/assistants", { auth: listToken, body: assistantBody(i) }), 201);
  });
  const ids = [];
  for (let i = 0; i < SETTINGS.reuse_pool_numbers; i++) {
    const res = await call("POST", "/api/assistants", { auth: reuseToken, body: assistantBody(i) });
    if (expect("seed: create bench-reuse assistant", res, 201)) ids.push(res.json.id);
  }
  for (const id of ids)
    expect("seed: delete bench-reuse assistant", await call("DELETE", `/api/assistants/${id}`, { auth: reuseToken }), 204);
  const listed = await call("GET", "/api/assistants", { auth: listToken });
  if (expect("seed: list", listed, 200) && listed.json.assistants.length !== SETTINGS.list_org_assistants) {
    failures.push({
      what: "seed: list size",
      status: 200,
      body: `${listed.json.assistants.length} assistants, expected ${SETTINGS.list_org_assistants}`,
    });
  }
}

async function measure(route, total, request) {
  const samples = [];
  const wallMs = await pool(total, SETTINGS.concurrency, async (i) => {
    const res = await request(i);
    if (res) samples.push(res);
  });
  return { route, samples, wallMs };
}

// ---------- assistant-request ----------

const NUMBERS_SQL =
  "SELECT p.vapi_phone_number_id AS vapi_id, p.status, p.assistant_id, a.vapi_assistant_id, a.state AS assistant_state " +
  "FROM phone_numbers p LEFT JOIN assistants a ON a.id = p.assistant_id " +
  "WHERE p.vapi_phone_number_id IS NOT NULL AND p.status != 'released' ORDER BY p.id";

/**
 * The Vapi ids to call, from the local D1 (the admin views do not list the Vapi ids of active numbers): numbers
 * with an active assistant, and pool numbers. Waits for the seeded numbers to be active, so that no request takes
 * the one-off path of a call proving a provisioning number live.
 */
async function numbersToCall() {
  const deadline = Date.now() + SETTINGS.activation_wait_ms;
  for (;;) {
    const [rows] = await server.d1(NUMBERS_SQL);
    const provisioning = rows.filter((r) => r.status !== "active").length;
    if (provisioning === 0 || Date.now() > deadline) {
      const active = rows.filter((r) => r.status === "active");
      return {
        assigned: active.filter((r) => r.assistant_id && r.assistant_state === "active" && r.vapi_assistant_id),
        pool: active.filter((r) => !r.assistant_id),
        notActive: provisioning,
      };
    }
    await sleep(2_000);
  }
}

/** The Vapi server message for an inbound call on `vapiNumberId`. */
const assistantRequest = (vapiNumberId, i) => ({
  message: {
    type: "assistant-request",
    call: { id: randomUUID(), type: "inboundPhoneCall", phoneNumberId: vapiNumberId },
    customer: { number: `+1512555${String(i % 10_000).padStart(4, "0")}` },
  },
});

/** Which of the three answers (ServerMessageResponseAssistantRequest) Switchboard gave, or null. */
function outcomeOf(answer) {
  if (typeof answer?.assistantId === "string") return "assistant";
  if (answer?.destination?.type === "number") return "fallback_line";
  if (typeof answer?.error === "string") return "not_in_service";
  return null;
}

/** Every `1 / pool share`-th request goes to a pool number, the others to numbers with an assistant, in turn. */
async function measureAssistantRequests({ assigned, pool: poolNumbers }) {
  const outcomes = { assistant: 0, fallback_line: 0, not_in_service: 0 };
  const every = Math.round(1 / SETTINGS.assistant_request_pool_share);
  const measured = await measure("POST /webhooks/vapi assistant-request", SETTINGS.assistant_requests, async (i) => {
    const toPool = poolNumbers.length > 0 && i % every === every - 1;
    const number = toPool ? poolNumbers[i % poolNumbers.length] : assigned[i % assigned.length];
    const res = await call("POST", "/webhooks/vapi", {
      body: assistantRequest(number.vapi_id, i),
      headers: { "X-Vapi-Secret": SECRETS.VAPI_WEBHOOK_SECRET },
    });
    if (!expect("POST /webhooks/vapi assistant-request", res, 200)) return null;
    const outcome = outcomeOf(res.json);
    const right = toPool ? outcome === "not_in_service" || outcome === "fallback_line" : res.json?.assistantId === number.vapi_assistant_id;
    if (!right)
      failures.push({
        what: `assistant-request (${toPool ? "pool number" : "number with an assistant"})`,
        status: 200,
        body: res.text.slice(0, 300),
      });
    if (outcome) outcomes[outcome]++;
    return res;
  });
  return { measured, outcomes };
}

// ---------- the reuse path in direct routing ----------

/** A few reuse creates on the same D1 and simulator with ROUTING_MODE=direct: their Vapi calls. */
async function directReuse(reuseToken) {
  const direct = new DevServer({
    name: "bench-direct",
    vars: { ...VARS, ROUTING_MODE: "direct" },
    state: server.state,
    startupTries: SETTINGS.startup_tries,
    requestTimeoutMs: SETTINGS.request_timeout_ms,
  });
  try {
    await direct.start();
    const creates = [];
    const deletes = [];
    for (let i = 0; i < SETTINGS.direct_reuse_creates; i++) {
      const res = await direct.call("POST", "/api/assistants", { auth: reuseToken, body: assistantBody(2000 + i) });
      if (!expect("direct: POST /api/assistants (reuse)", res, 201)) continue;
      if (res.json.phone_source !== "pool" || res.json.was_reused !== true)
        failures.push({ what: "direct: create did not reuse", status: 201, body: res.text.slice(0, 300) });
      creates.push(res);
      const removed = await direct.call("DELETE", `/api/assistants/${res.json.id}`, { auth: reuseToken });
      if (expect("direct: DELETE /api/assistants/:id", removed, 204)) deletes.push(removed);
    }
    return { creates, deletes };
  } finally {
    await direct.stop();
  }
}

const meanOf = (samples, key) => samples.reduce((sum, s) => sum + s[key], 0) / samples.length;
const callsOf = (samples) => ({
  requests: samples.length,
  upstream_calls: { mean: meanOf(samples, "upstream"), max: Math.max(...samples.map((s) => s.upstream)) },
  d1_round_trips: { mean: meanOf(samples, "d1"), max: Math.max(...samples.map((s) => s.d1)) },
});

function summarize({ route, samples, wallMs }) {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const pct = (p) => percentile(ms, p); // nearest rank
  const stats = (key) => {
    const values = samples.map((s) => s[key]);
    return { mean: values.reduce((a, b) => a + b, 0) / values.length, max: Math.max(...values) };
  };
  const busyMs = ms.reduce((a, b) => a + b, 0) / SETTINGS.concurrency;
  return {
    route,
    requests: samples.length,
    req_per_s: (samples.length / busyMs) * 1000,
    p50_ms: pct(50),
    p99_ms: pct(99),
    d1_round_trips: stats("d1"),
    upstream_calls: stats("upstream"),
    wall_ms: wallMs,
  };
}

function printTable(rows) {
  const health = rows[0];
  const f = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "-");
  const table = [
    [
      "route",
      "requests",
      "req/s",
      "req/s ×health",
      "p50 ms",
      "p50 ×health",
      "p99 ms",
      "D1 mean",
      "D1 max",
      "upstream mean",
      "upstream max",
    ],
    ...rows.map((r) => [
      r.route,
      String(r.requests),
      f(r.req_per_s, 0),
      f(r.req_per_s / health.req_per_s, 2),
      f(r.p50_ms, 2),
      f(r.p50_ms / health.p50_ms, 2),
      f(r.p99_ms, 2),
      f(r.d1_round_trips.mean, 2),
      String(r.d1_round_trips.max),
      f(r.upstream_calls.mean, 2),
      String(r.upstream_calls.max),
    ]),
  ];
  printColumns(table);
}

async function main() {
  const started = Date.now();
  console.log(`bench: state in ${server.state}; starting wrangler dev…`);
  const health = await server.start();
  console.log(`bench: ${server.base} up (version ${health.version}) after ${((Date.now() - started) / 1000).toFixed(1)} s; seeding…`);
  const listToken = token("bench-list");
  const reuseToken = token("bench-reuse");
  await seed(listToken, reuseToken);
  if (failures.length > 0) throw new Error(`seeding failed: ${JSON.stringify(failures.slice(0, 3))}`);
  // Measured once every seeded number is active: no provisioning tracker runs during the measurements.
  const numbers = await numbersToCall();
  if (numbers.assigned.length === 0) throw new Error("no active number with an assistant to send assistant-request for");
  console.log(
    `bench: seeded ${SETTINGS.list_org_assistants} + ${SETTINGS.reuse_pool_numbers} pool numbers ` +
      `(${numbers.notActive} not active after the wait); measuring (concurrency ${SETTINGS.concurrency})…\n`,
  );

  const measured = [];
  measured.push(
    await measure("GET /health", SETTINGS.health_requests, async () => {
      const res = await call("GET", "/health");
      return expect("GET /health", res, 200) ? res : null;
    }),
  );
  measured.push(
    await measure("GET /api/assistants (200)", SETTINGS.list_requests, async () => {
      const res = await call("GET", "/api/assistants", { auth: listToken });
      if (!expect("GET /api/assistants", res, 200)) return null;
      if (res.json.assistants.length !== SETTINGS.list_org_assistants)
        failures.push({ what: "GET /api/assistants size", status: 200, body: String(res.json.assistants.length) });
      return res;
    }),
  );
  let violations = 0;
  const edgeDeletes = [];
  measured.push(
    await measure("POST /api/assistants (reuse)", SETTINGS.reuse_creates, async (i) => {
      const res = await call("POST", "/api/assistants", { auth: reuseToken, body: assistantBody(1000 + i) });
      if (!expect("POST /api/assistants (reuse)", res, 201)) return null;
      if (res.json.phone_source !== "pool" || res.json.was_reused !== true) violations++;
      const removed = await call("DELETE", `/api/assistants/${res.json.id}`, { auth: reuseToken });
      if (expect("DELETE /api/assistants/:id", removed, 204)) edgeDeletes.push(removed);
      return res;
    }),
  );

  const routing = await measureAssistantRequests(numbers);
  measured.push(routing.measured);

  const rows = measured.map(summarize);
  printTable(rows);
  console.log(`\nreq/s = requests × concurrency / Σ latency (the reuse loop's unmeasured DELETEs are left out); p99 is nearest-rank.`);
  console.log(`reuse creates not from the pool (phone_source ≠ "pool" or was_reused ≠ true): ${violations}`);
  const [healthRow, , , routingRow] = rows;
  const assistantRequest = {
    numbers_with_assistant: numbers.assigned.length,
    pool_numbers: numbers.pool.length,
    numbers_not_active: numbers.notActive,
    outcomes: routing.outcomes,
    p50_ratio_to_health: routingRow.p50_ms / healthRow.p50_ms,
    p99_ratio_to_health: routingRow.p99_ms / healthRow.p99_ms,
    p99_target: SETTINGS.assistant_request_p99_target,
  };
  console.log(
    `assistant-request (edge) over ${numbers.assigned.length} numbers with an assistant and ${numbers.pool.length} pool numbers ` +
      `(${Object.entries(routing.outcomes)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ")}; ${numbers.notActive} numbers not active were left out): ` +
      `p99 ${routingRow.p99_ms.toFixed(2)} ms = ${assistantRequest.p99_ratio_to_health.toFixed(2)}× /health's ${healthRow.p99_ms.toFixed(2)} ms ` +
      `(target ≤ ${SETTINGS.assistant_request_p99_target}×); p50 ${assistantRequest.p50_ratio_to_health.toFixed(2)}×`,
  );

  // The reuse path's Vapi calls in direct routing: the same D1 and simulator, ROUTING_MODE=direct.
  await server.stop();
  const direct = await directReuse(reuseToken);
  const reuseCalls = {
    edge: { create: callsOf(measured[2].samples), delete: callsOf(edgeDeletes) },
    direct: { create: callsOf(direct.creates), delete: callsOf(direct.deletes) },
  };
  const calls = ({ create, delete: remove }) =>
    `create ${create.upstream_calls.mean.toFixed(2)} (max ${create.upstream_calls.max}), delete ${remove.upstream_calls.mean.toFixed(2)} (max ${remove.upstream_calls.max})`;
  console.log(
    `Vapi calls per reuse: edge ${calls(reuseCalls.edge)} over ${reuseCalls.edge.create.requests}; ` +
      `direct ${calls(reuseCalls.direct)} over ${reuseCalls.direct.create.requests}`,
  );
  console.log(`unexpected failures: ${failures.length}`);
  for (const failure of failures.slice(0, 10)) console.log(`  ${failure.what}: ${failure.status} ${failure.body}`);

  // The baseline: a bare Hono worker with the same token check, D1 query and log line, on the same D1.
  const bare = new DevServer({ name: "bench-bare", vars: {}, entry: "bare", state: server.state, startupTries: SETTINGS.startup_tries });
  await bare.start();
  const baseline = summarize(
    await measure("GET /api/assistants (200), bare Hono", SETTINGS.list_requests, async () => {
      const res = await bare.call("GET", "/api/assistants", { auth: listToken });
      return expect("bare GET /api/assistants", res, 200) && res.json.assistants.length === SETTINGS.list_org_assistants ? res : null;
    }),
  );
  await bare.stop();
  const listRatio = rows[1].req_per_s / baseline.req_per_s;
  console.log(
    `\nGET /api/assistants (200): ${rows[1].req_per_s.toFixed(0)} req/s; bare Hono baseline ${baseline.req_per_s.toFixed(0)} req/s: ${listRatio.toFixed(2)}× (target ≥ 0.9×)`,
  );

  const results = {
    timestamp: new Date().toISOString(),
    node: process.version,
    service_version: health.version,
    settings: { ...SETTINGS, vars: VARS, base: server.base },
    routes: rows,
    assistant_request: assistantRequest,
    upstream_calls_per_reuse: reuseCalls,
    list_baseline: { ...baseline, samples: undefined, ratio: listRatio },
    reuse_violations: violations,
    failures,
  };
  writeFileSync(join(ROOT, "bench/results.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log("wrote bench/results.json");
  return failures.length === 0 && violations === 0 ? 0 : 1;
}

runScript("bench", server, main, { deadlineMs: SETTINGS.deadline_ms });
