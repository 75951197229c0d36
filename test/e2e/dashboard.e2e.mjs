// GET /admin in real headless Chromium (Debian's, driven by playwright-core) against a throwaway `wrangler dev`
// in sandbox mode (bench/lib.mjs: loopback port, own state dir and secrets, always stopped). Run by
// `npm run test:e2e` (vitest.e2e.config.ts); skipped when /usr/bin/chromium is missing. Screenshots go to /tmp.
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HAS_CHROMIUM, launchChromium } from "./chromium.mjs";
import { randomUUID } from "node:crypto";
import { assistantBody, DevServer, SECRETS, sleep, token } from "../../bench/lib.mjs";

const SHOTS = {
  desktop: "/tmp/switchboard-dashboard-desktop.png",
  provisioning: "/tmp/switchboard-dashboard-provisioning.png",
  phone: "/tmp/switchboard-dashboard-phone.png",
  import: "/tmp/switchboard-dashboard-import.png",
  usage: "/tmp/switchboard-dashboard-usage.png",
  usage90: "/tmp/switchboard-dashboard-usage-90.png",
  history: "/tmp/switchboard-dashboard-history.png",
  signin: "/tmp/switchboard-dashboard-signin.png",
  twilio: "/tmp/switchboard-dashboard-free-numbers.png",
  usagePhone: "/tmp/switchboard-dashboard-usage-phone.png",
};
const DAY_MS = 86_400_000;
/** The UTC date `days` days before today, and its noon (a stamp for the history written back in time). */
const dayBefore = (days) => new Date(Date.now() - days * DAY_MS).toISOString().slice(0, 10);
const noonOf = (days) => `${dayBefore(days)}T12:00:00.000Z`;
const LIMIT = 5; // 2 seeded + 2 pre-provisioned by the test = 80 %: pool_near_limit opens, so an alert shows
const serverOptions = {
  name: "e2e",
  preferredPort: 8797,
  vars: {
    UPSTREAM_MODE: "sandbox",
    VAPI_FREE_NUMBER_LIMIT: String(LIMIT),
    SANDBOX_VAPI_NUMBER_LIMIT: "20",
    SANDBOX_ACTIVATION_DELAY_SECONDS: "6", // long enough to see a number provisioning, short enough to wait for
    POLL_INTERVAL_SECONDS: "1",
  },
};
let server; // created in beforeAll, so a skipped run leaves no state directory behind
let seededNumberId; // the number of e2e-org's assistant
let seededAssistant; // e2e-org's assistant: { id, name }
const admin = token("ops", { role: "platform_admin", prefix: "e2e" });
const api = async (method, path, body) => {
  const res = await server.call(method, path, { auth: admin, body });
  if (res.status !== 200 && res.status !== 201) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
  return res.json;
};
const pool = () => api("GET", "/api/admin/phone-pool");
const EVENTS_PATH = "/api/admin/phone-pool/provisioning/events";

/** Polls `check` (async, truthy when done) every 250 ms for up to `ms`. */
async function until(what, check, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** expect.poll with room for a busy machine (its default gives up after 1 s). */
const eventually = (read, timeout = 15_000) => expect.poll(read, { timeout, interval: 100 });

/** The counts the "Free numbers" card shows, read as the user reads them. */
async function shownCounts(page) {
  const read = async (key) => Number(await page.locator(`#count-${key}`).textContent());
  return {
    assigned: await read("assigned"),
    unassigned: await read("unassigned"),
    provisioning: await read("provisioning"),
    stuck: await read("stuck"),
    total: await read("total"),
  };
}
/** The card's figures in the pool's answer: free Vapi numbers only. */
const countsOf = (stats) => {
  const { assigned, unassigned, provisioning, stuck, total } = stats.providers.vapi;
  return { assigned, unassigned, provisioning, stuck, total };
};

async function signIn(page, jwt) {
  await page.goto(`${server.base}/admin`);
  await page.getByLabel(/Admin token/).fill(jwt);
  await page.getByRole("button", { name: "Show the pool" }).click();
}

describe.skipIf(!HAS_CHROMIUM)("the dashboard in Chromium", () => {
  let browser;
  let page;
  const problems = []; // console errors (CSP violations among them) and uncaught exceptions
  const requests = []; // the first page's API requests: {method, path, authorization, at, ended?}
  let failingStream = false; // while a test makes the event stream fail on purpose, its network errors are expected
  const poolReads = () => requests.filter((r) => r.method === "GET" && r.path === "/api/admin/phone-pool").length;
  const streamOpens = () => requests.filter((r) => r.path === EVENTS_PATH);
  /** The attempts a provisioning card's progress bar shows. */
  const attemptsOf = (card) => card.locator("progress").evaluate((bar) => bar.value);

  beforeAll(async () => {
    server = new DevServer(serverOptions);
    await server.start().catch((error) => {
      throw new Error(`${error.message}\n--- wrangler dev's log ---\n${server.logTail()}`);
    });
    // A pool to look at: two numbers in area 512, one of them then taken by an assistant.
    await api("POST", "/api/admin/phone-pool/pre-provision", { count: 2, area_code: "512" });
    await until("the seeded numbers to activate", async () => (await pool()).stats.unassigned === 2);
    const created = await server.call("POST", "/api/assistants", { auth: token("e2e-org", { prefix: "e2e" }), body: assistantBody(0) });
    if (created.status !== 201 || created.json.phone_source !== "pool") throw new Error(`seed create: ${created.status} ${created.text}`);
    seededNumberId = created.json.phone_number_id;
    seededAssistant = { id: created.json.id, name: created.json.name };
    // A past for the chart: the two numbers were made 10 days ago and went live 9 days ago (the reuse is today's).
    await server.d1(
      `UPDATE phone_number_events SET created_at = '${noonOf(10)}' WHERE event = 'created';` +
        `UPDATE phone_number_events SET created_at = '${noonOf(9)}' WHERE event = 'provisioned'`,
    );

    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);
    // The refused token's 403 is logged by Chromium as a failed resource: expected, not a problem.
    page.on("console", (m) => {
      if (m.type() !== "error" || /status of 40[13]/.test(m.text())) return;
      if (failingStream && (m.location().url ?? "").includes(EVENTS_PATH)) return;
      problems.push(m.text());
    });
    page.on("pageerror", (error) => problems.push(String(error)));
    page.on("request", (r) => {
      const url = new URL(r.url());
      if (url.pathname.startsWith("/api/"))
        requests.push({ request: r, method: r.method(), path: url.pathname, authorization: r.headers().authorization, at: Date.now() });
    });
    // A stream's request "finishes" when its body ends, and "fails" (net::ERR_ABORTED) when the page drops it.
    const ended = (r) => {
      const entry = requests.find((e) => e.request === r);
      if (entry) entry.ended = Date.now();
    };
    page.on("requestfinished", ended);
    page.on("requestfailed", ended);
  });

  afterAll(async () => {
    const kept = Object.values(SHOTS).filter((path) => existsSync(path));
    if (kept.length) console.log(`[e2e] dashboard screenshots:\n  ${kept.join("\n  ")}`);
    await browser?.close().catch(() => {});
    await server?.stop();
    server?.removeState();
  });

  it("asks for a token, says where one comes from, and explains a refused one (owner → 403) in place of the loading banner", async () => {
    const script = page.waitForResponse((r) => new URL(r.url()).pathname.startsWith("/admin/assets/"));
    await page.goto(`${server.base}/admin`);
    // Its script is the static asset the page names (integrity checked by Chromium), not run through the Worker.
    const served = await script;
    expect(new URL(served.url()).pathname).toBe(await page.evaluate(() => new URL(document.scripts[0].src).pathname));
    expect([served.status(), served.headers()["x-request-id"], served.headers()["cache-control"]]).toEqual([
      200,
      undefined,
      "public, max-age=31536000, immutable",
    ]);
    expect(await page.locator("#token-help").textContent()).toMatch(
      /locally, npm run token -- --role platform_admin; on a deployment, from its identity provider/,
    );
    expect(await page.getByLabel(/Admin token/).getAttribute("aria-describedby")).toBe("token-help");
    await signIn(page, token("e2e-org", { role: "owner", prefix: "e2e" }));
    await eventually(() => page.locator("#signin-error").textContent()).toMatch(/may not use the admin API.*platform_admin/);
    // One banner: the refusal; "Loading the pool…" is gone, not beside it.
    expect(await page.locator("#status").isHidden()).toBe(true);
    expect(await page.locator("#status").textContent()).toBe("");
    expect(await page.getByText("Loading the pool…").count()).toBe(0);
    expect(await page.locator("#signin-error").isVisible()).toBe(true);
    await page.screenshot({ path: SHOTS.signin });
    expect(await page.getByLabel(/Admin token/).isVisible()).toBe(true);
    expect(await page.locator("#dashboard").isHidden()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });

  it("with a platform_admin token shows what GET /api/admin/phone-pool reports, and keeps the token for the tab", async () => {
    await signIn(page, admin);
    await page.locator("#dashboard").waitFor();
    const { stats, unassigned } = await pool();
    await eventually(() => shownCounts(page)).toEqual(countsOf(stats));
    expect(stats).toMatchObject({ assigned: 1, unassigned: 1, total: 2, free_numbers: 2, limit: LIMIT });
    expect(countsOf(stats)).toEqual({ assigned: 1, unassigned: 1, provisioning: 0, stuck: 0, total: 2 });
    expect(await page.locator("#gauge").evaluate((meter) => meter.value)).toBe(stats.percent_used);
    expect(await page.locator("#gauge-text").textContent()).toBe(`2 of ${LIMIT} free numbers used (${stats.percent_used}%)`);
    const rows = page.locator("#unassigned-table tbody tr");
    expect(await rows.count()).toBe(unassigned.length);
    expect(await rows.first().textContent()).toContain(unassigned[0].number);
    expect(await rows.first().locator('td[data-label="Origin"]').textContent()).toBe("made here");
    expect(await page.locator("#origins").textContent()).toBe(
      "Where all 2 numbers came from: 2 made here, 0 adopted, 0 on an organisation's Twilio.",
    );
    expect(await page.locator("#pool-twilio").isHidden()).toBe(true); // no organisation's Twilio number yet
    expect(await page.locator("#import .empty").textContent()).toBe(
      "No import yet: run POST /api/admin/vapi/import (a dry run by default).",
    );
    expect(await page.locator("#import-summary").isHidden()).toBe(true);
    expect(await page.locator("#history-table tbody tr").count()).toBeGreaterThanOrEqual(4); // 2 created, 2 provisioned, 1 assigned
    expect(await page.locator("#alerts-list li").count()).toBe(0);
    expect(await page.locator("#calls-summary").textContent()).toBe("Live calls: 0 of 10 (account total) · routing: direct");
    expect(await page.locator("#calls .empty").textContent()).toBe("No live calls and no caps.");
    expect(await page.locator("#calls-table").isHidden()).toBe(true);

    await page.reload(); // asked once: the tab remembers the token
    await page.locator("#dashboard").waitFor();
    expect(await page.getByLabel(/Admin token/).isVisible()).toBe(false);
  });

  it("draws the pool per day from the history (30 days, 90 with the switch), the limit as a line, the figures in a table", async () => {
    const chart = page.locator("#usage-chart svg");
    await chart.waitFor();
    const usage = await api("GET", "/api/admin/phone-pool/usage?days=30");
    const { stats } = await pool();
    // The past written in beforeAll: made 10 days ago (provisioning), live from 9 days ago, one taken today.
    const on = (days) => usage.series.find((d) => d.date === dayBefore(days));
    const figures = ({ assigned, unassigned, provisioning, stuck, free_numbers }) => ({
      assigned,
      unassigned,
      provisioning,
      stuck,
      free_numbers,
    });
    expect(figures(on(11))).toEqual({ assigned: 0, unassigned: 0, provisioning: 0, stuck: 0, free_numbers: 0 });
    expect(figures(on(10))).toEqual({ assigned: 0, unassigned: 0, provisioning: 2, stuck: 0, free_numbers: 2 });
    expect(figures(on(5))).toEqual({ assigned: 0, unassigned: 2, provisioning: 0, stuck: 0, free_numbers: 2 });
    expect(figures(on(0))).toEqual({ assigned: 1, unassigned: 1, provisioning: 0, stuck: 0, free_numbers: stats.free_numbers });
    expect(usage.series.at(-1).date).toBe(dayBefore(0));

    expect(await chart.getAttribute("role")).toBe("img");
    expect(await chart.locator("title").textContent()).toBe("The pool per day over the last 30 days");
    expect(await chart.locator("desc").textContent()).toBe(
      `From ${dayBefore(29)} to ${dayBefore(0)} (UTC days). Today: 1 assigned, 1 unassigned, 0 provisioning, 2 free Vapi numbers held, ` +
        `against a limit of ${LIMIT}. Most free numbers held: 2, on ${dayBefore(10)}.`,
    );
    expect(await page.locator("#usage .legend li").allTextContents()).toEqual([
      "Assigned",
      "Unassigned",
      "Provisioning",
      "Free Vapi numbers held",
      "Free-number limit",
    ]);
    // Each line's points are the API's figures: y runs from the zero grid line (0) to the limit's line (LIMIT).
    const drawn = await chart.evaluate((svg) => ({
      zero: Number(svg.querySelector("line.grid")?.getAttribute("y1")),
      limit: Number(svg.querySelector("line.s-limit")?.getAttribute("y1")),
      lines: Object.fromEntries(
        Array.from(svg.querySelectorAll("polyline"), (line) => [
          line.getAttribute("class")?.replace("line s-", ""),
          (line.getAttribute("points") ?? "").split(" ").map((point) => Number(point.split(",")[1])),
        ]),
      ),
    }));
    const valueAt = (y) => Math.round(((drawn.zero - y) / (drawn.zero - drawn.limit)) * LIMIT * 100) / 100;
    for (const key of ["assigned", "unassigned", "provisioning", "free_numbers"]) {
      expect(drawn.lines[key].map(valueAt), key).toEqual(usage.series.map((d) => d[key]));
    }
    const tableRows = () =>
      page.locator("#usage-table tbody tr").evaluateAll((rows) => rows.map((tr) => Array.from(tr.cells, (td) => td.textContent)));
    const asRows = (u) =>
      u.series.map((d) => [d.date, ...[d.assigned, d.unassigned, d.provisioning, d.stuck, d.free_numbers, u.limit].map(String)]).reverse();
    expect(await tableRows()).toEqual(asRows(usage));
    await page.locator("#usage").screenshot({ path: SHOTS.usage });

    const reads = requests.filter((r) => r.path === "/api/admin/phone-pool/usage").length;
    await page.getByLabel("90 days").check();
    await eventually(() => page.locator("#usage-chart svg title").textContent()).toBe("The pool per day over the last 90 days");
    const quarter = await api("GET", "/api/admin/phone-pool/usage?days=90");
    expect(quarter.series.slice(60)).toEqual(usage.series);
    expect(await tableRows()).toEqual(asRows(quarter));
    expect(
      await page
        .locator("#usage-chart polyline")
        .first()
        .evaluate((l) => l.getAttribute("points").split(" ").length),
    ).toBe(90);
    expect(requests.filter((r) => r.path === "/api/admin/phone-pool/usage").length).toBe(reads + 1);
    await page.locator("#usage").screenshot({ path: SHOTS.usage90 });
    await page.getByLabel("30 days").check();
    await eventually(() => page.locator("#usage-chart svg title").textContent()).toBe("The pool per day over the last 30 days");
  });

  it("shows the history with numbers and assistants' names; their ids on hover", async () => {
    const { events } = await api("GET", "/api/admin/phone-pool/history?limit=20");
    const reused = events.find((e) => e.event === "reused");
    expect(reused).toMatchObject({
      phone_number_id: seededNumberId,
      assistant_id: seededAssistant.id,
      assistant_name: seededAssistant.name,
    });
    const row = page.locator("#history-table tbody tr", { hasText: "reused" });
    const number = row.locator('td[data-label="Number"] span');
    const digits = reused.number.slice(2);
    expect(await number.textContent()).toBe(`+1 ${digits.slice(0, 3)}-${digits.slice(3, 6)}-${digits.slice(6)}`);
    expect(await number.getAttribute("title")).toBe(`Number id ${seededNumberId}`);
    const assistant = row.locator('td[data-label="Assistant"] span');
    expect(await assistant.textContent()).toBe(seededAssistant.name);
    expect(await assistant.getAttribute("title")).toBe(`Assistant id ${seededAssistant.id}`);
    const shown = await page.locator("#history-table tbody").textContent();
    expect(shown).not.toContain(seededNumberId);
    expect(shown).not.toContain(seededAssistant.id);
    await page.locator("#history").screenshot({ path: SHOTS.history });
  });

  it("shows an organisation's live calls against its cap, at the cap highlighted (measured, not enforced, in direct)", async () => {
    await api("PUT", "/api/admin/organizations/e2e-org/limits", { max_concurrent_calls: 1 });
    const [[number]] = await server.d1(`SELECT vapi_phone_number_id FROM phone_numbers WHERE id = '${seededNumberId}'`);
    const call = { id: randomUUID(), phoneNumberId: number.vapi_phone_number_id };
    const hook = await server.call("POST", "/webhooks/vapi", {
      headers: { "X-Vapi-Secret": SECRETS.VAPI_WEBHOOK_SECRET },
      body: { message: { type: "status-update", status: "in-progress", call, timestamp: Date.now() } },
    });
    expect(hook.status, hook.text).toBe(200);
    expect((await pool()).calls).toMatchObject({ live: 1, organizations: [{ org_id: "e2e-org", live: 1, max_concurrent_calls: 1 }] });

    await page.getByRole("button", { name: "Reload now" }).click();
    const row = page.locator("#calls-table tbody tr");
    await eventually(() => row.count()).toBe(1);
    expect(await page.locator("#calls-summary").textContent()).toBe("Live calls: 1 of 10 (account total) · routing: direct");
    expect(await row.locator("td").allTextContents()).toEqual(["e2e-org", "1 (at or over its cap)", "1 (measured, not enforced)"]);
    expect(await row.getAttribute("class")).toBe("at-cap");
    expect(await page.locator("#calls .empty").isHidden()).toBe(true);
  });

  it("pre-provisions 2: their progress bars rise with the event stream, not with reloads, then they join the unassigned numbers", async () => {
    const before = (await pool()).stats;
    // The page holds the provisioning event stream (fetch with the token: EventSource could not send it).
    await eventually(() => page.locator("#live").textContent()).toMatch(/^Live:/);
    expect(streamOpens().at(-1)?.authorization).toBe(`Bearer ${admin}`);
    await page.getByLabel(/How many/).fill("2");
    await page.getByRole("button", { name: "Pre-provision" }).click();
    await eventually(() => page.locator("#status").textContent()).toMatch(/Created 2 numbers/);
    const cards = page.locator("#provisioning-list li");
    await eventually(() => cards.count()).toBe(2);
    expect(await cards.first().locator("progress").getAttribute("max")).toBeTruthy();
    expect(await cards.first().locator(".meta").textContent()).toContain("origin: made here");
    // Numbers joining the stream reload the rest once (the counts), then only the stream moves the bars.
    await eventually(() => page.locator("#count-provisioning").textContent()).toBe("2");
    await page.screenshot({ path: SHOTS.provisioning, fullPage: true });

    // Watch the first card's bar (every 50 ms) until it has risen twice, counting GET /api/admin/phone-pool
    // meanwhile: the slow reload (every 30 s) accounts for at most one; polling every 2 s would need a read per rise.
    const card = cards.first();
    const reads = poolReads();
    const opens = streamOpens().length;
    const seen = [await attemptsOf(card)];
    const deadline = Date.now() + 15_000;
    while (seen.length < 3) {
      if (Date.now() > deadline) throw new Error(`the progress bar did not rise twice in 15 s: ${seen.join(" → ")}`);
      const attempts = await attemptsOf(card).catch(() => null); // null: the card left (the number became active)
      if (attempts === null) throw new Error(`the number became active before its bar rose twice: ${seen.join(" → ")}`);
      if (attempts > seen.at(-1)) seen.push(attempts);
      else await sleep(50);
    }
    expect(poolReads() - reads, `GET /api/admin/phone-pool while the bar went ${seen.join(" → ")}`).toBeLessThanOrEqual(1);
    expect(streamOpens().length, "the stream stayed open (no reconnects)").toBe(opens);

    await card.getByRole("button", { name: "Refresh" }).click(); // asks Vapi now: still activating, or active
    await eventually(() => page.locator("#status").textContent()).toMatch(/Vapi says (pending|active)/);

    // The trackers' alarms activate them; the stream drops them, and the page reloads the rest.
    await eventually(() => cards.count(), 40_000).toBe(0);
    const after = (await pool()).stats;
    expect(after).toMatchObject({ unassigned: before.unassigned + 2, provisioning: 0, free_numbers: 4 });
    await eventually(() => shownCounts(page)).toEqual(countsOf(after));
  });

  it("drops the stream while the tab is hidden, and when it fails reloads and reconnects with backoff", async () => {
    const setVisibility = (state) =>
      page.evaluate((value) => {
        Object.defineProperty(document, "visibilityState", { value, configurable: true });
        document.dispatchEvent(new Event("visibilitychange"));
      }, state);
    const live = page.locator("#live");
    await eventually(() => live.textContent()).toMatch(/^Live:/);

    const opens = streamOpens().length;
    expect(streamOpens().filter((r) => !r.ended)).toHaveLength(1);
    await setVisibility("hidden");
    await eventually(() => live.textContent()).toMatch(/paused while this tab is hidden/);
    await eventually(() => streamOpens().filter((r) => !r.ended).length).toBe(0); // the page dropped the connection
    await sleep(1500);
    expect(streamOpens().length, "no reconnect while hidden").toBe(opens);

    // Shown again, but the stream fails (network error) until the route is lifted: each failure reloads the
    // pool, then the page tries again after about 1 s, then 2 s.
    failingStream = true;
    await page.route(`**${EVENTS_PATH}`, (route) => route.abort("failed"));
    try {
      const reads = poolReads();
      await setVisibility("visible");
      await eventually(() => streamOpens().length).toBeGreaterThanOrEqual(opens + 2);
      expect(await live.textContent()).toMatch(/Live progress failed.*reconnecting in [1-3] s/);
      expect(poolReads() - reads).toBeGreaterThanOrEqual(2); // on showing the tab, and after the first failure
      const [first, second] = streamOpens().slice(opens);
      expect(second.at - first.at).toBeGreaterThanOrEqual(700); // backoff: 1 s ± 20 %
    } finally {
      await page.unroute(`**${EVENTS_PATH}`);
    }
    await eventually(() => live.textContent(), 10_000).toMatch(/^Live:/);
    failingStream = false;
  });

  it("shows the pool_near_limit alert (4 of 5) and resolves it with its button", async () => {
    const alerts = page.locator("#alerts-list li");
    await eventually(() => alerts.count()).toBe(1);
    expect(await alerts.first().textContent()).toContain("pool near limit");
    await page.screenshot({ path: SHOTS.desktop, fullPage: true });
    await alerts
      .first()
      .getByRole("button", { name: /Resolve/ })
      .click();
    await eventually(() => alerts.count()).toBe(0);
    expect((await pool()).alerts).toEqual([]);
  });

  it("runs the cleanup dry run and shows its report once (in the report, not again in the status line)", async () => {
    await page.getByRole("button", { name: "Cleanup dry run" }).click();
    await eventually(() => page.locator("#cleanup-report").textContent()).toMatch(/Dry run: 0 numbers would be released.*30 days/);
    await page.getByRole("button", { name: "Cleanup dry run" }).waitFor(); // enabled again: the action and its reload ended
    await eventually(() => page.getByRole("button", { name: "Cleanup dry run" }).isEnabled()).toBe(true);
    expect(await page.getByText(/would be released/).count()).toBe(1);
    expect(await page.locator("#status").textContent()).not.toMatch(/would be released/);
  });

  it("shows the Vapi import's last report in words, and where each number came from", async () => {
    // A dry run against the sandbox's Vapi: every number and assistant there is Switchboard's own.
    const dryRun = await api("POST", "/api/admin/vapi/import", {});
    expect(dryRun.summary).toMatchObject({ numbers_listed: 4, assistants_listed: 1, numbers_to_adopt: 0, already_managed: 5 });
    const reload = page.getByRole("button", { name: "Reload now" });
    await reload.click();
    const summary = page.locator("#import-summary");
    await eventually(() => summary.textContent()).toMatch(
      /^Dry run .+: listed 4 numbers and 1 assistant in Vapi; would adopt 0 numbers and 0 assistants; 0 left as they are; 5 already managed; 0 failed\. Nothing was changed: \?dry_run=false adopts\.$/,
    );
    expect(await summary.locator("time").getAttribute("datetime")).toBe((await pool()).last_import.at);
    expect(await page.locator("#import .empty").isHidden()).toBe(true);
    expect(await page.locator("#import-details").isHidden()).toBe(true); // nothing was left alone

    // As a real import leaves it: one number adopted, one made outside and left, an assistant left, one failed.
    const [first] = (await pool()).unassigned;
    const at = new Date().toISOString();
    const entry = { provider: "vapi", vapi_status: "active", org_id: null, phone_number_id: null };
    const report = {
      dry_run: false,
      summary: {
        numbers_listed: 6,
        assistants_listed: 3,
        numbers_to_adopt: 2,
        assistants_to_adopt: 1,
        numbers_adopted: 1,
        assistants_adopted: 0,
        left_alone: 2,
        already_managed: 5,
        failed: 1,
        remaining: 2,
      },
      free_numbers: { limit: LIMIT, held_by_switchboard: 4, held_outside: 1, room: 0 },
      numbers: [
        {
          ...entry,
          vapi_phone_number_id: "vn-adopted",
          number: first.number,
          vapi_assistant_id: null,
          action: "join_pool",
          reason: "unassigned",
          outcome: "adopted",
        },
        {
          ...entry,
          vapi_phone_number_id: "vn-left",
          number: "+15125550100",
          vapi_assistant_id: "va-other",
          action: "leave",
          reason: "assigned to <b>Other Co</b>, not adopted",
          outcome: "unchanged",
        },
      ],
      assistants: [
        {
          vapi_assistant_id: "va-other",
          name: "Other Co",
          action: "leave",
          org_id: null,
          vapi_phone_number_id: "vn-left",
          reason: "not named in the request",
          outcome: "unchanged",
          assistant_id: null,
        },
        {
          vapi_assistant_id: "va-bakery",
          name: null,
          action: "adopt",
          org_id: "e2e-org",
          vapi_phone_number_id: null,
          reason: "named in the request",
          outcome: "failed",
          assistant_id: null,
          error: "Vapi answered 500",
        },
      ],
    };
    const quoted = (value) => `'${String(value).replace(/'/g, "''")}'`;
    await server.d1(
      `UPDATE phone_numbers SET origin = 'adopted' WHERE id = ${quoted(first.id)};` +
        `UPDATE vapi_account SET outside_free_numbers = 1, last_import = ${quoted(JSON.stringify(report))}, last_import_at = ${quoted(at)}, updated_at = ${quoted(at)} WHERE id = 'vapi'`,
    );
    await reload.click();
    await eventually(() => summary.textContent()).toMatch(
      /^Import .+: listed 6 numbers and 3 assistants in Vapi; adopted 1 number and 0 assistants; 2 left as they are; 5 already managed; 1 failed; 2 still to do \(run it again\)\.$/,
    );
    const row = page.locator("#unassigned-table tbody tr", { hasText: first.number });
    expect(await row.locator('td[data-label="Origin"]').textContent()).toBe("adopted");
    const { stats } = await pool();
    expect(stats).toMatchObject({ free_numbers: 5, free_numbers_outside: 1, by_origin: { made_here: 3, adopted: 1, org_twilio: 0 } });
    expect(await page.locator("#gauge-text").textContent()).toBe(
      `5 of ${LIMIT} free numbers used (100%), incl. 1 made outside Switchboard`,
    );
    expect(await page.locator("#origins").textContent()).toBe(
      "Where all 4 numbers came from: 3 made here, 1 adopted, 0 on an organisation's Twilio.",
    );

    // The full report (GET /api/admin/vapi/import): what was left alone or not done, each with its reason, as text.
    const details = page.locator("#import-details");
    await details.waitFor();
    expect(await page.locator("#import-details-title").textContent()).toBe("What was left alone or not done, and why (3)");
    await page.locator("#import-details-title").click();
    expect(await page.locator("#import-entries li").allTextContents()).toEqual([
      "Number +15125550100: left as it is: assigned to <b>Other Co</b>, not adopted",
      "Assistant “Other Co”: left as it is: not named in the request",
      "Assistant va-bakery: failed: named in the request (Vapi answered 500)",
    ]);
    expect(await page.locator("#import-entries b").count()).toBe(0); // a reason is text, never markup
    await page.locator("#import").screenshot({ path: SHOTS.import });
    expect(requests.filter((r) => r.path === "/api/admin/vapi/import").every((r) => r.method === "GET")).toBe(true);
  });

  /** A page of its own (a new context: no token yet), closed after `run`; its uncaught exceptions are problems. */
  async function onOwnPage(run) {
    const own = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    own.setDefaultTimeout(15_000);
    own.on("pageerror", (error) => problems.push(String(error)));
    try {
      await run(own);
    } finally {
      await own.close();
    }
  }
  const POOL_ROUTE = "**/api/admin/phone-pool"; // the pool's read only: no query, not the event stream below it

  it("names a refusal that is not the Worker's (no X-Request-Id, an edge 503) by its status alone", async () => {
    await onOwnPage(async (own) => {
      let served = 0;
      const edgePage = { status: 503, contentType: "text/plain", body: "upstream unavailable" }; // no X-Request-Id
      await own.route(
        POOL_ROUTE,
        (route) => {
          served += 1;
          return route.fulfill(edgePage);
        },
        { times: 1 },
      );
      await signIn(own, admin);
      await eventually(() => own.locator("#status").textContent()).toMatch(/^Error:/);
      expect(served).toBe(1);
      expect(await own.locator("#status").textContent()).toBe("Error: HTTP 503 (503)");
    });
  });

  it("keeps the sign-in when the token is forgotten while a load is under way (its answer is ignored)", async () => {
    await onOwnPage(async (own) => {
      await signIn(own, admin);
      await own.locator("#dashboard").waitFor();
      let reached; // called with the function that lets the held read go on
      const held = new Promise((resolve) => (reached = resolve));
      await own.route(
        POOL_ROUTE,
        async (route) => {
          await new Promise((release) => reached(release));
          await route.continue();
        },
        { times: 1 },
      );
      const reload = own.getByRole("button", { name: "Reload now" });
      await reload.click();
      const release = await held; // the load's read of the pool has reached the route and waits there
      expect(await reload.isDisabled()).toBe(true); // the load is under way
      await own.getByRole("button", { name: "Forget token" }).click();
      expect(await own.evaluate(() => sessionStorage.length)).toBe(0);

      const answered = own.waitForResponse((res) => new URL(res.url()).pathname === "/api/admin/phone-pool");
      release();
      expect((await answered).status()).toBe(200);
      // The reload button is enabled again only once the load's answer has been handled.
      await own.waitForFunction(() => !(/** @type {HTMLButtonElement} */ (document.getElementById("reload")).disabled));
      expect(await own.getByLabel(/Admin token/).isVisible()).toBe(true);
      expect(await own.locator("#dashboard").isHidden()).toBe(true);
      expect(await own.locator("#forget").isHidden()).toBe(true);
      expect(await own.evaluate(() => sessionStorage.length)).toBe(0);
    });
  });

  it("counts free Vapi numbers only on the Free numbers card; an organisation's Twilio number is said apart", async () => {
    const owner = token("e2e-twilio", { role: "owner", prefix: "e2e" });
    const twilio = { account_sid: `AC${"0".repeat(32)}`, auth_token: "sandbox-twilio-auth-token" }; // the sandbox's demo account
    const configured = await server.call("PUT", "/api/organization/twilio", { auth: owner, body: twilio });
    expect(configured.status, configured.text).toBe(200);
    await api("POST", "/api/admin/twilio/purchase", { org_id: "e2e-twilio" });
    const { stats } = await pool();
    expect(stats.providers.twilio).toMatchObject({ total: 1, assigned: 0, unassigned: 1 });

    await page.getByRole("button", { name: "Reload now" }).click();
    await eventually(() => page.locator("#pool-twilio").textContent()).toBe(
      "Not counted above: 1 Twilio number of organisations (0 assigned, 1 unassigned).",
    );
    expect(await shownCounts(page)).toEqual(countsOf(stats));
    expect((await shownCounts(page)).total).toBe(stats.total - 1);
    expect((await shownCounts(page)).unassigned).toBe(stats.unassigned - 1);
    expect(await page.locator("#gauge-text").textContent()).toMatch(new RegExp(`^${stats.free_numbers} of ${LIMIT} free numbers used`));
    await page.locator("#pool").screenshot({ path: SHOTS.twilio });
  });

  it("is readable on a phone: one column, no horizontal scroll", async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    try {
      phone.on("pageerror", (error) => problems.push(String(error)));
      await signIn(phone, admin);
      await phone.locator("#dashboard").waitFor();
      await eventually(() => phone.locator("#count-total").textContent()).toBe(String((await pool()).stats.providers.vapi.total));
      await phone.locator("#usage-chart svg").waitFor();
      // The chart is drawn as wide as the phone: its text stays at its size.
      const chart = await phone.locator("#usage-chart svg").evaluate((svg) => ({
        width: svg.getBoundingClientRect().width,
        viewBox: Number(svg.getAttribute("viewBox")?.split(" ")[2]),
      }));
      expect(Math.abs(chart.width - chart.viewBox)).toBeLessThanOrEqual(1);
      const width = await phone.evaluate(() => ({ scroll: document.documentElement.scrollWidth, view: window.innerWidth }));
      expect(width.scroll).toBeLessThanOrEqual(width.view);
      await phone.screenshot({ path: SHOTS.phone, fullPage: true });
      await phone.locator("#usage").screenshot({ path: SHOTS.usagePhone });
    } finally {
      await phone.close();
    }
    expect(problems).toEqual([]);
  });
});
