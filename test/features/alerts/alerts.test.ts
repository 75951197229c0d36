import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createApp } from "../../../src/app";
import type { Env } from "../../../src/env";
import { beforeEach, describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client";
import { createLogger } from "../../../src/platform/log";
import { deliverAlert, raiseAlert, resolveAlert } from "../../../src/features/alerts/alerts";
import { reviewAlerts } from "../../../src/features/alerts/review";
import { sandbox } from "../../helpers/api";
import { resetState, seedNumber, seedNumbers } from "../../helpers/pool";
import { adminToken, alertRows, opsDeps, resetTwilio, runCron, WEBHOOK_URL } from "../../helpers/operations";

const db = () => createDb(env.DB);
const log = createLogger({ test: true });
const SWEEP = "*/5 * * * *";
const alert = { kind: "vapi_refused_number" as const, subject: "vapi", message: "Vapi refused a new free number: limit reached" };

beforeEach(async () => {
  await resetState();
  await resetTwilio();
});

describe("raising alerts", () => {
  it("opens one alert per kind and subject, and posts it to the webhook once, after the caller returns", async () => {
    const deps = await opsDeps({ settings: { ALERT_WEBHOOK_URL: WEBHOOK_URL } });
    expect(await raiseAlert(deps.db, deps.log, alert, deps.alerts)).toBe(true);
    expect(await raiseAlert(deps.db, deps.log, alert, deps.alerts)).toBe(false);
    // The post was handed to waitUntil rather than awaited by raiseAlert.
    expect(await deps.settled()).toHaveLength(1);

    const posts = await sandbox().requests("alerts");
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({ method: "POST", status: 200 });
    expect(posts[0]!.body).toEqual({ text: expect.stringContaining("vapi_refused_number") });
    expect(posts[0]!.body.text).toContain(alert.message);

    const [row, ...others] = await alertRows("vapi_refused_number");
    expect(others).toEqual([]);
    expect(row).toMatchObject({ status: "open", subject: "vapi" });
    expect(row!.notified_at).not.toBeNull();
  });

  it("delivering the same alert twice posts it once (the notified_at claim)", async () => {
    const deps = await opsDeps({ settings: { ALERT_WEBHOOK_URL: WEBHOOK_URL } });
    await raiseAlert(deps.db, deps.log, alert);
    const [row] = await alertRows();
    const results = await Promise.all([
      deliverAlert(deps.db, log, deps.alerts.notifier!, row!),
      deliverAlert(deps.db, log, deps.alerts.notifier!, row!),
    ]);
    expect(results.sort()).toEqual([false, true]);
    expect(await sandbox().requests("alerts")).toHaveLength(1);
  });

  it("once resolved, the same condition opens (and posts) a new alert", async () => {
    const deps = await opsDeps({ settings: { ALERT_WEBHOOK_URL: WEBHOOK_URL } });
    await raiseAlert(deps.db, deps.log, alert, deps.alerts);
    await resolveAlert(db(), "vapi_refused_number", "vapi");
    expect(await raiseAlert(deps.db, deps.log, alert, deps.alerts)).toBe(true);
    await deps.settled();
    expect((await alertRows()).map((a) => a.status)).toEqual(["resolved", "open"]);
    expect(await sandbox().requests("alerts")).toHaveLength(2);
  });

  it("without ALERT_WEBHOOK_URL nothing is posted; the 5-minute cron posts open alerts nobody was told of, once", async () => {
    // Raised the way the pool's own code raises alerts: (db, log, alert), no notifier.
    await raiseAlert(db(), log, alert);
    await raiseAlert(db(), log, { kind: "orphan_adopted", subject: "n-1", message: "adopted" });
    await resolveAlert(db(), "orphan_adopted", "n-1");
    await runCron(SWEEP);
    expect(await sandbox().requests("alerts")).toHaveLength(0);

    await runCron(SWEEP, Date.now(), { ALERT_WEBHOOK_URL: WEBHOOK_URL });
    await runCron(SWEEP, Date.now(), { ALERT_WEBHOOK_URL: WEBHOOK_URL });
    const posts = await sandbox().requests("alerts");
    expect(posts).toHaveLength(1); // the open one; the resolved one is not news any more
    expect(posts[0]!.body.text).toContain("vapi_refused_number");
  });

  it("a failing webhook is logged and not retried (at most once)", async () => {
    const deps = await opsDeps({ settings: { ALERT_WEBHOOK_URL: WEBHOOK_URL } });
    await sandbox().injectFault({ service: "alerts", count: 5, kind: "status", status: 500 });
    expect(await raiseAlert(deps.db, deps.log, alert, deps.alerts)).toBe(true);
    await deps.settled();
    await runCron(SWEEP, Date.now(), { ALERT_WEBHOOK_URL: WEBHOOK_URL });
    expect(await sandbox().requests("alerts")).toHaveLength(1);
  });
});

describe("pool_near_limit", () => {
  it("is raised by an admin pre-provision that reaches 80%, and posted through the request's waitUntil", async () => {
    await seedNumbers(6);
    const ctx = createExecutionContext();
    const request = new Request("https://switchboard.test/api/admin/phone-pool/pre-provision", {
      method: "POST",
      headers: { Authorization: `Bearer ${await adminToken()}`, "Content-Type": "application/json" },
      body: JSON.stringify({ count: 2 }),
    });
    const res = await createApp().fetch(request, { ...env, ALERT_WEBHOOK_URL: WEBHOOK_URL } as Env, ctx);
    expect(res.status).toBe(200);
    await waitOnExecutionContext(ctx);
    expect(await alertRows("pool_near_limit")).toEqual([expect.objectContaining({ status: "open", notified_at: expect.any(String) })]);
    const posts = await sandbox().requests("alerts");
    expect(posts).toHaveLength(1);
    expect(posts[0]!.body.text).toContain("pool_near_limit");
  });

  it("is raised by the 5-minute cron at 8 of 10 free numbers and resolved below", async () => {
    const numbers = await seedNumbers(7);
    await runCron(SWEEP);
    expect(await alertRows("pool_near_limit")).toEqual([]);

    numbers.push(await seedNumber());
    await runCron(SWEEP);
    await runCron(SWEEP);
    const [raised, ...more] = await alertRows("pool_near_limit");
    expect(more).toEqual([]);
    expect(raised).toMatchObject({ status: "open", subject: "pool" });
    expect(raised!.message).toContain("8 of 10");

    await env.DB.prepare("UPDATE phone_numbers SET status = 'released' WHERE id = ?").bind(numbers[0]!.id).run();
    await runCron(SWEEP);
    expect((await alertRows("pool_near_limit")).map((a) => a.status)).toEqual(["resolved"]);
  });

  it("counts provisioning and stuck free numbers (they hold a slot) but not an organisation's Twilio numbers", async () => {
    const free = await seedNumbers(7);
    await env.DB.prepare("UPDATE phone_numbers SET status = 'stuck' WHERE id = ?").bind(free[0]!.id).run();
    await seedNumbers(3, { orgId: "org-t", source: "twilio_imported" });
    await runCron(SWEEP);
    expect(await alertRows("pool_near_limit")).toEqual([]);
    await seedNumber();
    await runCron(SWEEP);
    expect((await alertRows("pool_near_limit")).map((a) => a.status)).toEqual(["open"]);
  });
});

describe("alerts resolve themselves when the condition clears", () => {
  const open = async () =>
    (await alertRows())
      .filter((a) => a.status === "open")
      .map((a) => `${a.kind}:${a.subject}`)
      .sort();
  const deps = async () => opsDeps();

  it("pool_exhausted: once there is room for a free number or an unassigned number", async () => {
    const numbers = await seedNumbers(10, { assistantId: null });
    await env.DB.prepare("UPDATE phone_numbers SET assistant_id = id").run();
    await raiseAlert(db(), log, { kind: "pool_exhausted", subject: "pool", message: "409" });
    await reviewAlerts(await deps());
    expect(await open()).toContain("pool_exhausted:pool");

    await env.DB.prepare("UPDATE phone_numbers SET assistant_id = NULL WHERE id = ?").bind(numbers[0]!.id).run();
    const review = await reviewAlerts(await deps());
    expect(review.resolved).toContainEqual({ kind: "pool_exhausted", subject: "pool" });
    expect(await open()).not.toContain("pool_exhausted:pool");
  });

  it("pool_exhausted: also once a free number is released (room under the limit)", async () => {
    const numbers = await seedNumbers(10);
    await env.DB.prepare("UPDATE phone_numbers SET assistant_id = id").run();
    await raiseAlert(db(), log, { kind: "pool_exhausted", subject: "pool", message: "409" });
    await reviewAlerts(await deps());
    expect(await open()).toContain("pool_exhausted:pool");
    await env.DB.prepare("UPDATE phone_numbers SET status = 'released', assistant_id = NULL WHERE id = ?").bind(numbers[0]!.id).run();
    await reviewAlerts(await deps());
    expect(await open()).not.toContain("pool_exhausted:pool");
  });

  it("vapi_refused_number: once a free number is created after the refusal", async () => {
    await raiseAlert(db(), log, alert);
    await reviewAlerts(await deps());
    expect(await open()).toEqual(["vapi_refused_number:vapi"]);
    await env.DB.prepare("UPDATE alerts SET created_at = ?")
      .bind(new Date(Date.now() - 60_000).toISOString())
      .run();
    await seedNumber();
    await reviewAlerts(await deps());
    expect(await open()).toEqual([]);
  });

  it("vapi_area_code_unavailable: once a free number is created in that area code after the refusal", async () => {
    await raiseAlert(db(), log, { kind: "vapi_area_code_unavailable", subject: "999", message: "none in 999" });
    await env.DB.prepare("UPDATE alerts SET created_at = ?")
      .bind(new Date(Date.now() - 60_000).toISOString())
      .run();
    await seedNumber({ areaCode: "512" });
    await reviewAlerts(await deps());
    expect(await open()).toEqual(["vapi_area_code_unavailable:999"]);
    await seedNumber({ areaCode: "999" });
    await reviewAlerts(await deps());
    expect(await open()).toEqual([]);
  });

  it("twilio_numbers_exhausted: once the organisation has a listed number again (or auto-purchase)", async () => {
    await raiseAlert(db(), log, { kind: "twilio_numbers_exhausted", subject: "org-t", message: "used up" });
    await raiseAlert(db(), log, { kind: "twilio_numbers_exhausted", subject: "org-u", message: "used up" });
    await reviewAlerts(await deps());
    expect(await open()).toEqual(["twilio_numbers_exhausted:org-t", "twilio_numbers_exhausted:org-u"]);
    const at = new Date().toISOString();
    await env.DB.prepare(
      "INSERT INTO twilio_numbers (id, org_id, number, origin, state, created_at, updated_at) VALUES ('t1', 'org-t', '+14155550199', 'imported', 'listed', ?, ?)",
    )
      .bind(at, at)
      .run();
    await reviewAlerts(await deps());
    expect(await open()).toEqual(["twilio_numbers_exhausted:org-u"]);
  });

  it("provisioning_stuck and provisioning_failed: once the number is no longer stuck or failed; orphan_adopted stays", async () => {
    const stuck = await seedNumber();
    const failed = await seedNumber();
    await env.DB.batch([
      env.DB.prepare("UPDATE phone_numbers SET status = 'stuck' WHERE id = ?").bind(stuck.id),
      env.DB.prepare("UPDATE phone_numbers SET status = 'failed' WHERE id = ?").bind(failed.id),
    ]);
    await raiseAlert(db(), log, { kind: "provisioning_stuck", subject: stuck.id, message: "stuck" });
    await raiseAlert(db(), log, { kind: "provisioning_failed", subject: failed.id, message: "failed" });
    await raiseAlert(db(), log, { kind: "orphan_adopted", subject: "x", message: "adopted" });
    await reviewAlerts(await deps());
    expect(await open()).toHaveLength(3);

    await env.DB.prepare("UPDATE phone_numbers SET status = 'active'").run();
    await env.DB.prepare("UPDATE phone_numbers SET status = 'released' WHERE id = ?").bind(failed.id).run();
    await reviewAlerts(await deps());
    expect(await open()).toEqual(["orphan_adopted:x"]);
  });
});
