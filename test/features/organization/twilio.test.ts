import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { call, json, sampleBusiness, sandbox, token } from "../../helpers/api";
import { checkPoolInvariants, resetState, seedNumbers } from "../../helpers/pool";
import { createTwilio } from "../../../src/integrations/index";
import { loadSettings } from "../../../src/platform/settings";
import { createLogger } from "../../../src/platform/log";
import { createDb } from "../../../src/db/client";
import { reviewAlerts } from "../../../src/features/alerts/review";
import { loadTwilioCredentials } from "../../../src/features/organization/twilio-settings";
import { secretBox } from "../../../src/platform/crypto";
import { ApiError } from "../../../src/platform/errors";
import { expectError } from "../../helpers/assertions";
import { rejection } from "../../helpers/upstream";

const DEMO_SID = `AC${"0".repeat(32)}`;
const DEMO_TOKEN = "sandbox-twilio-auth-token";
const DEMO_NUMBERS = ["+14155550101", "+14155550102"];

const asOwner = (org = "org-a") => token({ org, role: "owner" });
const configure = async (body: Record<string, unknown>, org = "org-a") =>
  call("PUT", "/api/organization/twilio", { token: await asOwner(org), body: { account_sid: DEMO_SID, auth_token: DEMO_TOKEN, ...body } });
const create = async (org = "org-a", extra: Record<string, unknown> = {}) =>
  call("POST", "/api/assistants", { token: await token({ org }), body: { business_data: sampleBusiness, ...extra } });

/** No room left for free numbers: the free pool is full of stuck numbers, so only Twilio can help. */
async function fillFreePool() {
  const seeded = await seedNumbers(10);
  await env.DB.prepare(`UPDATE phone_numbers SET status = 'stuck' WHERE id IN (${seeded.map(() => "?").join(",")})`)
    .bind(...seeded.map((s) => s.id))
    .run();
}

beforeEach(async () => {
  await resetState();
  await env.DB.batch([env.DB.prepare("DELETE FROM organizations"), env.DB.prepare("DELETE FROM twilio_numbers")]);
});
afterEach(() => vi.restoreAllMocks());

describe("PUT /api/organization/twilio", () => {
  it("checks the credentials first: wrong ones get 422 and nothing is saved", async () => {
    const res = await configure({ auth_token: "definitely-not-the-token" });
    const body = await json(res);
    expect(res.status).toBe(422);
    expect(body.error.code).toBe("twilio_credentials_rejected");
    expect(body.error.message).not.toContain("definitely-not-the-token");
    expect(await env.DB.prepare("SELECT count(*) AS n FROM organizations").first("n")).toBe(0);
    expect((await json(await call("GET", "/api/organization/twilio", { token: await asOwner() }))).configured).toBe(false);
  });

  it("names a listed number the account does not own, and saves nothing", async () => {
    const res = await configure({ phone_numbers: ["+14155550101", "+19995550000"] });
    const body = await json(res);
    expect(res.status).toBe(422);
    expect(body.error.code).toBe("twilio_number_not_in_account");
    expect(body.error.message).toContain("+19995550000");
    expect(body.error.details).toEqual({ numbers: ["+19995550000"] });
    expect(await env.DB.prepare("SELECT count(*) AS n FROM twilio_numbers").first("n")).toBe(0);
  });

  it("stores the token encrypted and never returns or logs it", async () => {
    const logs: string[] = [];
    for (const level of ["log", "warn", "error"] as const)
      vi.spyOn(console, level).mockImplementation((line: unknown) => void logs.push(String(line)));
    const res = await configure({ phone_numbers: DEMO_NUMBERS, auto_purchase: true, area_code: "512" });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(JSON.parse(text)).toMatchObject({
      configured: true,
      account_sid: "AC…0000",
      credential_type: "auth_token",
      auto_purchase: true,
      area_code: "512",
      numbers: DEMO_NUMBERS.map((number) => ({ number, origin: "imported", state: "available", assistant_id: null })),
    });
    expect(text).not.toContain(DEMO_TOKEN);
    const get = await (await call("GET", "/api/organization/twilio", { token: await asOwner() })).text();
    expect(get).not.toContain(DEMO_TOKEN);
    const row = await env.DB.prepare("SELECT * FROM organizations").first<Record<string, string>>();
    expect(row!.twilio_credentials).toMatch(/^enc:v1:/);
    expect(JSON.stringify(row)).not.toContain(DEMO_TOKEN);
    // Create an assistant on those numbers: still nothing in clear anywhere we write.
    await fillFreePool();
    expect((await create()).status).toBe(201);
    for (const table of ["organizations", "twilio_numbers", "phone_numbers", "phone_number_events", "assistants", "alerts"]) {
      const all = await env.DB.prepare(`SELECT * FROM ${table}`).all();
      expect(JSON.stringify(all.results)).not.toContain(DEMO_TOKEN);
    }
    expect(logs.join("\n")).not.toContain(DEMO_TOKEN);
    expect(logs.length).toBeGreaterThan(0);
  });

  it("is for owners only, and an organization sees only its own configuration", async () => {
    expect(
      (
        await call("PUT", "/api/organization/twilio", {
          token: await token({ role: "member" }),
          body: { account_sid: DEMO_SID, auth_token: DEMO_TOKEN },
        })
      ).status,
    ).toBe(403);
    expect((await configure({ phone_numbers: DEMO_NUMBERS })).status).toBe(200);
    const other = await json(await call("GET", "/api/organization/twilio", { token: await asOwner("org-b") }));
    expect(other).toMatchObject({ configured: false, account_sid: null, numbers: [] });
  });

  it("refuses a body with both a token and an API key, or an invalid SID", async () => {
    const both = await configure({ api_key_sid: `SK${"1".repeat(32)}`, api_key_secret: "secret-secret" });
    expect(both.status).toBe(400);
    const badSid = await call("PUT", "/api/organization/twilio", {
      token: await asOwner(),
      body: { account_sid: "AC123", auth_token: DEMO_TOKEN },
    });
    expect(badSid.status).toBe(400);
    expect((await json(badSid)).error.details[0].path).toBe("account_sid");
  });
});

describe("the pool's Twilio source", () => {
  it("falls back pool → new → Twilio list → purchase → 409", async () => {
    expect((await configure({ phone_numbers: ["+14155550101"], auto_purchase: false })).status).toBe(200);
    await fillFreePool();

    const listed = await json(await create());
    expect(listed).toMatchObject({
      phone_source: "twilio",
      phone_provider: "twilio",
      phone_status: "active",
      vapi_phone_number: "+14155550101",
      was_reused: false,
    });
    const imported = (await sandbox().requests("vapi")).find((r) => r.method === "POST" && r.path === "/phone-number")!;
    expect(imported.body).toMatchObject({
      provider: "twilio",
      number: "+14155550101",
      twilioAccountSid: DEMO_SID,
      twilioAuthToken: DEMO_TOKEN,
      assistantId: listed.vapi_assistant_id,
    });
    expect(imported.body.server.url).toBe("https://switchboard.test/webhooks/vapi");

    // The list is used up and purchases are off: 409, and the operators hear about it.
    const exhausted = await create();
    expect(exhausted.status).toBe(409);
    expect((await json(exhausted)).error.code).toBe("pool_exhausted");
    expect(
      await env.DB.prepare("SELECT count(*) AS n FROM alerts WHERE kind = 'twilio_numbers_exhausted' AND subject = 'org-a'").first("n"),
    ).toBe(1);

    // With auto_purchase, Switchboard buys one in the area code.
    expect((await configure({ phone_numbers: ["+14155550101"], auto_purchase: true, area_code: "512" })).status).toBe(200);
    const bought = await json(await create());
    expect(bought).toMatchObject({ phone_source: "twilio", phone_provider: "twilio", phone_status: "active" });
    expect(bought.vapi_phone_number).toMatch(/^\+1512/);
    const row = await env.DB.prepare("SELECT source, org_id FROM phone_numbers WHERE id = ?").bind(bought.phone_number_id).first();
    expect(row).toEqual({ source: "twilio_purchased", org_id: "org-a" });
    const owned = await sandbox().twilioNumbers(DEMO_SID);
    expect(owned.map((n) => n.phoneNumber)).toContain(bought.vapi_phone_number);
    const config = await json(await call("GET", "/api/organization/twilio", { token: await asOwner() }));
    expect(config.numbers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ number: "+14155550101", state: "assigned", assistant_id: listed.id, assistant_name: "Cool Breeze HVAC" }),
        expect.objectContaining({ number: bought.vapi_phone_number, origin: "purchased", state: "assigned" }),
      ]),
    );
    await checkPoolInvariants(10);
  });

  it("with auto_purchase on, using the last listed number is no shortage: no 'exhausted' alert, and the next one is bought", async () => {
    expect((await configure({ phone_numbers: ["+14155550101"], auto_purchase: true, area_code: "512" })).status).toBe(200);
    await fillFreePool();
    expect((await json(await create())).vapi_phone_number).toBe("+14155550101");
    expect((await json(await create())).vapi_phone_number).toMatch(/^\+1512/);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM alerts WHERE kind = 'twilio_numbers_exhausted'").first("n")).toBe(0);
  });

  it("the 'exhausted' alert says what is true, and is resolved as soon as the owner turns on auto_purchase", async () => {
    expect((await configure({ phone_numbers: ["+14155550101"] })).status).toBe(200);
    await fillFreePool();
    expect((await create()).status).toBe(201);
    const alert = () =>
      env.DB.prepare("SELECT status, message FROM alerts WHERE kind = 'twilio_numbers_exhausted' AND subject = 'org-a'").first<{
        status: string;
        message: string;
      }>();
    expect(await alert()).toMatchObject({ status: "open", message: expect.stringContaining("auto_purchase is off") });

    // Re-saving without a change of heart leaves it open; turning on auto_purchase resolves it at once, not at the next review.
    expect((await configure({ phone_numbers: ["+14155550101"] })).status).toBe(200);
    expect((await alert())?.status).toBe("open");
    expect((await configure({ phone_numbers: ["+14155550101"], auto_purchase: true })).status).toBe(200);
    expect((await alert())?.status).toBe("resolved");
  });

  it("tries the next candidate when Twilio says a number was just taken", async () => {
    expect((await configure({ auto_purchase: true, area_code: "512" })).status).toBe(200);
    await fillFreePool();
    const twilio = createTwilio(env, loadSettings(env), createLogger(), { accountSid: DEMO_SID, authToken: DEMO_TOKEN });
    const [first] = await twilio.searchLocalNumbers({ areaCode: "512" });
    // The first candidate the search offers is gone by the time we buy it.
    await sandbox().markTwilioNumberTaken(first!.phoneNumber);
    const res = await create();
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(201);
    expect(body.vapi_phone_number).not.toBe(first!.phoneNumber);
    expect(body.vapi_phone_number).toMatch(/^\+1512/);
  });

  it("names the area code when Twilio has no numbers there", async () => {
    expect((await configure({ auto_purchase: true, area_code: "533" })).status).toBe(200);
    await fillFreePool();
    const res = await create();
    const body = await json(res);
    expect(res.status).toBe(409);
    expect(body.error.code).toBe("twilio_no_numbers_available");
    expect(body.error.message).toContain("533");
    expect(await sandbox().vapiAssistants()).toHaveLength(0);
  });

  it("a create refused for lack of numbers is refused before anything is made in Vapi", async () => {
    expect((await configure({ auto_purchase: true, area_code: "533" })).status).toBe(200);
    await fillFreePool();
    await sandbox().clearRequests();
    const res = await create();
    expect(res.status).toBe(409);
    // Not made and deleted again: Vapi was never asked for an assistant or a number.
    expect((await sandbox().requests("vapi")).map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });

  it("keeps a bought number recorded as owned and unassigned when the Vapi import fails", async () => {
    expect((await configure({ auto_purchase: true, area_code: "512" })).status).toBe(200);
    await fillFreePool();
    await sandbox().injectFault({ service: "vapi", method: "POST", pathPrefix: "/phone-number", count: 1, kind: "status", status: 400 });
    const failed = await create();
    expect(failed.status).toBe(502);
    const kept = await env.DB.prepare("SELECT number, origin, state FROM twilio_numbers").all<any>();
    expect(kept.results).toHaveLength(1);
    expect(kept.results[0]).toMatchObject({ origin: "purchased", state: "listed" });
    expect(await sandbox().vapiAssistants()).toHaveLength(0);
    // The next assistant gets that very number: nothing was lost or bought twice.
    const next = await json(await create());
    expect(next.vapi_phone_number).toBe(kept.results[0].number);
    expect((await sandbox().twilioNumbers(DEMO_SID)).filter((n) => n.phoneNumber.startsWith("+1512"))).toHaveLength(1);
  });

  it("reuses an imported number only for its own organization", async () => {
    expect((await configure({ phone_numbers: ["+14155550101"] })).status).toBe(200);
    await fillFreePool();
    const first = await json(await create("org-a"));
    expect((await call("DELETE", `/api/assistants/${first.id}`, { token: await token({ org: "org-a" }) })).status).toBe(204);
    // Another organization cannot have it.
    expect((await create("org-b")).status).toBe(409);
    const again = await json(await create("org-a"));
    expect(again).toMatchObject({
      phone_number_id: first.phone_number_id,
      phone_source: "pool",
      was_reused: true,
      phone_provider: "twilio",
    });
  });

  it("never imports the same number twice under concurrent assignments", async () => {
    expect((await configure({ phone_numbers: DEMO_NUMBERS })).status).toBe(200);
    await fillFreePool();
    const responses = await Promise.all(Array.from({ length: 6 }, () => create()));
    const created = (await Promise.all(responses.map((r) => json(r)))).filter((b) => b.id);
    expect(created).toHaveLength(2);
    expect(new Set(created.map((b) => b.vapi_phone_number))).toEqual(new Set(DEMO_NUMBERS));
    const imports = (await sandbox().vapiPhoneNumbers()).filter((n) => n.provider === "twilio");
    expect(imports).toHaveLength(2);
    await checkPoolInvariants(10);
  });
});

describe("a carrier number belongs to one organization", () => {
  const listingsOf = async (number: string) =>
    (
      await env.DB.prepare("SELECT org_id FROM twilio_numbers WHERE number = ? ORDER BY org_id").bind(number).all<{ org_id: string }>()
    ).results.map((r) => r.org_id);

  it("a second organization of the same Twilio account naming a number the first holds gets 409 with the number; nothing is saved", async () => {
    expect((await configure({ phone_numbers: DEMO_NUMBERS })).status).toBe(200);

    const error = await expectError(await configure({ phone_numbers: ["+14155550102"] }, "org-b"), 409, "twilio_number_taken");
    expect(error.details).toEqual({ numbers: ["+14155550102"], reason: "used_by_another_organization" });
    expect(error.message).toContain("+14155550102");
    expect(await env.DB.prepare("SELECT count(*) AS n FROM organizations WHERE id = 'org-b'").first("n")).toBe(0);
    expect(await listingsOf("+14155550102")).toEqual(["org-a"]);

    // In use by org-a's assistant, it is still org-a's.
    await fillFreePool();
    expect((await json(await create())).vapi_phone_number).toBe("+14155550101");
    const inUse = await expectError(
      await configure({ phone_numbers: ["+14155550102", "+14155550101"] }, "org-b"),
      409,
      "twilio_number_taken",
    );
    expect((inUse.details as { numbers: string[] }).numbers).toEqual(["+14155550102", "+14155550101"]);

    // Once org-a lets go of a number it has not imported, org-b may list it.
    expect((await configure({ phone_numbers: ["+14155550101"] })).status).toBe(200);
    expect((await configure({ phone_numbers: ["+14155550102"] }, "org-b")).status).toBe(200);
    expect(await listingsOf("+14155550102")).toEqual(["org-b"]);
    expect(await listingsOf("+14155550101")).toEqual(["org-a"]);
  });

  it("organizations racing to list one number: one is saved, every other gets 409", async () => {
    const orgs = Array.from({ length: 5 }, (_, i) => `org-race-${i}`);
    const responses = await Promise.all(orgs.map((org) => configure({ phone_numbers: ["+14155550101"] }, org)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409, 409, 409, 409]);
    for (const r of responses.filter((r) => r.status === 409)) expect((await json(r)).error.code).toBe("twilio_number_taken");
    expect(await listingsOf("+14155550101")).toHaveLength(1);
  });

  it("an import never takes a number another organization holds in its pool: the listing is dropped before Vapi is called", async () => {
    expect((await configure({ phone_numbers: DEMO_NUMBERS })).status).toBe(200);
    // org-x holds +14155550101 in its pool, as rows written before a number was one organization's can.
    const at = new Date().toISOString();
    await env.DB.prepare(
      "INSERT INTO phone_numbers (id, provider, source, vapi_phone_number_id, number, area_code, status, org_id, unassigned_at, created_at, updated_at) VALUES ('held', 'twilio', 'twilio_imported', ?, '+14155550101', '415', 'active', 'org-x', ?, ?, ?)",
    )
      .bind(crypto.randomUUID(), at, at, at)
      .run();
    await fillFreePool();
    await sandbox().clearRequests();

    expect((await json(await create())).vapi_phone_number).toBe("+14155550102");
    await expectError(await create(), 409, "pool_exhausted");
    const imports = (await sandbox().requests("vapi")).filter((r) => r.method === "POST" && r.path === "/phone-number");
    expect(imports.map((r) => r.body.number)).toEqual(["+14155550102"]);
    expect(await listingsOf("+14155550101")).toEqual([]);
    expect(await env.DB.prepare("SELECT org_id, assistant_id FROM phone_numbers WHERE id = 'held'").first()).toEqual({
      org_id: "org-x",
      assistant_id: null,
    });
    // Listing it again is refused the same way as a number on another organization's list.
    const error = await expectError(await configure({ phone_numbers: DEMO_NUMBERS }), 409, "twilio_number_taken");
    expect(error.details).toEqual({ numbers: ["+14155550101"], reason: "used_by_another_organization" });
  });

  it("the migration keeps one listing per number, the one in Vapi or else the oldest, then makes a second impossible", async () => {
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0004_"))!;
    await env.DB.prepare("DROP INDEX twilio_numbers_number").run();
    const row = (id: string, org: string, number: string, state: string, createdAt: string) =>
      env.DB.prepare(
        "INSERT INTO twilio_numbers (id, org_id, number, origin, state, created_at, updated_at) VALUES (?, ?, ?, 'imported', ?, ?, ?)",
      ).bind(id, org, number, state, createdAt, createdAt);
    await env.DB.batch([
      row("x-listed", "org-a", "+14155550101", "listed", "2026-01-01T00:00:00.000Z"),
      row("x-in-vapi", "org-b", "+14155550101", "in_vapi", "2026-02-01T00:00:00.000Z"),
      row("y-old", "org-a", "+14155550102", "listed", "2026-01-01T00:00:00.000Z"),
      row("y-new", "org-b", "+14155550102", "listed", "2026-02-01T00:00:00.000Z"),
      row("z-alone", "org-c", "+14155550103", "listed", "2026-03-01T00:00:00.000Z"),
    ]);
    for (const query of migration.queries) await env.DB.prepare(query).run();
    const kept = await env.DB.prepare("SELECT id FROM twilio_numbers ORDER BY id").all<{ id: string }>();
    expect(kept.results.map((r) => r.id)).toEqual(["x-in-vapi", "y-old", "z-alone"]);
    await expect(row("z-again", "org-a", "+14155550103", "listed", "2026-04-01T00:00:00.000Z").run()).rejects.toThrow(
      /UNIQUE constraint failed: twilio_numbers\.number/,
    );
  });
});

describe("sealed Twilio credentials", () => {
  const load = async (org: string) => loadTwilioCredentials(createDb(env.DB), await secretBox(env.ENCRYPTION_KEY as string), org);
  /** Puts `sealed` in `org`'s row as its saved credentials (auto_purchase on), as a copied row would. */
  const storeSealed = (org: string, sealed: string) =>
    env.DB.prepare(
      "INSERT INTO organizations (id, twilio_account_sid, twilio_credential_type, twilio_credentials, twilio_auto_purchase, created_at, updated_at) VALUES (?, ?, 'auth_token', ?, 1, ?, ?)",
    )
      .bind(org, DEMO_SID, sealed, new Date().toISOString(), new Date().toISOString())
      .run();

  it("open only for the organization they were sealed for; copied to another, nothing is sent with them", async () => {
    expect((await configure({ phone_numbers: ["+14155550101"] })).status).toBe(200);
    const sealed = await env.DB.prepare("SELECT twilio_credentials FROM organizations WHERE id = 'org-a'").first<string>(
      "twilio_credentials",
    );
    await storeSealed("org-b", sealed!);

    expect((await load("org-a"))?.credentials).toEqual({ accountSid: DEMO_SID, authToken: DEMO_TOKEN });
    expect((await rejection(load("org-b"), ApiError)).code).toBe("twilio_credentials_unreadable");

    // org-b's next assistant needs a Twilio number (free pool full, auto_purchase on): refused before Twilio or a Vapi import.
    await fillFreePool();
    await sandbox().clearRequests();
    const error = await expectError(await create("org-b"), 409, "twilio_credentials_unreadable");
    expect(error.message).toContain("PUT /api/organization/twilio");
    const admin = await token({ org: null, role: "platform_admin" });
    await expectError(
      await call("POST", "/api/admin/twilio/purchase", { token: admin, body: { org_id: "org-b" } }),
      409,
      "twilio_credentials_unreadable",
    );
    expect(await sandbox().requests("twilio")).toEqual([]);
    expect((await sandbox().requests("vapi")).filter((r) => r.path === "/phone-number")).toEqual([]);
    expect(await sandbox().vapiAssistants()).toEqual([]);
  });

  it("credentials saved by an earlier release still open, and still only for their organization", async () => {
    // {"authToken": DEMO_TOKEN} sealed with the tests' ENCRYPTION_KEY for org-legacy, as rows stored today read.
    const stored = "enc:v1:3eb1bd43:0LC9Ycu-AQoz-PGG:maOiireVXXwDZIJCedQfgmhu6fYdXgHfRofgh9gyfBxnisjXe_SsYXdLXKX-4hxdFjYqJq3XHq6V";
    await storeSealed("org-legacy", stored);
    await storeSealed("org-copy", stored);
    expect((await load("org-legacy"))?.credentials).toEqual({ accountSid: DEMO_SID, authToken: DEMO_TOKEN });
    expect((await rejection(load("org-copy"), ApiError)).code).toBe("twilio_credentials_unreadable");

    await fillFreePool();
    const created = await json(await create("org-legacy"));
    expect(created).toMatchObject({ phone_source: "twilio", phone_provider: "twilio" });
    const imported = (await sandbox().requests("vapi")).find((r) => r.method === "POST" && r.path === "/phone-number")!;
    expect(imported.body).toMatchObject({ provider: "twilio", twilioAccountSid: DEMO_SID, twilioAuthToken: DEMO_TOKEN });
  });
});

describe("DELETE /api/organization/twilio", () => {
  it("forgets the credentials; a number in use stays until its assistant goes", async () => {
    expect((await configure({ phone_numbers: DEMO_NUMBERS })).status).toBe(200);
    await fillFreePool();
    const a = await json(await create());
    expect((await call("DELETE", "/api/organization/twilio", { token: await asOwner() })).status).toBe(204);
    const config = await json(await call("GET", "/api/organization/twilio", { token: await asOwner() }));
    expect(config.configured).toBe(false);
    expect(config.numbers).toEqual([expect.objectContaining({ number: a.vapi_phone_number, state: "assigned" })]);
    expect((await json(await call("GET", `/api/assistants/${a.id}`))).vapi_phone_number).toBe(a.vapi_phone_number);
    const row = await env.DB.prepare("SELECT twilio_credentials FROM organizations").first("twilio_credentials");
    expect(row).toBeNull();
  });
});

describe("POST /api/admin/twilio/purchase", () => {
  it("buys and imports one number into the organization's pool, unassigned", async () => {
    expect((await configure({ area_code: "512" })).status).toBe(200);
    const admin = await token({ org: null, role: "platform_admin" });
    const res = await call("POST", "/api/admin/twilio/purchase", { token: admin, body: { org_id: "org-a", area_code: "303" } });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({ org_id: "org-a", assistant_id: null, status: "active", provider: "twilio", source: "twilio_purchased" });
    expect(body.number).toMatch(/^\+1303/);
    // Only org-a's assistants get it.
    await fillFreePool();
    expect((await create("org-b")).status).toBe(409);
    expect((await json(await create("org-a"))).phone_number_id).toBe(body.id);

    expect((await call("POST", "/api/admin/twilio/purchase", { token: await asOwner(), body: { org_id: "org-a" } })).status).toBe(403);
    // An organisation whose list ran out is fine again once a bought number waits in its pool: at once, not at the next review.
    await env.DB.prepare(
      "INSERT INTO alerts (kind, subject, status, message, created_at) VALUES ('twilio_numbers_exhausted', 'org-a', 'open', 'used up', ?)",
    )
      .bind(new Date().toISOString())
      .run();
    expect((await call("POST", "/api/admin/twilio/purchase", { token: admin, body: { org_id: "org-a" } })).status).toBe(201);
    expect(
      await env.DB.prepare("SELECT status FROM alerts WHERE kind = 'twilio_numbers_exhausted' AND subject = 'org-a'").first("status"),
    ).toBe("resolved");
    const review = await reviewAlerts({ db: createDb(env.DB), log: createLogger(), settings: loadSettings(env) });
    expect(review.resolved).not.toContainEqual(expect.objectContaining({ kind: "twilio_numbers_exhausted" }));

    const unconfigured = await call("POST", "/api/admin/twilio/purchase", { token: admin, body: { org_id: "org-zzz" } });
    expect(unconfigured.status).toBe(409);
    expect((await json(unconfigured)).error.code).toBe("twilio_not_configured");
  });
});
