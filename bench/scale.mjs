#!/usr/bin/env node
// `npm run bench:scale`: the same figures at 500 and at 50,000 numbers, in one run. For each size it seeds a fresh
// local D1 straight from SQL (numbers, assistants, history events, organisations, Twilio lists, alerts, idempotency
// keys, in the shape the API writes them) and the simulated Vapi account with the same numbers and assistants, starts
// `wrangler dev` on it (sandbox upstream, throwaway state), and measures p50, p99 and response size of the overview,
// the largest organisation's list, a history page, a reuse create and a new create, then runs the daily cron once.
// Prints figure | 500 | 50,000 | ratio and writes bench/scale-results.json. Plain Node ESM; traffic only to 127.0.0.1.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assistantBody, DevServer, percentile, printTable, ROOT, runScript, token } from "./lib.mjs";

const SETTINGS = {
  sizes: (process.env.SCALE_SIZES ?? "500,50000").split(",").map(Number),
  /** Requests measured per figure (one at a time), after `warmup` unmeasured ones. */
  samples: { overview: 400, list: 400, history: 400, reuse: 100, new: 40 },
  /** Small enough that every list of the overview is full at both sizes: the same page is compared. */
  overview_list_limit: 5,
  warmup: 5,
  /** Request figures may grow at most this much from 500 numbers to 50,000. */
  target_ratio: 1.5,
  /**
   * The daily cron's budget: the CPU a Worker invocation gets by default (30 s). Locally the wall time, the
   * simulated Vapi's work included, bounds the worker's CPU time from above.
   */
  cron_budget_ms: 30_000,
  list_page: 100,
  request_timeout_ms: 120_000,
  startup_tries: 240,
  deadline_ms: 40 * 60_000,
};

const VARS = {
  UPSTREAM_MODE: "sandbox",
  // Room for every free number of the large pool and the new ones measured.
  VAPI_FREE_NUMBER_LIMIT: "100000",
  SANDBOX_VAPI_NUMBER_LIMIT: "100000",
  SANDBOX_ACTIVATION_DELAY_SECONDS: "0",
  RATE_LIMITS_ENABLED: "false",
};

const DAY = 86_400_000;
const LARGEST_ORG = "bench-largest";
/** A create in this organisation finds no number of its own: it takes from the shared pool, or a new one. */
const CREATE_ORG = "bench-creates";
const PARKED_ORG = "bench-parked";
const AREA_CODES = ["512", "415", "212", "206"];

// ---------- the shape ----------

/**
 * Per 500 numbers (scaled by `size / 500`): 450 assistants (50 deleted) over 116 organisations, the largest with
 * 110; 385 numbers active with an assistant, 5 provisioning, stuck or failed, 55 waiting in the pool (2 of them
 * unused for more than 30 days, so the cleanup has work; 1 an organisation's own Twilio number), 55 released (1
 * of them not finished in Vapi); 1,000 history events; 1 organisation with Twilio (4 numbers in the pool, 2
 * listed), 5 with a fallback line; 20 idempotency keys (half expired); 11 alerts (1 open).
 */
function shapeOf(size, nowMs) {
  const s = size / 500;
  const iso = (ms) => new Date(ms).toISOString();
  const ago = (days, jitter = 0) => iso(nowMs - days * DAY - jitter);
  const smallOrgs = Array.from({ length: 115 * s }, (_, i) => `bench-org-${String(i).padStart(6, "0")}`);
  const twilioOrgs = new Set(smallOrgs.slice(0, s));
  const fallbackOrgs = smallOrgs.slice(s, 6 * s);

  const assistants = [];
  for (let i = 0; i < 450 * s; i++) {
    const orgId = i < 110 * s ? LARGEST_ORG : smallOrgs[(i - 110 * s) % smallOrgs.length];
    const deleted = i % 9 === 8;
    const createdAt = ago(1 + ((i * 7919) % 170), i % 1000);
    const { business_data, languages, area_code } = assistantBody(i);
    assistants.push({
      id: randomUUID(),
      org_id: orgId,
      name: business_data.business_name,
      name_is_custom: 0,
      business_data: JSON.stringify(business_data),
      languages: JSON.stringify(languages),
      area_code,
      vapi_assistant_id: randomUUID(),
      state: deleted ? "deleted" : "active",
      phone_source: null,
      origin: "switchboard",
      emergency_contact_name: i % 5 === 0 ? "Pat Lee" : null,
      emergency_contact_phone: i % 5 === 0 ? `+1512555${String(i % 10_000).padStart(4, "0")}` : null,
      created_at: createdAt,
      updated_at: createdAt,
      deleted_at: deleted ? ago(0.5, i) : null,
    });
  }

  const numbers = [];
  const numberRow = (fields) => {
    const areaCode = fields.area_code ?? AREA_CODES[numbers.length % AREA_CODES.length];
    const row = {
      id: randomUUID(),
      provider: "vapi",
      source: "vapi_free",
      origin: "switchboard",
      vapi_phone_number_id: randomUUID(),
      number: `+1${areaCode}${String(2_000_000 + numbers.length).padStart(7, "0")}`,
      area_code: areaCode,
      status: "active",
      org_id: null,
      assistant_id: null,
      twilio_sid: null,
      provisioning_started_at: null,
      provisioning_deadline: null,
      provisioning_attempts: 0,
      next_check_at: null,
      tracker_key: null,
      activated_at: null,
      assigned_at: null,
      unassigned_at: null,
      released_at: null,
      last_call_at: null,
      vapi_fallback: null,
      ...fields,
    };
    row.updated_at ??= row.created_at;
    numbers.push(row);
    return row;
  };
  const active = assistants.filter((a) => a.state === "active");
  const twilioHeld = new Map();
  active.forEach((assistant, i) => {
    if (i >= active.length - 10 * s) return; // 10 per 500 hold no number (theirs vanished)
    const notReady = i < 5 * s ? ["provisioning", "provisioning", "stuck", "stuck", "failed"][i % 5] : null;
    const twilio = !notReady && twilioOrgs.has(assistant.org_id) && (twilioHeld.get(assistant.org_id) ?? 0) < 3;
    if (twilio) twilioHeld.set(assistant.org_id, (twilioHeld.get(assistant.org_id) ?? 0) + 1);
    const createdAt = assistant.created_at;
    assistant.phone_source = twilio ? "twilio" : i % 3 === 0 ? "new" : "pool";
    numberRow({
      ...(twilio
        ? { provider: "twilio", source: "twilio_imported", org_id: assistant.org_id, twilio_sid: `PN${randomUUID().replaceAll("-", "")}` }
        : {}),
      area_code: assistant.area_code,
      status: notReady ?? "active",
      assistant_id: assistant.id,
      ...(notReady
        ? {
            ...(notReady === "provisioning" ? { number: null } : {}),
            provisioning_started_at: createdAt,
            provisioning_deadline: iso(Date.parse(createdAt) + 600_000),
            provisioning_attempts: 40,
            next_check_at: notReady === "provisioning" ? iso(nowMs + 15_000) : null,
            tracker_key: assistant.id,
          }
        : { activated_at: createdAt }),
      assigned_at: createdAt,
      last_call_at: notReady ? null : ago(i % 30),
      created_at: createdAt,
    });
  });
  for (const orgId of twilioOrgs) {
    numberRow({
      provider: "twilio",
      source: "twilio_imported",
      org_id: orgId,
      twilio_sid: `PN${randomUUID().replaceAll("-", "")}`,
      activated_at: ago(20),
      unassigned_at: ago(3),
      created_at: ago(20),
    });
  }
  for (let i = 0; i < 54 * s; i++) {
    const unused = i < 2 * s; // waiting for more than 30 days: the cleanup releases them
    numberRow({
      activated_at: ago(60 + (i % 90)),
      unassigned_at: unused ? ago(31 + (i % 20), i) : ago(i % 25, i * 1000),
      created_at: ago(60 + (i % 90)),
    });
  }
  for (let i = 0; i < 55 * s; i++) {
    const unfinished = i < s;
    numberRow({
      status: "released",
      unassigned_at: ago(40 + (i % 100)),
      released_at: unfinished ? null : ago(8 + (i % 100)),
      created_at: ago(120 + (i % 60)),
      updated_at: ago(8 + (i % 100)),
    });
  }
  if (numbers.length !== size) throw new Error(`the shape made ${numbers.length} numbers, not ${size}`);

  const assistantOf = new Map(assistants.map((a) => [a.id, a]));
  const events = [];
  const event = (number, kind, at, who = {}, detail = null) =>
    events.push({
      phone_number_id: number.id,
      event: kind,
      org_id: who.org_id ?? number.org_id,
      assistant_id: who.id ?? null,
      detail: detail && JSON.stringify(detail),
      created_at: at,
    });
  for (const number of numbers) {
    const assistant = number.assistant_id ? assistantOf.get(number.assistant_id) : null;
    event(number, "created", number.created_at, assistant ?? {}, { vapi_phone_number_id: number.vapi_phone_number_id });
    const later = iso(Date.parse(number.created_at) + 60_000);
    if (number.status === "released") event(number, "released", number.updated_at, {}, { reason: "unused", number: number.number });
    else if (number.status === "stuck" || number.status === "failed") event(number, number.status, later, assistant);
    else if (assistant) event(number, assistant.phone_source === "pool" ? "reused" : "assigned", later, assistant);
    else event(number, "unassigned", number.unassigned_at, {}, { reason: "assistant_deleted" });
  }
  events.sort((a, b) => (a.created_at < b.created_at ? -1 : 1));

  const organizations = [
    ...[...twilioOrgs].map((id) => ({
      id,
      twilio_account_sid: `AC${randomUUID().replaceAll("-", "")}`,
      twilio_credential_type: "auth_token",
      // Never opened: nothing the bench runs calls this organisation's Twilio.
      twilio_credentials: "enc:v1:bench:not-a-secret",
      twilio_auto_purchase: 0,
      twilio_area_code: null,
      twilio_configured_at: ago(30),
      fallback_phone: null,
      max_concurrent_calls: null,
      created_at: ago(30),
      updated_at: ago(30),
    })),
    ...fallbackOrgs.map((id, i) => ({
      id,
      fallback_phone: `+1512555${String(5000 + (i % 5000)).padStart(4, "0")}`,
      max_concurrent_calls: null,
      twilio_auto_purchase: 0,
      created_at: ago(10),
      updated_at: ago(10),
    })),
    { id: LARGEST_ORG, max_concurrent_calls: 25, twilio_auto_purchase: 0, created_at: ago(100), updated_at: ago(100) },
  ];
  const twilioNumbers = [];
  for (const number of numbers.filter((n) => n.provider === "twilio")) {
    twilioNumbers.push({
      id: randomUUID(),
      org_id: number.org_id,
      number: number.number,
      twilio_sid: number.twilio_sid,
      origin: "imported",
      state: "in_vapi",
      phone_number_id: number.id,
      claimed_at: number.created_at,
      created_at: number.created_at,
      updated_at: number.created_at,
    });
  }
  for (const orgId of twilioOrgs) {
    for (let i = 0; i < 2; i++) {
      twilioNumbers.push({
        id: randomUUID(),
        org_id: orgId,
        number: `+1303${String(3_000_000 + twilioNumbers.length).padStart(7, "0")}`,
        twilio_sid: null,
        origin: "imported",
        state: "listed",
        phone_number_id: null,
        claimed_at: null,
        created_at: ago(30),
        updated_at: ago(30),
      });
    }
  }
  const stuck = numbers.filter((n) => n.status === "stuck");
  const alerts = [
    ...Array.from({ length: 10 * s }, (_, i) => ({
      kind: "provisioning_stuck",
      subject: randomUUID(),
      status: "resolved",
      message: "A number was stuck provisioning.",
      detail: null,
      created_at: ago(20 + (i % 100)),
      resolved_at: ago(19 + (i % 100)),
      notified_at: null,
    })),
    {
      kind: "provisioning_stuck",
      subject: stuck[0].id,
      status: "open",
      message: `Number ${stuck[0].id} is stuck provisioning.`,
      detail: JSON.stringify({ phone_number_id: stuck[0].id }),
      created_at: ago(1),
      resolved_at: null,
      notified_at: null,
    },
  ];
  const idempotencyKeys = Array.from({ length: 20 * s }, (_, i) => ({
    key: `${smallOrgs[i % smallOrgs.length]}:POST /api/assistants:${randomUUID()}`,
    request_hash: "0".repeat(64),
    state: "done",
    response_status: 201,
    response_body: "{}",
    created_at: i % 2 === 0 ? ago(2, i) : ago(0.2, i),
  }));
  const vapiAccount = [
    { id: "vapi", outside_free_numbers: 0, counted_at: ago(1), last_import: null, last_import_at: null, updated_at: ago(1) },
  ];

  // Vapi holds every number not fully released (in direct routing, pointed at its assistant) and every live assistant.
  const vapiAssistantOf = new Map(active.map((a) => [a.id, a.vapi_assistant_id]));
  const vapiNumbers = numbers
    .filter((n) => n.status !== "released" || n.released_at === null)
    .map((n) => ({
      id: n.vapi_phone_number_id,
      provider: n.provider,
      status: n.status === "provisioning" ? "activating" : n.status === "failed" ? "blocked" : "active",
      ...(n.number && n.status !== "provisioning" ? { number: n.number } : {}),
      name: `sb-${n.id}`,
      numberDesiredAreaCode: n.area_code,
      assistantId: (n.status !== "released" && vapiAssistantOf.get(n.assistant_id)) || null,
      createdAt: n.created_at,
    }));
  const vapiAssistants = active.map((a) => ({
    id: a.vapi_assistant_id,
    name: a.name,
    metadata: { switchboardAssistantId: a.id },
    createdAt: a.created_at,
  }));

  return {
    tables: {
      assistants,
      phone_numbers: numbers,
      phone_number_events: events,
      organizations,
      twilio_numbers: twilioNumbers,
      alerts,
      idempotency_keys: idempotencyKeys,
      vapi_account: vapiAccount,
    },
    vapi: { phoneNumbers: vapiNumbers, assistants: vapiAssistants },
    counts: {
      numbers: numbers.length,
      assistants: assistants.length,
      events: events.length,
      organizations: 116 * s,
      twilio_organizations: s,
    },
  };
}

// ---------- seeding ----------

const literal = (value) =>
  value === null || value === undefined ? "NULL" : typeof value === "number" ? String(value) : `'${String(value).replaceAll("'", "''")}'`;

/** Multi-row INSERTs under D1's 100 KB a statement, in files of at most ~8 MB; answers their paths. */
function writeSeedSql(dir, tables) {
  const files = [];
  let chunk = [];
  let bytes = 0;
  const flush = () => {
    if (chunk.length === 0) return;
    const path = join(dir, `seed-${String(files.length).padStart(3, "0")}.sql`);
    writeFileSync(path, chunk.join("\n"));
    files.push(path);
    chunk = [];
    bytes = 0;
  };
  for (const [table, rows] of Object.entries(tables)) {
    const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
    const head = `INSERT INTO ${table} (${columns.join(", ")}) VALUES\n`;
    let values = [];
    let size = head.length;
    const statement = () => {
      if (values.length === 0) return;
      chunk.push(`${head}${values.join(",\n")};`);
      bytes += size;
      values = [];
      size = head.length;
      if (bytes > 8_000_000) flush();
    };
    for (const row of rows) {
      const value = `(${columns.map((c) => literal(row[c])).join(", ")})`;
      if (size + value.length > 90_000) statement();
      values.push(value);
      size += value.length + 2;
    }
    statement();
  }
  flush();
  return files;
}

async function seedVapi(server, vapi) {
  for (const [key, items] of Object.entries(vapi)) {
    for (let i = 0; i < items.length; i += 2_000) {
      const res = await server.call("POST", "/sandbox/vapi/resources", { body: { [key]: items.slice(i, i + 2_000) } });
      if (res.status !== 200) throw new Error(`seeding the simulated Vapi failed: ${res.status} ${res.text.slice(0, 300)}`);
    }
  }
}

// ---------- measuring ----------

const failures = [];

function check(what, res, status) {
  if (res.status === status) return true;
  failures.push({ what, status: res.status, body: res.text.slice(0, 300) });
  return false;
}

/** Seeds a fresh local D1 and simulated Vapi account of `size` numbers and starts wrangler dev on them. */
async function prepare(size) {
  const label = size.toLocaleString("en-US");
  const shape = shapeOf(size, Date.now());
  const server = new DevServer({
    name: `scale-${size}`,
    vars: VARS,
    testScheduled: true,
    startupTries: SETTINGS.startup_tries,
    requestTimeoutMs: SETTINGS.request_timeout_ms,
    preferredPort: 8799 + SETTINGS.sizes.indexOf(size),
  });
  servers.push(server);
  const seedDir = mkdtempSync(join(tmpdir(), `switchboard-scale-sql-${size}-`));
  try {
    const started = Date.now();
    await server.migrate();
    for (const file of writeSeedSql(seedDir, shape.tables)) server.d1File(file);
    await server.start();
    await seedVapi(server, shape.vapi);
    console.log(
      `scale ${label}: seeded ${shape.counts.numbers} numbers, ${shape.counts.assistants} assistants, ${shape.counts.events} events, ` +
        `${shape.counts.organizations} organisations (${shape.counts.twilio_organizations} with Twilio) and the simulated Vapi account, ` +
        `started in ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
  } finally {
    rmSync(seedDir, { recursive: true, force: true });
  }
  return { size, label, server, counts: shape.counts };
}

/**
 * One figure at every size: `count` requests each, one at a time, alternating between the sizes (so whatever else
 * the machine does weighs on both alike), after `warmup` unmeasured ones. p50, p99 (nearest rank), mean bytes.
 */
async function measure(what, sizes, count, request) {
  for (let i = 0; i < SETTINGS.warmup; i++) for (const size of sizes) await request(size, -1 - i);
  const samples = sizes.map(() => []);
  for (let i = 0; i < count; i++) {
    for (const [k, size] of sizes.entries()) {
      const res = await request(size, i);
      if (res) samples[k].push(res);
    }
  }
  return samples.map((taken) => {
    const ms = taken.map((s) => s.ms).sort((a, b) => a - b);
    return {
      what,
      requests: taken.length,
      p50_ms: percentile(ms, 50),
      p99_ms: percentile(ms, 99),
      bytes: taken.length ? Math.round(taken.reduce((sum, s) => sum + Buffer.byteLength(s.text), 0) / taken.length) : NaN,
      d1_round_trips: taken.length ? Math.max(...taken.map((s) => s.d1)) : NaN,
    };
  });
}

/** The daily cron, triggered as Cloudflare would (`--test-scheduled`), timed, with each job's own `job_done` time. */
async function runDailyCron(server) {
  const logBefore = server.logTail(1_000_000).length;
  const started = performance.now();
  const res = await fetch(`${server.base}/__scheduled?cron=17+3+*+*+*`, { signal: AbortSignal.timeout(15 * 60_000) });
  await res.text();
  const ms = performance.now() - started;
  const jobs = {};
  for (const line of server.logTail(1_000_000).slice(logBefore).split("\n")) {
    try {
      const entry = JSON.parse(line.slice(line.indexOf("{")));
      if (entry.event === "job_done" || entry.event === "job_failed")
        jobs[entry.job] = { ms: entry.ms, ...(entry.event === "job_failed" ? { failed: true } : {}) };
    } catch {
      /* not a log line */
    }
  }
  return { status: res.status, ms, jobs };
}

async function measureAll(sizes) {
  const admin = token("bench-admin", { role: "platform_admin" });
  const largest = token(LARGEST_ORG);
  const creator = token(CREATE_ORG);
  const get =
    (what, path, auth) =>
    async ({ server }) => {
      const res = await server.call("GET", path, { auth });
      return check(`${what} (${server.name})`, res, 200) ? res : null;
    };
  const figures = [];
  figures.push(
    await measure(
      `overview (list_limit=${SETTINGS.overview_list_limit})`,
      sizes,
      SETTINGS.samples.overview,
      get("overview", `/api/admin/phone-pool?list_limit=${SETTINGS.overview_list_limit}`, admin),
    ),
  );
  figures.push(
    await measure(
      `list of the largest organisation (a page of ${SETTINGS.list_page})`,
      sizes,
      SETTINGS.samples.list,
      get("list", `/api/assistants?limit=${SETTINGS.list_page}`, largest),
    ),
  );
  figures.push(await measure("history page", sizes, SETTINGS.samples.history, get("history", "/api/admin/phone-pool/history", admin)));

  figures.push(
    await measure("reuse create", sizes, SETTINGS.samples.reuse, async ({ server }, i) => {
      const res = await server.call("POST", "/api/assistants", { auth: creator, body: assistantBody(100_000 + i) });
      if (!check(`reuse create (${server.name})`, res, 201)) return null;
      if (res.json.phone_source !== "pool")
        failures.push({ what: `reuse create did not reuse (${server.name})`, status: 201, body: res.text.slice(0, 200) });
      // Unmeasured: the number goes back to the pool (the newest in its queue).
      check("delete after a reuse create", await server.call("DELETE", `/api/assistants/${res.json.id}`, { auth: creator }), 204);
      return res;
    }),
  );

  // The shared pool is parked in another organisation, so a create finds none and makes a new free number.
  for (const { server } of sizes) {
    await server.d1(
      `UPDATE phone_numbers SET org_id = '${PARKED_ORG}' WHERE status = 'active' AND assistant_id IS NULL AND org_id IS NULL`,
    );
  }
  figures.push(
    await measure("new create", sizes, SETTINGS.samples.new, async ({ server }, i) => {
      const res = await server.call("POST", "/api/assistants", { auth: creator, body: assistantBody(200_000 + i) });
      if (!check(`new create (${server.name})`, res, 201)) return null;
      if (res.json.phone_source !== "new")
        failures.push({ what: `new create made no number (${server.name})`, status: 201, body: res.text.slice(0, 200) });
      return res;
    }),
  );
  for (const { server } of sizes) await server.d1(`UPDATE phone_numbers SET org_id = NULL WHERE org_id = '${PARKED_ORG}'`);

  // The daily cron, one size after the other.
  const crons = [];
  for (const { server, label } of sizes) {
    const cron = await runDailyCron(server);
    if (cron.status !== 200) failures.push({ what: `daily cron (${label})`, status: cron.status, body: "" });
    for (const [job, outcome] of Object.entries(cron.jobs))
      if (outcome.failed) failures.push({ what: `daily cron (${label}): ${job} failed`, status: 0, body: "" });
    console.log(`scale ${label}: daily cron ${(cron.ms / 1000).toFixed(1)} s`);
    crons.push(cron);
  }
  return sizes.map((size, k) => ({ size: size.size, counts: size.counts, figures: figures.map((figure) => figure[k]), cron: crons[k] }));
}

function report(small, large) {
  const f = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "-");
  const rows = [["figure", small.size.toLocaleString("en-US"), large.size.toLocaleString("en-US"), "ratio", ""]];
  const over = [];
  for (const [i, figure] of small.figures.entries()) {
    const other = large.figures[i];
    for (const [key, unit, digits] of [
      ["p50_ms", "p50 ms", 1],
      ["p99_ms", "p99 ms", 1],
      ["bytes", "bytes", 0],
    ]) {
      const ratio = other[key] / figure[key];
      const flagged = ratio > SETTINGS.target_ratio;
      if (flagged) over.push(`${figure.what} ${unit}`);
      rows.push([
        `${figure.what}, ${unit}`,
        f(figure[key], digits),
        f(other[key], digits),
        f(ratio, 2),
        flagged ? `> ${SETTINGS.target_ratio}×` : "",
      ]);
    }
  }
  const cronRatio = large.cron.ms / small.cron.ms;
  rows.push(["daily cron, wall ms", f(small.cron.ms, 0), f(large.cron.ms, 0), f(cronRatio, 2), `budget ${SETTINGS.cron_budget_ms} ms`]);
  for (const job of Object.keys(large.cron.jobs)) {
    rows.push([
      `  ${job}, ms`,
      f(small.cron.jobs[job]?.ms, 0),
      f(large.cron.jobs[job]?.ms, 0),
      f(large.cron.jobs[job]?.ms / small.cron.jobs[job]?.ms, 2),
      "",
    ]);
  }
  printTable(rows);
  const cronOver = large.cron.ms > SETTINGS.cron_budget_ms || small.cron.ms > SETTINGS.cron_budget_ms;
  console.log("\nMarkdown:\n");
  console.log(`| ${rows[0].join(" | ")} |\n|${rows[0].map(() => " --- ").join("|")}|`);
  for (const row of rows.slice(1)) console.log(`| ${row.join(" | ")} |`);
  console.log(
    `\nTarget: every request figure within ${SETTINGS.target_ratio}× of its value at ${small.size} numbers (${over.length === 0 ? "met" : `not met: ${over.join(", ")}`}); ` +
      `the daily cron within ${SETTINGS.cron_budget_ms / 1000} s (${cronOver ? "not met" : "met"}).`,
  );
  return { over, cronOver };
}

const servers = [];

async function main() {
  const started = Date.now();
  const sizes = [];
  for (const size of SETTINGS.sizes) sizes.push(await prepare(size));
  console.log(`scale: measuring, one request at a time, alternating between the sizes…`);
  const [small, large] = await measureAll(sizes);
  console.log(
    `\nscale: ${((Date.now() - started) / 60_000).toFixed(1)} min in all; ${SETTINGS.warmup} unmeasured requests before each figure.\n`,
  );
  const { over, cronOver } = report(small, large);
  console.log(`unexpected failures: ${failures.length}`);
  for (const failure of failures.slice(0, 10)) console.log(`  ${failure.what}: ${failure.status} ${failure.body}`);
  writeFileSync(
    join(ROOT, "bench/scale-results.json"),
    `${JSON.stringify({ timestamp: new Date().toISOString(), node: process.version, settings: { ...SETTINGS, vars: VARS }, results: [small, large], over_target: over, cron_over_budget: cronOver, failures }, null, 2)}\n`,
  );
  console.log("wrote bench/scale-results.json");
  return failures.length === 0 && over.length === 0 && !cronOver ? 0 : 1;
}

// runScript stops and cleans the one server it is given: here, every size's.
const allServers = {
  stop: () => Promise.all(servers.map((server) => server.stop())),
  logTail: () => servers.map((server) => `(${server.name})\n${server.logTail()}`).join("\n"),
  removeState: () => {
    for (const server of servers) server.removeState();
  },
};
runScript("bench:scale", allServers, main, { deadlineMs: SETTINGS.deadline_ms });
