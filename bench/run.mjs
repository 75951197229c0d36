#!/usr/bin/env node
// `npm run bench`: starts `wrangler dev` (sandbox upstream, throwaway state), seeds a pool through the API and
// measures GET /health, GET /api/assistants (200 assistants) and POST /api/assistants on the reuse path.
// Prints a table and writes bench/results.json. Plain Node ESM, no dependencies; traffic only to 127.0.0.1.
import { spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
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
// Secrets go in a generated env file: with --env-file, wrangler does not read the repository's .dev.vars.
const SECRETS = {
  VAPI_API_KEY: "bench-vapi-key",
  VAPI_WEBHOOK_SECRET: "bench-webhook-secret-0123",
  AUTH_JWT_SECRET: "bench-jwt-secret-0123456789abcdef0123456789",
  ENCRYPTION_KEY: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
};
const VARS = {
  UPSTREAM_MODE: "sandbox",
  VAPI_FREE_NUMBER_LIMIT: "1000",
  SANDBOX_VAPI_NUMBER_LIMIT: "1000",
  SANDBOX_ACTIVATION_DELAY_SECONDS: "0",
};

const state = mkdtempSync(join(tmpdir(), "switchboard-bench-"));
const devLog = join(state, "wrangler-dev.log");
const childEnv = {
  ...process.env,
  CI: "true",
  WRANGLER_SEND_METRICS: "false",
  // wrangler needs node ≥ 22: the project's node@22 comes first, also when this script is run without npm.
  PATH: [join(ROOT, "node_modules/.bin"), process.env.PATH].join(delimiter),
};
let dev = null;
let base = "";

// ---------- the server ----------

function freePort(preferred) {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", () => (preferred ? freePort(0).then(done) : done(0)));
    server.listen(preferred, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

async function startDev() {
  writeFileSync(join(state, "bench.env"), Object.entries(SECRETS).map(([k, v]) => `${k}=${v}\n`).join(""));
  const migrate = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], {
    cwd: ROOT, env: childEnv, encoding: "utf8", timeout: 120_000,
  });
  if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}${migrate.stderr}${migrate.error ?? ""}`);

  const port = await freePort(8799);
  const inspectorPort = await freePort(0);
  base = `http://127.0.0.1:${port}`;
  const args = [
    "dev", "--local", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort),
    "--persist-to", state, "--env-file", join(state, "bench.env"), "--show-interactive-dev-session=false",
    ...Object.entries(VARS).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
  ];
  const log = openSync(devLog, "a");
  // Its own process group, so wrangler and its workerd children are stopped together.
  dev = spawn("wrangler", args, { cwd: ROOT, env: childEnv, stdio: ["ignore", log, log], detached: true });
  dev.on("error", () => {}); // "exit" below reports it

  for (let i = 0; i < SETTINGS.startup_tries; i++) {
    if (dev.exitCode !== null || dev.signalCode) break;
    const body = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2_000) })
      .then((res) => (res.ok ? res.json() : null))
      .catch(() => null);
    if (body) {
      if (body.upstream_mode !== "sandbox") throw new Error(`server is not in sandbox mode: ${JSON.stringify(body)}`);
      return body;
    }
    await sleep(500);
  }
  throw new Error(`wrangler dev did not answer /health on ${base}`);
}

async function stopDev() {
  if (!dev) return;
  const child = dev;
  dev = null;
  const killGroup = (signal) => { try { process.kill(-child.pid, signal); } catch { /* already gone */ } };
  if (child.exitCode === null && !child.signalCode) {
    const exited = new Promise((done) => child.once("exit", done));
    child.kill("SIGTERM"); // wrangler stops its workerd itself…
    await Promise.race([exited, sleep(5_000)]);
  }
  killGroup("SIGKILL"); // …and whatever of its process group is still alive is killed
}

// ---------- requests ----------

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const b64url = (value) => Buffer.from(value).toString("base64url");

function token(orgId) {
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const claims = b64url(JSON.stringify({ org_id: orgId, role: "member", sub: `bench-user-${orgId}`, exp: Math.floor(Date.now() / 1000) + 3600 }));
  const signature = createHmac("sha256", SECRETS.AUTH_JWT_SECRET).update(`${header}.${claims}`).digest("base64url");
  return `${header}.${claims}.${signature}`;
}

/** One request; the latency includes reading the whole body. */
async function call(method, path, { auth, body } = {}) {
  const headers = {};
  if (auth) headers.Authorization = `Bearer ${auth}`;
  if (body) headers["Content-Type"] = "application/json";
  const started = performance.now();
  const res = await fetch(base + path, {
    method, headers, body: body && JSON.stringify(body), signal: AbortSignal.timeout(SETTINGS.request_timeout_ms),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return {
    status: res.status, ms, json, text,
    d1: Number(res.headers.get("X-D1-Round-Trips") ?? NaN),
    upstream: Number(res.headers.get("X-Upstream-Calls") ?? NaN),
  };
}

/** `total` jobs over `concurrency` workers; each job runs once. */
async function pool(total, concurrency, job) {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) await job(next++);
  }));
  return performance.now() - started;
}

const failures = [];
function expect(what, res, status) {
  if (res.status === status) return true;
  failures.push({ what, status: res.status, body: res.text.slice(0, 300) });
  return false;
}

const INDUSTRIES = [
  ["HVAC", ["AC repair", "Furnace installation", "Duct cleaning", "Maintenance plans"]],
  ["Dental", ["Cleanings", "Fillings", "Whitening", "Emergency visits"]],
  ["Plumbing", ["Leak repair", "Water heaters", "Drain cleaning"]],
  ["Veterinary", ["Checkups", "Vaccinations", "Surgery", "Boarding"]],
  ["Law", ["Family law", "Estate planning", "Free consultation"]],
];
const CITIES = [["Austin", "512", "America/Chicago"], ["San Francisco", "415", "America/Los_Angeles"], ["New York", "212", "America/New_York"], ["Seattle", "206", "America/Los_Angeles"]];

function assistantBody(i) {
  const [industry, services] = INDUSTRIES[i % INDUSTRIES.length];
  const [city, areaCode, timezone] = CITIES[i % CITIES.length];
  const weekday = [{ open: "08:00", close: "12:00" }, { open: "13:00", close: "17:30" }];
  return {
    business_data: {
      business_name: `${city} ${industry} Co. ${i + 1}`,
      industry,
      description: `Family-owned ${industry.toLowerCase()} business serving ${city} since ${1980 + (i % 40)}. Friendly staff, same-week appointments.`,
      services,
      hours: { mon: weekday, tue: weekday, wed: weekday, thu: weekday, fri: weekday, sat: [{ open: "09:00", close: "12:00" }] },
      timezone,
      address: `${100 + i} Main Street, ${city}`,
      phone: `+1${areaCode}555${String(1000 + i).padStart(4, "0")}`,
      website: `https://${industry.toLowerCase()}-${i + 1}.example.com`,
    },
    languages: i % 3 === 0 ? ["en", "es"] : ["en"],
    area_code: areaCode,
  };
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
  for (const id of ids) expect("seed: delete bench-reuse assistant", await call("DELETE", `/api/assistants/${id}`, { auth: reuseToken }), 204);
  const listed = await call("GET", "/api/assistants", { auth: listToken });
  if (expect("seed: list", listed, 200) && listed.json.assistants.length !== SETTINGS.list_org_assistants) {
    failures.push({ what: "seed: list size", status: 200, body: `${listed.json.assistants.length} assistants, expected ${SETTINGS.list_org_assistants}` });
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
  const pct = (p) => ms[Math.max(0, Math.ceil((p / 100) * ms.length) - 1)] ?? NaN; // nearest rank
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
    ["route", "requests", "req/s", "req/s ×health", "p50 ms", "p50 ×health", "p99 ms", "D1 mean", "D1 max", "upstream mean", "upstream max"],
    ...rows.map((r) => [
      r.route, String(r.requests), f(r.req_per_s, 0), f(r.req_per_s / health.req_per_s, 2), f(r.p50_ms, 2), f(r.p50_ms / health.p50_ms, 2),
      f(r.p99_ms, 2), f(r.d1_round_trips.mean, 2), String(r.d1_round_trips.max), f(r.upstream_calls.mean, 2), String(r.upstream_calls.max),
    ]),
  ];
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  for (const [i, row] of table.entries()) {
    console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "));
    if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
}

async function main() {
  const started = Date.now();
  console.log(`bench: state in ${state}; starting wrangler dev…`);
  const health = await startDev();
  console.log(`bench: ${base} up (version ${health.version}) after ${((Date.now() - started) / 1000).toFixed(1)} s; seeding…`);
  const listToken = token("bench-list");
  const reuseToken = token("bench-reuse");
  await seed(listToken, reuseToken);
  if (failures.length > 0) throw new Error(`seeding failed: ${JSON.stringify(failures.slice(0, 3))}`);
  console.log(`bench: seeded ${SETTINGS.list_org_assistants} + ${SETTINGS.reuse_pool_numbers} pool numbers; measuring (concurrency ${SETTINGS.concurrency})…\n`);

  const measured = [];
  measured.push(await measure("GET /health", SETTINGS.health_requests, async () => {
    const res = await call("GET", "/health");
    return expect("GET /health", res, 200) ? res : null;
  }));
  measured.push(await measure("GET /api/assistants (200)", SETTINGS.list_requests, async () => {
    const res = await call("GET", "/api/assistants", { auth: listToken });
    if (!expect("GET /api/assistants", res, 200)) return null;
    if (res.json.assistants.length !== SETTINGS.list_org_assistants) failures.push({ what: "GET /api/assistants size", status: 200, body: String(res.json.assistants.length) });
    return res;
  }));
  let violations = 0;
  measured.push(await measure("POST /api/assistants (reuse)", SETTINGS.reuse_creates, async (i) => {
    const res = await call("POST", "/api/assistants", { auth: reuseToken, body: assistantBody(1000 + i) });
    if (!expect("POST /api/assistants (reuse)", res, 201)) return null;
    if (res.json.phone_source !== "pool" || res.json.was_reused !== true) violations++;
    expect("DELETE /api/assistants/:id", await call("DELETE", `/api/assistants/${res.json.id}`, { auth: reuseToken }), 204);
    return res;
  }));

  const rows = measured.map(summarize);
  printTable(rows);
  console.log(`\nreq/s = requests × concurrency / Σ latency (the reuse loop's unmeasured DELETEs are left out); p99 is nearest-rank.`);
  console.log(`reuse creates not from the pool (phone_source ≠ "pool" or was_reused ≠ true): ${violations}`);
  console.log(`unexpected failures: ${failures.length}`);
  for (const failure of failures.slice(0, 10)) console.log(`  ${failure.what}: ${failure.status} ${failure.body}`);

  const results = {
    timestamp: new Date().toISOString(),
    node: process.version,
    service_version: health.version,
    settings: { ...SETTINGS, vars: VARS, base },
    routes: rows,
    reuse_violations: violations,
    failures,
  };
  writeFileSync(join(ROOT, "bench/results.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log("wrote bench/results.json");
  return failures.length === 0 && violations === 0 ? 0 : 1;
}

async function finish(code) {
  await stopDev();
  if (code !== 0 && code !== 130) {
    try { console.error(`--- last lines of wrangler dev's log ---\n${readFileSync(devLog, "utf8").split("\n").slice(-30).join("\n")}`); } catch { /* no log */ }
  }
  rmSync(state, { recursive: true, force: true });
  process.exit(code);
}

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => finish(130));
process.on("exit", () => { if (dev) try { process.kill(-dev.pid, "SIGKILL"); } catch { /* gone */ } });
setTimeout(() => { console.error(`bench: over the ${SETTINGS.deadline_ms / 60_000} min deadline, stopping`); finish(1); }, SETTINGS.deadline_ms).unref();

main().then(finish, (error) => { console.error(`bench failed: ${error.stack ?? error}`); finish(1); });
