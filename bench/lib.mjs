// Shared by `npm run bench` (bench/run.mjs) and `npm run soak` (bench/soak.mjs): a throwaway `wrangler dev` in
// sandbox mode on loopback, HS256 tokens, timed requests, local D1 queries and the process plumbing that always
// stops wrangler. Plain Node ESM, no dependencies; traffic only to 127.0.0.1.
import { spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeDevConfig } from "../scripts/dev-config.mjs";
import { writeStaticAssets } from "../scripts/static-assets.mjs";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

// Secrets go in a generated env file: with --env-file, wrangler does not read the repository's .dev.vars.
export const SECRETS = {
  VAPI_API_KEY: "bench-vapi-key",
  VAPI_WEBHOOK_SECRET: "bench-webhook-secret-0123",
  AUTH_JWT_SECRET: "bench-jwt-secret-0123456789abcdef0123456789",
  ENCRYPTION_KEY: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
};

export const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const b64url = (value) => Buffer.from(value).toString("base64url");

/** A member (or `role`) token of `orgId`, signed with the generated AUTH_JWT_SECRET; valid one hour. */
export function token(orgId, { role = "member", prefix = "bench" } = {}) {
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const claims = b64url(JSON.stringify({ org_id: orgId, role, sub: `${prefix}-user-${orgId}`, exp: Math.floor(Date.now() / 1000) + 3600 }));
  const signature = createHmac("sha256", SECRETS.AUTH_JWT_SECRET).update(`${header}.${claims}`).digest("base64url");
  return `${header}.${claims}.${signature}`;
}

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

/** Signals a detached child's whole process group (wrangler and the workerd it started). */
function killGroupOf(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

const childEnv = {
  ...process.env,
  CI: "true",
  WRANGLER_SEND_METRICS: "false",
  // wrangler needs node ≥ 22: the project's node@22 comes first, also when these scripts are run without npm.
  PATH: [join(ROOT, "node_modules/.bin"), process.env.PATH].join(delimiter),
};

/**
 * `wrangler dev --local` in sandbox mode with throwaway state (its own `--persist-to` directory and generated
 * secrets; `.wrangler/state` and `.dev.vars` are left alone), on a free loopback port. With `entry: "production"`
 * it runs the production worker as wrangler.toml builds it (minified, no simulator) in live mode instead.
 */
export class DevServer {
  constructor({
    name,
    vars,
    entry = "dev",
    state,
    startupTries = 240,
    requestTimeoutMs = 30_000,
    preferredPort = 8799,
    testScheduled = false,
  }) {
    this.name = name;
    // `--test-scheduled`: GET /__scheduled?cron=… runs the scheduled handler (and answers once it is done).
    this.testScheduled = testScheduled;
    this.vars = vars;
    this.entry = entry;
    this.startupTries = startupTries; // × 500 ms
    this.requestTimeoutMs = requestTimeoutMs;
    this.preferredPort = preferredPort;
    // `state`: another server's directory, to run on its D1 (the bare baseline reads what the bench seeded).
    this.state = state ?? mkdtempSync(join(tmpdir(), `switchboard-${name}-`));
    this.devLog = join(this.state, "wrangler-dev.log");
    this.child = null;
    this.queries = new Set(); // running `wrangler d1 execute` children
    this.base = "";
    // Whatever happens to this process, wrangler and its workerd (and D1 queries) do not outlive it.
    process.on("exit", () => {
      this.#killGroup("SIGKILL");
      for (const query of this.queries) killGroupOf(query, "SIGKILL");
    });
  }

  /** The config wrangler runs: the dev entry (the production worker plus the upstream simulator), or another. */
  async #config() {
    return this.entry === "production" ? join(ROOT, "wrangler.toml") : this.entry === "bare" ? this.#bareConfig() : await writeDevConfig();
  }

  /** Applies the migrations to this server's local D1 (start does it too): to seed D1 before the server runs. */
  async migrate() {
    writeStaticAssets(); // public/: the static assets of wrangler.toml (and so of the dev config)
    const config = await this.#config();
    const migrate = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local", "--config", config, "--persist-to", this.state], {
      cwd: ROOT,
      env: childEnv,
      encoding: "utf8",
      timeout: 120_000,
    });
    if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}${migrate.stderr}${migrate.error ?? ""}`);
    return config;
  }

  /** Applies the migrations, starts wrangler dev and waits for /health in sandbox (or live) mode; answers its body. */
  async start() {
    writeFileSync(
      join(this.state, `${this.name}.env`),
      Object.entries(SECRETS)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(""),
    );
    const config = await this.migrate();
    const mode = { production: "live", bare: "bare" }[this.entry] ?? "sandbox";

    const port = await freePort(this.preferredPort);
    const inspectorPort = await freePort(0);
    this.base = `http://127.0.0.1:${port}`;
    const args = [
      "dev",
      "--config",
      config,
      "--local",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      this.state,
      "--env-file",
      join(this.state, `${this.name}.env`),
      "--show-interactive-dev-session=false",
      ...(this.testScheduled ? ["--test-scheduled"] : []),
      ...Object.entries(this.vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ];
    const log = openSync(this.devLog, "a");
    // Its own process group, so wrangler and its workerd children are stopped together.
    this.child = spawn("wrangler", args, { cwd: ROOT, env: childEnv, stdio: ["ignore", log, log], detached: true });
    this.child.on("error", () => {}); // the exit code below reports it

    for (let i = 0; i < this.startupTries; i++) {
      const child = this.child;
      if (!child || child.exitCode !== null || child.signalCode) break;
      const body = await fetch(`${this.base}/health`, { signal: AbortSignal.timeout(2_000) })
        .then((res) => (res.ok ? res.json() : null))
        .catch(() => null);
      if (body) {
        if (body.upstream_mode !== mode) throw new Error(`server is not in ${mode} mode: ${JSON.stringify(body)}`);
        return body;
      }
      await sleep(500);
    }
    throw new Error(`wrangler dev did not answer /health on ${this.base}`);
  }

  /** The baseline worker (bench/bare-worker.ts) on the same D1 binding and migrations as wrangler.toml. */
  #bareConfig() {
    const prod = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
    const value = (key) => prod.match(new RegExp(`^${key}\\s*=\\s*"([^"]+)"`, "m"))?.[1];
    const config = {
      name: "switchboard-bare",
      main: join(ROOT, "bench", "bare-worker.ts"),
      compatibility_date: value("compatibility_date"),
      d1_databases: [
        {
          binding: "DB",
          database_name: value("database_name"),
          database_id: value("database_id"),
          migrations_dir: join(ROOT, "migrations"),
        },
      ],
    };
    const path = join(this.state, "wrangler.bare.json");
    writeFileSync(path, JSON.stringify(config));
    return path;
  }

  /** SIGTERM (wrangler stops its workerd itself), then SIGKILL to whatever of its process group is left. */
  async stop() {
    const child = this.child;
    if (!child) return;
    if (child.exitCode === null && !child.signalCode) {
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(5_000)]);
    }
    this.#killGroup("SIGKILL");
    this.child = null;
  }

  #killGroup(signal) {
    if (this.child) killGroupOf(this.child, signal);
  }

  /** One request to the server; the latency includes reading the whole body. Never throws. */
  async call(method, path, { auth, body, headers: extra } = {}) {
    const headers = { ...extra };
    if (auth) headers.Authorization = `Bearer ${auth}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const started = performance.now();
    try {
      const res = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
      const text = await res.text();
      const ms = performance.now() - started;
      let json = null;
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        /* not JSON */
      }
      return {
        status: res.status,
        ms,
        json,
        text,
        requestId: res.headers.get("X-Request-Id"),
        d1: Number(res.headers.get("X-D1-Round-Trips") ?? NaN),
        upstream: Number(res.headers.get("X-Upstream-Calls") ?? NaN),
      };
    } catch (error) {
      // Status 0: no answer (refused, reset, timed out).
      return {
        status: 0,
        ms: performance.now() - started,
        json: null,
        text: String(error?.cause ?? error),
        requestId: null,
        d1: NaN,
        upstream: NaN,
      };
    }
  }

  /**
   * Runs SQL on the local D1 with `wrangler d1 execute --local --persist-to <state> --json` (its own workerd,
   * not through the API). Answers one array of rows per statement (`;`-separated).
   */
  d1(sql, { timeoutMs = 60_000 } = {}) {
    return new Promise((done, fail) => {
      const child = spawn("wrangler", ["d1", "execute", "DB", "--local", "--persist-to", this.state, "--json", "--command", sql], {
        cwd: ROOT,
        env: childEnv,
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      });
      this.queries.add(child);
      let out = "";
      let err = "";
      child.stdout.on("data", (chunk) => (out += chunk));
      child.stderr.on("data", (chunk) => (err += chunk));
      const timer = setTimeout(() => killGroupOf(child, "SIGKILL"), timeoutMs);
      child.on("error", (error) => {
        clearTimeout(timer);
        this.queries.delete(child);
        fail(error);
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        this.queries.delete(child);
        if (code !== 0) return fail(new Error(`d1 execute failed (${code}): ${(out + err).slice(-800)}`));
        try {
          const parsed = JSON.parse(out);
          const results = Array.isArray(parsed) ? parsed : [parsed];
          done(results.map((r) => r?.results ?? []));
        } catch {
          fail(new Error(`d1 execute printed no JSON: ${(out + err).slice(-800)}`));
        }
      });
    });
  }

  /** Runs a SQL file on the local D1 (`wrangler d1 execute --local --file`), before or while the server runs. */
  d1File(path, { timeoutMs = 600_000 } = {}) {
    const run = spawnSync("wrangler", ["d1", "execute", "DB", "--local", "--persist-to", this.state, "--yes", "--file", path], {
      cwd: ROOT,
      env: childEnv,
      encoding: "utf8",
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (run.status !== 0) throw new Error(`d1 execute --file ${path} failed:\n${(run.stdout + run.stderr).slice(-1500)}${run.error ?? ""}`);
  }

  logTail(lines = 30) {
    try {
      return readFileSync(this.devLog, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  removeState() {
    rmSync(this.state, { recursive: true, force: true });
  }
}

/**
 * Runs `main` (which answers an exit code) with the plumbing both scripts need: SIGINT/SIGTERM and an overall
 * deadline stop it, wrangler is always stopped, its log's tail is printed on failure, the state is removed.
 */
export function runScript(name, server, main, { deadlineMs }) {
  let finishing = false;
  const finish = async (code) => {
    if (finishing) return;
    finishing = true;
    await server.stop();
    if (code !== 0 && code !== 130) console.error(`--- last lines of wrangler dev's log ---\n${server.logTail()}`);
    server.removeState();
    process.exit(code);
  };
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => finish(130));
  setTimeout(() => {
    console.error(`${name}: over the ${deadlineMs / 60_000} min deadline, stopping`);
    finish(1);
  }, deadlineMs).unref();
  main().then(finish, (error) => {
    console.error(`${name} failed: ${error.stack ?? error}`);
    finish(1);
  });
}

/** `total` jobs over `concurrency` workers; each job runs once. Answers the wall time in ms. */
export async function pool(total, concurrency, job) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await job(next++);
    }),
  );
  return performance.now() - started;
}

/** Nearest-rank percentile of ascending `sorted`. */
export const percentile = (sorted, p) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

/** Prints rows of strings as aligned columns: the first left-aligned, the others right-aligned. */
export function printTable(table) {
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  for (const [i, row] of table.entries()) {
    console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "));
    if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
}

const INDUSTRIES = [
  ["HVAC", ["AC repair", "Furnace installation", "Duct cleaning", "Maintenance plans"]],
  ["Dental", ["Cleanings", "Fillings", "Whitening", "Emergency visits"]],
  ["Plumbing", ["Leak repair", "Water heaters", "Drain cleaning"]],
  ["Veterinary", ["Checkups", "Vaccinations", "Surgery", "Boarding"]],
  ["Law", ["Family law", "Estate planning", "Free consultation"]],
];
const CITIES = [
  ["Austin", "512", "America/Chicago"],
  ["San Francisco", "415", "America/Los_Angeles"],
  ["New York", "212", "America/New_York"],
  ["Seattle", "206", "America/Los_Angeles"],
];

/** A realistic create body, different for each `i`. */
export function assistantBody(i) {
  const [industry, services] = INDUSTRIES[i % INDUSTRIES.length];
  const [city, areaCode, timezone] = CITIES[i % CITIES.length];
  const weekday = [
    { open: "08:00", close: "12:00" },
    { open: "13:00", close: "17:30" },
  ];
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
