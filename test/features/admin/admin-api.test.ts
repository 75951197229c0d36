import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client";
import { createLogger } from "../../../src/platform/log";
import { raiseAlert } from "../../../src/features/alerts/alerts";
import { markStuck } from "../../../src/features/provisioning/activation";
import { call, json, sandbox, token } from "../../helpers/api";
import { createAssistantFor, expectError, newOrg } from "../../helpers/assertions";
import { numberRows, resetState, seedNumber, seedNumbers } from "../../helpers/pool";
import { adminToken, alertRows, DAY_MS, eventRows, resetTwilio } from "../../helpers/operations";
import { createProvisioning, numberRow, tracker, trackerAlarm } from "../../helpers/provisioning";

const DEMO_SID = `AC${"0".repeat(32)}`;
const DEMO_TOKEN = "sandbox-twilio-auth-token";
const log = createLogger({ test: true });

const asAdmin = async (method: string, path: string, body?: unknown) => call(method, path, { token: await adminToken(), body });

beforeEach(async () => {
  await resetState();
  await resetTwilio();
});

describe("who may call the admin API", () => {
  it("every admin route in /openapi.json refuses member and owner tokens with 403, and no token with 401", async () => {
    const doc = await json(await call("GET", "/openapi.json", { token: null }));
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .filter(([path]) => path.startsWith("/api/admin/"))
      .flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => ({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, "1") })),
      );
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining([
        "GET /api/admin/phone-pool",
        "GET /api/admin/phone-pool/history",
        "GET /api/admin/phone-pool/provisioning/events",
        "POST /api/admin/phone-pool/pre-provision",
        "POST /api/admin/phone-pool/cleanup",
        "PATCH /api/admin/phone-numbers/1",
        "POST /api/admin/phone-numbers/1/refresh",
        "POST /api/admin/alerts/1/resolve",
        "POST /api/admin/twilio/purchase",
      ]),
    );
    const vapiCalls = (await sandbox().requests()).length;
    for (const { method, path } of routes) {
      const body = ["POST", "PATCH", "PUT"].includes(method) ? {} : undefined;
      for (const role of ["member", "owner"]) {
        const error = await expectError(await call(method, path, { token: await token({ role }), body }), 403, "forbidden");
        expect(error.message).toContain("platform_admin");
      }
      await expectError(await call(method, path, { token: null, body }), 401, "auth_missing_token");
    }
    expect(await sandbox().requests()).toHaveLength(vapiCalls);
  });
});

describe("GET /api/admin/phone-pool", () => {
  it("shows stats, unassigned, provisioning, Twilio per organization and open alerts, in one D1 round trip", async () => {
    const twilioOrg = newOrg();
    await seedNumbers(2);
    const assigned = await createAssistantFor(newOrg()); // takes one of the two
    expect(assigned.phone_source).toBe("pool");
    const configured = await call("PUT", "/api/organization/twilio", {
      token: await token({ org: twilioOrg, role: "owner" }),
      body: { account_sid: DEMO_SID, auth_token: DEMO_TOKEN, phone_numbers: ["+14155550101"], auto_purchase: true },
    });
    expect(configured.status).toBe(200);
    const bought = await json(await asAdmin("POST", "/api/admin/twilio/purchase", { org_id: twilioOrg }));
    await createAssistantFor(newOrg()); // takes the other seeded number
    const provisioning = await createProvisioning(newOrg());
    await raiseAlert(createDb(env.DB), log, { kind: "orphan_adopted", subject: "n-1", message: "adopted" });

    const res = await asAdmin("GET", "/api/admin/phone-pool");
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(res.headers.get("X-D1-Round-Trips")).toBe("1");

    expect(body.stats).toMatchObject({
      total: 4,
      limit: 10,
      assigned: 2,
      unassigned: 1,
      provisioning: 1,
      stuck: 0,
      free_numbers: 3,
      percent_used: 30,
      by_provider: { vapi: 3, twilio: 1 },
      providers: {
        vapi: { total: 3, assigned: 2, unassigned: 0, provisioning: 1, stuck: 0 },
        twilio: { total: 1, assigned: 0, unassigned: 1, provisioning: 0, stuck: 0 },
      },
    });
    expect(body.unassigned).toEqual([
      expect.objectContaining({
        id: bought.id,
        number: bought.number,
        provider: "twilio",
        org_id: twilioOrg,
        since: expect.any(String),
        cleanup_after: expect.any(String),
      }),
    ]);
    expect(Date.parse(body.unassigned[0].cleanup_after) - Date.parse(body.unassigned[0].since)).toBe(30 * DAY_MS);
    expect(body.provisioning).toEqual([
      expect.objectContaining({
        phone_number_id: provisioning.numberId,
        status: "provisioning",
        assistant_id: provisioning.assistant.id,
        assistant_name: "Cool Breeze HVAC",
        attempts: 0,
        max_attempts: 40,
        started_at: expect.any(String),
        deadline: expect.any(String),
      }),
    ]);
    expect(body.twilio).toEqual({
      number_monthly_cost: 1.15,
      bought_this_month: 1,
      bought_this_month_cost: 1.15,
      organizations: [
        {
          org_id: twilioOrg,
          configured: true,
          auto_purchase: true,
          area_code: null,
          numbers_total: 2,
          numbers_assigned: 0,
          numbers_unassigned: 1,
          numbers_listed: 1,
          bought_this_month: 1,
          bought_this_month_cost: 1.15,
          purchased_held: 1,
          purchased_monthly_cost: 1.15,
        },
      ],
    });
    expect(body.alerts).toEqual([expect.objectContaining({ kind: "orphan_adopted", subject: "n-1", status: "open", resolved_at: null })]);
  });
});

describe("GET /api/admin/phone-pool/history", () => {
  async function insertEvents(events: { numberId: string; orgId: string | null; event: string }[]) {
    const insert = env.DB.prepare(
      "INSERT INTO phone_number_events (phone_number_id, event, org_id, assistant_id, detail, created_at) VALUES (?, ?, ?, NULL, NULL, ?)",
    );
    await env.DB.batch(events.map((e, i) => insert.bind(e.numberId, e.event, e.orgId, new Date(Date.now() + i).toISOString())));
  }

  it("pages newest first with an opaque cursor, and filters by organization and number", async () => {
    await env.DB.prepare("DELETE FROM phone_number_events").run();
    const number = await seedNumber();
    await insertEvents([
      { numberId: number.id, orgId: null, event: "created" },
      { numberId: number.id, orgId: "org-h", event: "assigned" },
      { numberId: "other", orgId: "org-h", event: "created" },
      { numberId: number.id, orgId: "org-h", event: "unassigned" },
      { numberId: "other", orgId: "org-i", event: "assigned" },
      { numberId: number.id, orgId: "org-i", event: "reused" },
      { numberId: "other", orgId: "org-i", event: "unassigned" },
    ]);
    const all = (await env.DB.prepare("SELECT id FROM phone_number_events ORDER BY id DESC").all<{ id: number }>()).results.map(
      (r) => r.id,
    );

    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await asAdmin("GET", `/api/admin/phone-pool/history?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      const page = await json(res);
      expect(res.status, JSON.stringify(page)).toBe(200);
      seen.push(...page.events.map((e: { id: number }) => e.id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(all);

    const first = await json(await asAdmin("GET", `/api/admin/phone-pool/history?phone_number_id=${number.id}&limit=1`));
    expect(first.events).toEqual([
      {
        id: all[1],
        phone_number_id: number.id,
        number: number.number,
        event: "reused",
        org_id: "org-i",
        assistant_id: null,
        assistant_name: null,
        detail: null,
        created_at: expect.any(String),
      },
    ]);
    const forOrg = await json(await asAdmin("GET", "/api/admin/phone-pool/history?org_id=org-h"));
    expect(forOrg.events.map((e: { event: string }) => e.event)).toEqual(["unassigned", "created", "assigned"]);
    expect(forOrg.next_cursor).toBeNull();
    const byBoth = await json(await asAdmin("GET", `/api/admin/phone-pool/history?org_id=org-i&phone_number_id=${number.id}`));
    expect(byBoth.events.map((e: { event: string }) => e.event)).toEqual(["reused"]);
  });

  it("names each event's assistant (its name now), in the same one D1 round trip", async () => {
    await seedNumber();
    const org = newOrg();
    const assistant = await createAssistantFor(org);
    await call("PATCH", `/api/assistants/${assistant.id}`, { token: await token({ org }), body: { name: "Front Desk" } });
    const res = await asAdmin("GET", "/api/admin/phone-pool/history?limit=5");
    expect(res.headers.get("X-D1-Round-Trips")).toBe("1");
    const { events } = await json(res);
    expect(events.map((e: Record<string, unknown>) => [e.event, e.phone_number_id, e.assistant_id, e.assistant_name])).toEqual([
      ["reused", assistant.phone_number_id, assistant.id, "Front Desk"],
    ]);
  });

  it("filtered by organisation, includes the events of its own numbers stored without an organisation", async () => {
    await env.DB.prepare("DELETE FROM phone_number_events").run();
    const own = await seedNumber({ orgId: "org-own", source: "twilio_imported" });
    const shared = await seedNumber();
    await insertEvents([
      { numberId: own.id, orgId: null, event: "created" },
      { numberId: own.id, orgId: "org-own", event: "assigned" },
      { numberId: shared.id, orgId: null, event: "created" },
      { numberId: shared.id, orgId: "org-other", event: "assigned" },
    ]);
    const page = await json(await asAdmin("GET", "/api/admin/phone-pool/history?org_id=org-own"));
    expect(
      page.events.map((e: { phone_number_id: string; event: string; org_id: string }) => [e.phone_number_id, e.event, e.org_id]),
    ).toEqual([
      [own.id, "assigned", "org-own"],
      [own.id, "created", "org-own"],
    ]);
  });

  it("says what a limit or an alert id must be, in words", async () => {
    for (const query of ["limit=abc", "limit=0", "limit=2.5", "limit="]) {
      const error = await expectError(await asAdmin("GET", `/api/admin/phone-pool/history?${query}`), 400, "invalid_request");
      expect(error.details).toEqual([{ path: "limit", code: expect.any(String), message: "must be a whole number from 1 to 200" }]);
      expect(error.message).not.toMatch(/NaN|Invalid input/);
    }
    for (const id of ["abc", "0", "1.5"]) {
      const error = await expectError(await asAdmin("POST", `/api/admin/alerts/${id}/resolve`), 400, "invalid_request");
      expect(error.details).toEqual([{ path: "id", code: expect.any(String), message: "must be a whole number of at least 1" }]);
    }
  });

  it("refuses a bad limit or cursor with 400 in the error shape", async () => {
    for (const query of ["limit=0", "limit=201", "limit=abc", "limit=2.5"]) {
      const error = await expectError(await asAdmin("GET", `/api/admin/phone-pool/history?${query}`), 400, "invalid_request");
      expect(error.details).toEqual([expect.objectContaining({ path: "limit" })]);
    }
    for (const cursor of ["nonsense", btoa("ev1:abc"), btoa("12")]) {
      const error = await expectError(
        await asAdmin("GET", `/api/admin/phone-pool/history?cursor=${encodeURIComponent(cursor)}`),
        400,
        "invalid_request",
      );
      expect(error.details).toEqual([expect.objectContaining({ path: "cursor" })]);
    }
  });
});

describe("POST /api/admin/phone-pool/pre-provision", () => {
  it("creates unassigned numbers, says why it stopped, and raises pool_near_limit when it gets there", async () => {
    const first = await json(await asAdmin("POST", "/api/admin/phone-pool/pre-provision", { count: 3, area_code: "512" }));
    expect(first).toMatchObject({ requested: 3, created: 3, stopped_because: null });
    const rows = await numberRows();
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.status === "provisioning" && r.assistant_id === null)).toBe(true);
    expect(await alertRows("pool_near_limit")).toEqual([]);

    const res = await asAdmin("POST", "/api/admin/phone-pool/pre-provision", { count: 10 });
    const second = await json(res);
    expect(res.status).toBe(200);
    expect(second).toMatchObject({ requested: 10, created: 7, stopped_because: "limit_reached" });
    expect(second.message).toContain("limit of 10");
    expect(await alertRows("pool_near_limit")).toEqual([expect.objectContaining({ status: "open" })]);
  });

  it("stopped by an area code Vapi has no numbers in: says so, not that Vapi refused the limit", async () => {
    const res = await asAdmin("POST", "/api/admin/phone-pool/pre-provision", { count: 2, area_code: "999" });
    const body = await json(res);
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ requested: 2, created: 0, stopped_because: "area_code_unavailable" });
    expect(body.message).toContain("area code 999");
    expect(await alertRows("vapi_refused_number")).toEqual([]);
    expect(await alertRows("vapi_area_code_unavailable")).toEqual([expect.objectContaining({ subject: "999", status: "open" })]);
  });

  it("validates the body", async () => {
    for (const body of [{ count: 0 }, { count: 51 }, { count: 1, area_code: "12" }, { count: 1, extra: true }, {}]) {
      await expectError(await asAdmin("POST", "/api/admin/phone-pool/pre-provision", body), 400, "invalid_request");
    }
    expect(await numberRows()).toEqual([]);
  });
});

describe("PATCH /api/admin/phone-numbers/:id (the manual fix)", () => {
  it("refuses a number Vapi does not have for that id (422 naming both), then accepts the right one", async () => {
    const p = await createProvisioning();
    await markStuck({ db: createDb(env.DB), log }, p.numberId, 40);
    await sandbox().setVapiPhoneNumberStatus(p.vapiId, "active");
    const inVapi = (await sandbox().vapiPhoneNumbers()).find((n) => n.id === p.vapiId)!;
    const wrong = "+14155550000";

    const error = await expectError(
      await asAdmin("PATCH", `/api/admin/phone-numbers/${p.numberId}`, { number: wrong }),
      422,
      "number_mismatch",
    );
    expect(error.message).toContain(wrong);
    expect(error.message).toContain(inVapi.number);
    expect(error.details).toMatchObject({ requested: wrong, vapi_number: inVapi.number, vapi_phone_number_id: p.vapiId });
    expect((await numberRow(p.numberId))!.status).toBe("stuck");

    const res = await asAdmin("PATCH", `/api/admin/phone-numbers/${p.numberId}`, { number: inVapi.number });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({
      changed: true,
      previous: { status: "stuck", number: null },
      phone_number: { id: p.numberId, status: "active", number: inVapi.number },
    });
    expect(await numberRow(p.numberId)).toMatchObject({ status: "active", number: inVapi.number, next_check_at: null });
    expect((await eventRows(p.numberId)).at(-1)).toMatchObject({
      event: "repaired",
      detail: { number: inVapi.number, previous_number: null, previous_status: "stuck", by: "user-1" },
    });
    expect((await tracker(p.trackerKey).state())!.status).toBe("active");
    expect(await trackerAlarm(p.trackerKey)).toBeNull();
    expect(await alertRows("provisioning_stuck")).toEqual([expect.objectContaining({ subject: p.numberId, status: "resolved" })]);
    // The assistant shows its number.
    const assistant = await json(await call("GET", `/api/assistants/${p.assistant.id}`));
    expect(assistant).toMatchObject({ phone_status: "active", vapi_phone_number: inVapi.number });

    // Again with the same number: nothing to change, nothing recorded.
    const again = await json(await asAdmin("PATCH", `/api/admin/phone-numbers/${p.numberId}`, { number: inVapi.number }));
    expect(again.changed).toBe(false);
    expect((await eventRows(p.numberId)).filter((e) => e.event === "repaired")).toHaveLength(1);
  });

  it("says when Vapi has no digits yet, and answers 404, 400 and 409 where they belong", async () => {
    const p = await createProvisioning();
    const error = await expectError(
      await asAdmin("PATCH", `/api/admin/phone-numbers/${p.numberId}`, { number: "+14155550123" }),
      422,
      "number_mismatch",
    );
    expect(error.message).toContain("no number yet");
    await expectError(await asAdmin("PATCH", "/api/admin/phone-numbers/nope", { number: "+14155550123" }), 404, "not_found");
    await expectError(
      await asAdmin("PATCH", `/api/admin/phone-numbers/${p.numberId}`, { number: "Vapi-87ea540e" }),
      400,
      "invalid_request",
    );
    await env.DB.prepare("UPDATE phone_numbers SET status = 'released' WHERE id = ?").bind(p.numberId).run();
    await expectError(await asAdmin("PATCH", `/api/admin/phone-numbers/${p.numberId}`, { number: "+14155550123" }), 409, "number_released");
  });
});

describe("POST /api/admin/alerts/:id/resolve", () => {
  it("resolves an alert by id; unknown ids are 404, non-numeric ones 400", async () => {
    await raiseAlert(createDb(env.DB), log, { kind: "orphan_adopted", subject: "n-2", message: "adopted" });
    const [alert] = await alertRows();
    const res = await asAdmin("POST", `/api/admin/alerts/${alert!.id}/resolve`);
    const body = await json(res);
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ id: alert!.id, kind: "orphan_adopted", status: "resolved", resolved_at: expect.any(String) });
    const again = await json(await asAdmin("POST", `/api/admin/alerts/${alert!.id}/resolve`));
    expect(again.resolved_at).toBe(body.resolved_at);
    await expectError(await asAdmin("POST", "/api/admin/alerts/999999/resolve"), 404, "not_found");
    await expectError(await asAdmin("POST", "/api/admin/alerts/abc/resolve"), 400, "invalid_request");
  });
});

describe("POST /api/admin/phone-pool/cleanup", () => {
  it("is a dry run unless dry_run=false", async () => {
    const old = await seedNumber({ unassignedAt: new Date(Date.now() - 31 * DAY_MS).toISOString() });
    await seedNumber();
    const before = await numberRows();

    const dry = await json(await asAdmin("POST", "/api/admin/phone-pool/cleanup"));
    expect(dry).toMatchObject({ dry_run: true, released: 0, unused_number_days: 30 });
    expect(dry.numbers).toEqual([expect.objectContaining({ phone_number_id: old.id, outcome: "would_release" })]);
    expect(await numberRows()).toEqual(before);
    expect((await sandbox().vapiPhoneNumbers()).map((n) => n.id)).toContain(old.vapiId);

    const real = await json(await asAdmin("POST", "/api/admin/phone-pool/cleanup?dry_run=false"));
    expect(real).toMatchObject({ dry_run: false, released: 1 });
    expect((await sandbox().vapiPhoneNumbers()).map((n) => n.id)).not.toContain(old.vapiId);

    await expectError(await asAdmin("POST", "/api/admin/phone-pool/cleanup?dry_run=yes"), 400, "invalid_request");
  });
});
