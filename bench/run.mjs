#!/usr/bin/env node
// `npm run bench`: starts `wrangler dev` (sandbox upstream, throwaway state), seeds a pool through the API and
// measures GET /health, GET /api/assistants (200 assistants) and POST /api/assistants on the reuse path.
// Prints a table and writes bench/results.json. Plain Node ESM, no dependencies; traffic only to 127.0.0.1.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { assistantBody, DevServer, percentile, pool, printTable as printColumns, ROOT, runScript, token } from "./lib.mjs";

const SETTINGS = {
  concurrency: 4,
  health_requests: 400,
  list_requests: 200,
  reuse_creates: 60,
  list_org_assistants: 200,
  reuse_pool_numbers: 8,
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
  console.log(
    `bench: seeded ${SETTINGS.list_org_assistants} + ${SETTINGS.reuse_pool_numbers} pool numbers; measuring (concurrency ${SETTINGS.concurrency})…\n`,
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
  measured.push(
    await measure("POST /api/assistants (reuse)", SETTINGS.reuse_creates, async (i) => {
      const res = await call("POST", "/api/assistants", { auth: reuseToken, body: assistantBody(1000 + i) });
      if (!expect("POST /api/assistants (reuse)", res, 201)) return null;
      if (res.json.phone_source !== "pool" || res.json.was_reused !== true) violations++;
      expect("DELETE /api/assistants/:id", await call("DELETE", `/api/assistants/${res.json.id}`, { auth: reuseToken }), 204);
      return res;
    }),
  );

  const rows = measured.map(summarize);
  printTable(rows);
  console.log(`\nreq/s = requests × concurrency / Σ latency (the reuse loop's unmeasured DELETEs are left out); p99 is nearest-rank.`);
  console.log(`reuse creates not from the pool (phone_source ≠ "pool" or was_reused ≠ true): ${violations}`);
  console.log(`unexpected failures: ${failures.length}`);
  for (const failure of failures.slice(0, 10)) console.log(`  ${failure.what}: ${failure.status} ${failure.body}`);

  // The baseline: a bare Hono worker with the same token check, D1 query and log line, on the same D1.
  await server.stop();
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
    list_baseline: { ...baseline, samples: undefined, ratio: listRatio },
    reuse_violations: violations,
    failures,
  };
  writeFileSync(join(ROOT, "bench/results.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log("wrote bench/results.json");
  return failures.length === 0 && violations === 0 ? 0 : 1;
}

runScript("bench", server, main, { deadlineMs: SETTINGS.deadline_ms });
