import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client";
import { applyCleanup, cleanupWorkQueries, findCleanupWork, runCleanup } from "../../../src/features/numbers/cleanup";
import { call, json, sampleBusiness, sandbox, tableCounts, token } from "../../helpers/api";
import { numberRows, resetState, seedNumber, seedNumbers } from "../../helpers/pool";
import { adminToken, alertRows, DAY_MS, eventRows, opsDeps, resetTwilio } from "../../helpers/operations";

const DEMO_SID = `AC${"0".repeat(32)}`;
const DEMO_TOKEN = "sandbox-twilio-auth-token";
const IMPORTED = "+14155550101";

beforeEach(async () => {
  await resetState();
  await resetTwilio();
});

const rowOf = (id: string) => env.DB.prepare("SELECT * FROM phone_numbers WHERE id = ?").bind(id).first<Record<string, any>>();
const vapiIds = async () => (await sandbox().vapiPhoneNumbers()).map((n) => String(n.id));

describe("cleanup of unused numbers", () => {
  it("keeps a number unassigned for 29 days and releases it at 31: deleted in Vapi, recorded", async () => {
    const number = await seedNumber();
    const deps = await opsDeps();

    const day29 = await runCleanup(deps, { nowMs: Date.now() + 29 * DAY_MS, dryRun: false });
    expect(day29.numbers).toEqual([]);
    expect((await rowOf(number.id))!.status).toBe("active");
    expect(await vapiIds()).toContain(number.vapiId);

    const day31 = await runCleanup(deps, { nowMs: Date.now() + 31 * DAY_MS, dryRun: false });
    expect(day31).toMatchObject({ dry_run: false, released: 1, kept: 0, pending: 0, unused_number_days: 30 });
    expect(day31.numbers).toEqual([
      expect.objectContaining({ phone_number_id: number.id, number: number.number, outcome: "released", actions: ["delete_in_vapi"] }),
    ]);
    const row = await rowOf(number.id);
    expect(row).toMatchObject({ status: "released", assistant_id: null });
    expect(row!.released_at).toBe(day31.now);
    expect(await vapiIds()).not.toContain(number.vapiId);
    const events = await eventRows(number.id);
    expect(events.map((e) => e.event)).toEqual(["released"]);
    expect(events[0]!.detail).toMatchObject({ reason: "unused", number: number.number });
  });

  it("keeps a number idle exactly UNUSED_NUMBER_DAYS, in the selection and in the releasing statement; one millisecond more releases it", async () => {
    const [boundary, over] = await seedNumbers(2);
    const deps = await opsDeps();
    const nowMs = Date.now();
    const since = (ms: number) => new Date(nowMs - ms).toISOString();
    await env.DB.batch([
      env.DB.prepare("UPDATE phone_numbers SET unassigned_at = ? WHERE id = ?").bind(since(30 * DAY_MS), boundary!.id),
      env.DB.prepare("UPDATE phone_numbers SET unassigned_at = ? WHERE id = ?").bind(since(30 * DAY_MS + 1), over!.id),
    ]);

    const work = await findCleanupWork(deps, nowMs);
    expect(work.cutoff).toBe(since(30 * DAY_MS));
    expect(work.unused.map((r) => r.id)).toEqual([over!.id]);

    // Handed to the release anyway, the boundary number is still kept: the guarded UPDATE draws the same line.
    const boundaryRow = (await findCleanupWork(deps, nowMs + 1)).unused.find((r) => r.id === boundary!.id)!;
    const entries = await applyCleanup(deps, { ...work, unused: [boundaryRow, ...work.unused] }, nowMs);
    expect(entries.map((e) => [e.phone_number_id, e.outcome])).toEqual([
      [boundary!.id, "kept"],
      [over!.id, "released"],
    ]);
    expect(await rowOf(boundary!.id)).toMatchObject({ status: "active", released_at: null });
    expect(await vapiIds()).toContain(boundary!.vapiId);
  });

  it("counts from created_at when a number was never assigned", async () => {
    const number = await seedNumber();
    const created = new Date(Date.now() - 40 * DAY_MS).toISOString();
    await env.DB.prepare("UPDATE phone_numbers SET unassigned_at = NULL, created_at = ? WHERE id = ?").bind(created, number.id).run();
    const report = await runCleanup(await opsDeps(), { nowMs: Date.now(), dryRun: false });
    expect(report.numbers.map((n) => [n.phone_number_id, n.idle_since, n.outcome])).toEqual([[number.id, created, "released"]]);
  });

  it("never touches assigned, provisioning, stuck or failed numbers", async () => {
    const [assigned, provisioning, stuck, failed] = await seedNumbers(4);
    await env.DB.batch([
      env.DB.prepare("UPDATE phone_numbers SET assistant_id = 'a-1' WHERE id = ?").bind(assigned!.id),
      env.DB.prepare("UPDATE phone_numbers SET status = 'provisioning' WHERE id = ?").bind(provisioning!.id),
      env.DB.prepare("UPDATE phone_numbers SET status = 'stuck' WHERE id = ?").bind(stuck!.id),
      env.DB.prepare("UPDATE phone_numbers SET status = 'failed' WHERE id = ?").bind(failed!.id),
    ]);
    const before = await numberRows();
    const report = await runCleanup(await opsDeps(), { nowMs: Date.now() + 365 * DAY_MS, dryRun: false });
    expect(report.numbers).toEqual([]);
    expect(await numberRows()).toEqual(before);
    expect(await vapiIds()).toHaveLength(4);
  });

  it("keeps a number that was assigned after it was selected (the guard is in the releasing statement)", async () => {
    const number = await seedNumber();
    const deps = await opsDeps();
    const nowMs = Date.now() + 31 * DAY_MS;
    const work = await findCleanupWork(deps, nowMs);
    expect(work.unused.map((r) => r.id)).toEqual([number.id]);

    // An assistant claims it between the selection and the release.
    await env.DB.prepare("UPDATE phone_numbers SET assistant_id = 'a-late', assigned_at = ? WHERE id = ?")
      .bind(new Date().toISOString(), number.id)
      .run();
    const entries = await applyCleanup(deps, work, nowMs);

    expect(entries).toEqual([expect.objectContaining({ phone_number_id: number.id, outcome: "kept" })]);
    expect(await rowOf(number.id)).toMatchObject({ status: "active", assistant_id: "a-late", released_at: null });
    expect(await vapiIds()).toContain(number.vapiId);
    expect(await eventRows(number.id)).toEqual([]);
  });

  it("a dry run reports and changes nothing, in D1 or upstream", async () => {
    const [old, recent] = await seedNumbers(2);
    await env.DB.prepare("UPDATE phone_numbers SET unassigned_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 31 * DAY_MS).toISOString(), old!.id)
      .run();
    const rowsBefore = await numberRows();
    const countsBefore = await tableCounts();
    const upstreamCalls = (await sandbox().requests()).length;

    const report = await runCleanup(await opsDeps(), { nowMs: Date.now(), dryRun: true });

    expect(report).toMatchObject({ dry_run: true, released: 0, kept: 0, pending: 0 });
    expect(report.numbers).toEqual([
      expect.objectContaining({ phone_number_id: old!.id, outcome: "would_release", actions: ["delete_in_vapi"] }),
    ]);
    expect(report.numbers.map((n) => n.phone_number_id)).not.toContain(recent!.id);
    expect(await numberRows()).toEqual(rowsBefore);
    expect(await tableCounts()).toEqual(countsBefore);
    expect(await sandbox().requests()).toHaveLength(upstreamCalls);
  });

  it("when Vapi fails, the number stays released in D1 and the next run finishes the release", async () => {
    const number = await seedNumber();
    const deps = await opsDeps();
    const nowMs = Date.now() + 31 * DAY_MS;
    await sandbox().injectFault({ service: "vapi", method: "DELETE", pathPrefix: "/phone-number", count: 3, kind: "status", status: 503 });

    const first = await runCleanup(deps, { nowMs, dryRun: false });
    expect(first).toMatchObject({ released: 0, pending: 1 });
    expect(first.numbers[0]).toMatchObject({ outcome: "release_pending", error: expect.any(String) });
    // Out of the pool at once (never handed out again), but not finished.
    expect(await rowOf(number.id)).toMatchObject({ status: "released", released_at: null });
    expect(await vapiIds()).toContain(number.vapiId);
    expect((await runCleanup(deps, { nowMs, dryRun: true })).numbers).toEqual([expect.objectContaining({ outcome: "would_retry" })]);

    const second = await runCleanup(deps, { nowMs: nowMs + DAY_MS, dryRun: false });
    expect(second).toMatchObject({ released: 1, pending: 0 });
    expect((await rowOf(number.id))!.released_at).toBe(second.now);
    expect(await vapiIds()).not.toContain(number.vapiId);
    expect((await eventRows(number.id)).map((e) => e.event)).toEqual(["released"]);
  });

  it("tolerates a number already deleted in Vapi", async () => {
    const number = await seedNumber();
    const deps = await opsDeps();
    await deps.vapi.deletePhoneNumber(number.vapiId);
    const report = await runCleanup(deps, { nowMs: Date.now() + 31 * DAY_MS, dryRun: false });
    expect(report.numbers).toEqual([expect.objectContaining({ outcome: "released" })]);
  });
});

describe("cleanup of an organisation's Twilio numbers", () => {
  const org = "org-twilio";
  const owner = () => token({ org, role: "owner" });

  /** The free pool is full of stuck numbers, so assistants get the organisation's own numbers. */
  async function fillFreePool() {
    const seeded = await seedNumbers(10);
    await env.DB.prepare(`UPDATE phone_numbers SET status = 'stuck' WHERE id IN (${seeded.map(() => "?").join(",")})`)
      .bind(...seeded.map((s) => s.id))
      .run();
  }

  it("releases a number Switchboard bought at Twilio, but only removes an imported one from Vapi and lists it again", async () => {
    const configured = await call("PUT", "/api/organization/twilio", {
      token: await owner(),
      body: { account_sid: DEMO_SID, auth_token: DEMO_TOKEN, phone_numbers: [IMPORTED], auto_purchase: false },
    });
    expect(configured.status, await configured.clone().text()).toBe(200);
    await fillFreePool();

    // The imported number serves an assistant, which is then deleted: the number waits unassigned.
    const created = await json(
      await call("POST", "/api/assistants", { token: await token({ org }), body: { business_data: sampleBusiness } }),
    );
    expect(created).toMatchObject({ phone_provider: "twilio", vapi_phone_number: IMPORTED });
    expect((await call("DELETE", `/api/assistants/${created.id}`, { token: await token({ org }) })).status).toBe(204);
    // An operator buys one more for the organisation.
    const bought = await json(
      await call("POST", "/api/admin/twilio/purchase", { token: await adminToken(), body: { org_id: org, area_code: "512" } }),
    );
    expect(bought.source).toBe("twilio_purchased");
    const owned = (await sandbox().twilioNumbers(DEMO_SID)).map((n) => n.phoneNumber);
    expect(owned).toEqual(expect.arrayContaining([IMPORTED, bought.number]));

    const report = await runCleanup(await opsDeps(), { nowMs: Date.now() + 31 * DAY_MS, dryRun: false });

    expect(report.released).toBe(2);
    const byNumber = Object.fromEntries(report.numbers.map((n) => [n.number, n]));
    expect(byNumber[IMPORTED]).toMatchObject({
      source: "twilio_imported",
      actions: ["delete_in_vapi", "return_to_twilio_list"],
      outcome: "released",
    });
    expect(byNumber[bought.number]).toMatchObject({
      source: "twilio_purchased",
      actions: ["delete_in_vapi", "release_at_twilio"],
      outcome: "released",
    });
    // Twilio: the imported number is still the organisation's; the bought one is gone.
    const after = (await sandbox().twilioNumbers(DEMO_SID)).map((n) => n.phoneNumber);
    expect(after).toContain(IMPORTED);
    expect(after).not.toContain(bought.number);
    expect((await sandbox().requests("twilio")).filter((r) => r.method === "DELETE")).toHaveLength(1);
    // Vapi: neither is there any more.
    const inVapi = (await sandbox().vapiPhoneNumbers()).map((n) => n.number);
    expect(inVapi).not.toContain(IMPORTED);
    expect(inVapi).not.toContain(bought.number);
    // The organisation's list offers the imported number again; the bought one is forgotten.
    const config = await json(await call("GET", "/api/organization/twilio", { token: await owner() }));
    expect(config.numbers).toEqual([
      expect.objectContaining({ number: IMPORTED, origin: "imported", state: "available", phone_number_id: null }),
    ]);
  });

  it("a bought number of an organisation that removed its credentials stays pending (it cannot be released for it)", async () => {
    await call("PUT", "/api/organization/twilio", {
      token: await owner(),
      body: { account_sid: DEMO_SID, auth_token: DEMO_TOKEN, auto_purchase: false },
    });
    const bought = await json(await call("POST", "/api/admin/twilio/purchase", { token: await adminToken(), body: { org_id: org } }));
    expect((await call("DELETE", "/api/organization/twilio", { token: await owner() })).status).toBe(204);

    const report = await runCleanup(await opsDeps(), { nowMs: Date.now() + 31 * DAY_MS, dryRun: false });
    expect(report.numbers).toEqual([
      expect.objectContaining({ phone_number_id: bought.id, outcome: "release_pending", error: expect.stringContaining("Twilio") }),
    ]);
    expect((await sandbox().twilioNumbers(DEMO_SID)).map((n) => n.phoneNumber)).toContain(bought.number);
  });
});

describe("the cleanup's budget", () => {
  /** `count` free numbers unassigned 40 days ago, in Vapi and D1, written in bulk. */
  async function seedIdle(count: number) {
    const vapi = await sandbox().seedVapiPhoneNumbers(Array.from({ length: count }, () => ({ areaCode: "415" })));
    const since = new Date(Date.now() - 40 * DAY_MS).toISOString();
    const insert = env.DB.prepare(
      `INSERT INTO phone_numbers (id, provider, source, vapi_phone_number_id, number, area_code, status, unassigned_at, created_at, updated_at)
       VALUES (?, 'vapi', 'vapi_free', ?, ?, '415', 'active', ?, ?, ?)`,
    );
    const rows = vapi.map((n) => ({ id: crypto.randomUUID(), vapiId: n.id }));
    for (let i = 0; i < rows.length; i += 100) {
      await env.DB.batch(rows.slice(i, i + 100).map((r, j) => insert.bind(r.id, r.vapiId, vapi[i + j]!.number, since, since, since)));
    }
    return rows;
  }

  const statusCounts = async () =>
    Object.fromEntries(
      (
        await env.DB.prepare("SELECT status, count(*) AS n FROM phone_numbers GROUP BY status").all<{ status: string; n: number }>()
      ).results.map((r) => [r.status, r.n]),
    );
  const vapiDeletes = async () => (await sandbox().requests("vapi")).filter((r) => r.method === "DELETE").length;

  it("releases 250 unused numbers in one run: no fixed batch, and the dry run says how many wait beyond its batch", async () => {
    await seedIdle(250);
    const deps = await opsDeps();

    const plan = await runCleanup(deps, { nowMs: Date.now(), dryRun: true });
    expect(plan).toMatchObject({ left: 150, stopped_at_budget: false });
    expect(plan.numbers).toHaveLength(100);

    const report = await runCleanup(deps, { nowMs: Date.now(), dryRun: false });
    expect(report).toMatchObject({ released: 250, kept: 0, pending: 0, left: 0, stopped_at_budget: false });
    expect(new Set(report.numbers.map((n) => n.phone_number_id)).size).toBe(250);
    expect(await statusCounts()).toEqual({ released: 250 });
    expect(await vapiIds()).toEqual([]);
    expect(await alertRows("cleanup_backlog")).toEqual([]);
  });

  it("a run out of time leaves a cleanup_backlog alert saying how many are left; the next run finishes and resolves it", async () => {
    await seedIdle(5);
    const deps = await opsDeps();
    // A fake clock a second further on at every look: the tracker starts at 1 s, and releases at 2, 3 and 4 s fit 3.5 s.
    let ms = 0;
    const clock = () => (ms += 1000);

    const first = await runCleanup(deps, { nowMs: Date.now(), dryRun: false, clock, budget: { wallMs: 3500, upstreamCalls: 900 } });
    expect(first).toMatchObject({ released: 3, left: 2, stopped_at_budget: true });
    expect(await statusCounts()).toEqual({ active: 2, released: 3 });
    const [alert] = await alertRows("cleanup_backlog");
    expect(alert).toMatchObject({ subject: "cleanup", status: "open", message: expect.stringContaining("2 still waiting") });

    const second = await runCleanup(deps, { nowMs: Date.now(), dryRun: false });
    expect(second).toMatchObject({ released: 2, left: 0, stopped_at_budget: false });
    expect(await statusCounts()).toEqual({ released: 5 });
    expect(await alertRows("cleanup_backlog")).toEqual([expect.objectContaining({ id: alert!.id, status: "resolved" })]);
  });

  it("never starts a release whose worst case (every call retried) would pass the call budget", async () => {
    await seedIdle(8);
    const deps = await opsDeps();
    const worstRelease = 3 * (deps.settings.UPSTREAM_MAX_RETRIES + 1);
    const before = await vapiDeletes();

    const report = await runCleanup(deps, {
      nowMs: Date.now(),
      dryRun: false,
      budget: { wallMs: 60_000, upstreamCalls: worstRelease + 4 },
    });
    // One Vapi call each: the 6th would start at 5 calls spent, and 5 + the worst case passes the budget.
    expect(report).toMatchObject({ released: 5, left: 3, stopped_at_budget: true });
    expect((await vapiDeletes()) - before).toBe(5);
    expect(deps.cost.upstreamTotal).toBe(5);
  });

  it("tries each unfinished release once a run, past the batch size, even when every one fails again", async () => {
    // Bought numbers of an organisation without Twilio credentials: each attempt fails at once, and stays unfinished.
    const insert = env.DB.prepare(
      `INSERT INTO phone_numbers (id, provider, source, number, status, org_id, created_at, updated_at)
       VALUES (?, 'twilio', 'twilio_purchased', ?, 'released', 'org-gone', ?, ?)`,
    );
    const ids = Array.from({ length: 130 }, () => crypto.randomUUID());
    // Ties on updated_at across a batch boundary: the id orders them.
    const at = (i: number) => new Date(Date.now() - DAY_MS + Math.floor(i / 3)).toISOString();
    await env.DB.batch(ids.map((id, i) => insert.bind(id, `+1512555${String(i).padStart(4, "0")}`, at(i), at(i))));

    const report = await runCleanup(await opsDeps(), { nowMs: Date.now(), dryRun: false });
    expect(report).toMatchObject({ released: 0, pending: 130, left: 0, stopped_at_budget: false });
    expect(report.numbers.map((n) => n.phone_number_id).sort()).toEqual([...ids].sort());
  });

  it("reads the unfinished releases through their partial index, never every released row", async () => {
    const db = createDb(env.DB);
    const cutoff = new Date().toISOString();
    const cases = [
      { options: {}, range: "" },
      { options: { claimedBefore: cutoff }, range: " AND updated_at<\\?" },
      { options: { claimedBefore: cutoff, after: { updatedAt: cutoff, id: "n-1" } }, range: " AND updated_at>\\? AND updated_at<\\?" },
    ];
    for (const { options, range } of cases) {
      const [, unfinished] = cleanupWorkQueries(db, cutoff, options);
      const { sql, params } = unfinished.toSQL();
      const plan = (
        await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .bind(...params)
          .all<{ detail: string }>()
      ).results.map((r) => r.detail);
      const search = new RegExp(
        `^SEARCH phone_numbers USING INDEX phone_numbers_unfinished_release \\(status=\\? AND released_at=\\?${range}\\)$`,
      );
      expect(plan, plan.join("\n")).toEqual([expect.stringMatching(search)]);
    }
  });
});
