import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, json, sandbox } from "../../helpers/api";
import { assistantRowsOf, newOrg } from "../../helpers/assertions";
import {
  configureTwilio,
  createAs,
  created,
  daily,
  expectFailure,
  expectInvariants,
  faultFor,
  fillFreePool,
  inject,
  RETRIED_POST,
  sweep,
  TWILIO_LISTED,
  TWILIO_SID,
  type Attempts,
  type FaultKind,
  type FaultTarget,
  useFaultSuite,
  settleAndCheck,
  vapiAssistantIds,
} from "../../helpers/faults";
import { adminToken, alertRows } from "../../helpers/operations";

/**
 * Faults on the Twilio source: the Vapi import of an organisation's listed number, and the purchase at Twilio
 * (auto_purchase, and the admin route) followed by its import. The free pool is full, so only Twilio can help.
 */

const suite = useFaultSuite();

const twilioRows = async (org: string) =>
  (
    await env.DB.prepare("SELECT number, origin, state, phone_number_id FROM twilio_numbers WHERE org_id = ? ORDER BY number")
      .bind(org)
      .all<Record<string, any>>()
  ).results;
const vapiImports = async () => (await sandbox().vapiPhoneNumbers()).filter((n) => n.provider === "twilio");
const settleTwilio = () => settleAndCheck({ twilioAccountSid: TWILIO_SID });

describe("fault on the Vapi import of a listed Twilio number (POST /phone-number, provider twilio)", () => {
  const target: FaultTarget = { service: "vapi", method: "POST", pathPrefix: "/phone-number" };

  async function importWith(kind: FaultKind) {
    const org = newOrg();
    await configureTwilio(org, { phone_numbers: [TWILIO_LISTED], auto_purchase: false });
    await fillFreePool();
    await inject(faultFor(target, kind, RETRIED_POST));
    const response = await createAs(org);
    await sandbox().clearFaults();
    return { org, response };
  }

  /** The listed number went back to the list, nothing half-made; the next assistant gets it. */
  async function expectBackOnTheList(org: string) {
    expect(await assistantRowsOf(org)).toEqual([]);
    expect(await vapiAssistantIds()).toEqual([]);
    expect(await vapiImports()).toEqual([]);
    expect(await twilioRows(org)).toEqual([{ number: TWILIO_LISTED, origin: "imported", state: "listed", phone_number_id: null }]);
    await settleTwilio();
    expect(await created(org)).toMatchObject({ phone_source: "twilio", vapi_phone_number: TWILIO_LISTED });
    await expectInvariants({ twilioAccountSid: TWILIO_SID });
  }

  it("500 on every attempt → 502 vapi_error; the number is listed again", async () => {
    const { org, response } = await importWith("500");
    await expectFailure(response, 502, "vapi_error");
    expect(suite.logs().events("upstream_error")).toEqual([
      expect.objectContaining({ service: "vapi", method: "POST", path: "/phone-number", status: 500, attempts: 3 }),
    ]);
    await expectBackOnTheList(org);
  });

  it("429 with Retry-After: 0 → 201 on the listed number", async () => {
    const { org, response } = await importWith("429_retry_after_0");
    const body = await json(response);
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({ phone_source: "twilio", vapi_phone_number: TWILIO_LISTED, phone_status: "active" });
    expect((await twilioRows(org))[0]!.state).toBe("in_vapi");
    await settleTwilio();
  });

  it("429 with Retry-After: 120 → 503 vapi_rate_limited with Retry-After 120; the number is listed again", async () => {
    const { org, response } = await importWith("429_retry_after_120");
    expect(response.headers.get("Retry-After")).toBe("120");
    await expectFailure(response, 503, "vapi_rate_limited");
    await expectBackOnTheList(org);
  });

  it("timeout before Vapi acts → 502 vapi_unavailable; the number is listed again", async () => {
    const { org, response } = await importWith("timeout");
    await expectFailure(response, 502, "vapi_unavailable");
    await expectBackOnTheList(org);
  });

  it("timeout after Vapi imported it, and removing that import fails too → 502; the daily reconcile adopts the import into the organisation's pool, with an alert", async () => {
    // The compensation lists Vapi's numbers to find the lost import: that fails as well.
    await inject({ service: "vapi", method: "GET", pathPrefix: "/phone-number", count: 3, kind: "status", status: 500 });
    const { org, response } = await importWith("timeout_after_processing");
    await expectFailure(response, 502, "vapi_unavailable");
    const [orphan] = await vapiImports();
    expect(orphan).toMatchObject({ number: TWILIO_LISTED, name: expect.stringMatching(/^sb-/) });
    expect(await twilioRows(org)).toEqual([expect.objectContaining({ state: "listed" })]);
    await sweep(11);
    await expectInvariants({ twilioAccountSid: TWILIO_SID });
    await daily();
    const adopted = await env.DB.prepare("SELECT id, org_id, assistant_id, source FROM phone_numbers WHERE vapi_phone_number_id = ?")
      .bind(orphan!.id)
      .first();
    expect(adopted).toEqual({ id: String(orphan!.name).slice(3), org_id: org, assistant_id: null, source: "twilio_imported" });
    expect(await twilioRows(org)).toEqual([expect.objectContaining({ state: "in_vapi", phone_number_id: adopted!.id })]);
    expect(await alertRows("orphan_adopted")).toEqual([expect.objectContaining({ subject: adopted!.id, status: "open" })]);
    await expectInvariants({ reconciled: true, twilioAccountSid: TWILIO_SID });
    // The organisation's next assistant gets it from its pool.
    expect(await created(org)).toMatchObject({ phone_number_id: adopted!.id, phone_source: "pool", vapi_phone_number: TWILIO_LISTED });
  });

  it("after an import timed out once Vapi had imported it, that import is found by its sb- name and removed; the next create imports the number once", async () => {
    const { org, response } = await importWith("timeout_after_processing");
    await expectFailure(response, 502, "vapi_unavailable");
    await expectBackOnTheList(org);
    expect(await vapiImports()).toHaveLength(1);
  });

  it("malformed JSON → 502 vapi_error; the number is listed again", async () => {
    const { org, response } = await importWith("malformed");
    await expectFailure(response, 502, "vapi_error");
    await expectBackOnTheList(org);
  });
});

describe("fault on the Twilio purchase (auto_purchase)", () => {
  const buy: FaultTarget = {
    service: "twilio",
    method: "POST",
    pathPrefix: `/2010-04-01/Accounts/${TWILIO_SID}/IncomingPhoneNumbers.json`,
  };
  const search: FaultTarget = { service: "twilio", method: "GET", pathPrefix: `/2010-04-01/Accounts/${TWILIO_SID}/AvailablePhoneNumbers/` };
  /** Twilio is retried on 429 only, and a purchase (a POST) never after a timeout; a search (a GET) is. */
  const BUY: Attempts = { status: 1, timeout: 1 };
  const SEARCH: Attempts = { status: 1, timeout: 3 };

  async function purchaseWith(target: FaultTarget, kind: FaultKind, attempts: Attempts) {
    const org = newOrg();
    await configureTwilio(org, { auto_purchase: true, area_code: "512" });
    await fillFreePool();
    await inject(faultFor(target, kind, attempts));
    const response = await createAs(org);
    await sandbox().clearFaults();
    return { org, response };
  }

  /** Nothing bought, nothing half-made; the next create buys one. */
  async function expectNothingBought(org: string) {
    expect(await assistantRowsOf(org)).toEqual([]);
    expect(await vapiAssistantIds()).toEqual([]);
    expect(await twilioRows(org)).toEqual([]);
    expect((await sandbox().twilioNumbers(TWILIO_SID)).filter((n) => n.phoneNumber.startsWith("+1512"))).toEqual([]);
    await settleTwilio();
    expect(await created(org)).toMatchObject({ phone_source: "twilio", vapi_phone_number: expect.stringMatching(/^\+1512/) });
    await expectInvariants({ twilioAccountSid: TWILIO_SID });
  }

  it("buy: 500 → 502 twilio_error (not retried: Twilio retries only 429), logged; nothing bought", async () => {
    const { org, response } = await purchaseWith(buy, "500", BUY);
    await expectFailure(response, 502, "twilio_error");
    expect(suite.logs().events("upstream_error")).toEqual([
      expect.objectContaining({ service: "twilio", method: "POST", status: 500, attempts: 1 }),
    ]);
    await expectNothingBought(org);
  });

  it("buy: 429 with Retry-After: 0 → retried → 201 on a bought number", async () => {
    const { org, response } = await purchaseWith(buy, "429_retry_after_0", BUY);
    const body = await json(response);
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({ phone_source: "twilio", vapi_phone_number: expect.stringMatching(/^\+1512/) });
    expect(await twilioRows(org)).toEqual([expect.objectContaining({ origin: "purchased", state: "in_vapi" })]);
    await settleTwilio();
  });

  it("buy: 429 with Retry-After: 120 → 503 twilio_rate_limited with Retry-After 120; nothing bought", async () => {
    const { org, response } = await purchaseWith(buy, "429_retry_after_120", BUY);
    expect(response.headers.get("Retry-After")).toBe("120");
    await expectFailure(response, 503, "twilio_rate_limited");
    await expectNothingBought(org);
  });

  it("buy: timeout before Twilio acts → 502 twilio_unavailable (never resent); nothing bought", async () => {
    const { org, response } = await purchaseWith(buy, "timeout", BUY);
    await expectFailure(response, 502, "twilio_unavailable");
    expect((await sandbox().requests("twilio")).filter((r) => r.method === "POST")).toHaveLength(1);
    await expectNothingBought(org);
  });

  it("buy: timeout after Twilio sold the number → the account is checked, the purchase recorded and the create succeeds with it", async () => {
    const { org, response } = await purchaseWith(buy, "timeout_after_processing", BUY);
    const body = await json(response);
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({ phone_source: "twilio", vapi_phone_number: expect.stringMatching(/^\+1512/) });
    expect(suite.logs().events("twilio_purchase_answer_lost")).toHaveLength(1);
    expect(await twilioRows(org)).toEqual([
      expect.objectContaining({ number: body.vapi_phone_number, origin: "purchased", state: "in_vapi" }),
    ]);
    // Bought once, not twice.
    expect((await sandbox().twilioNumbers(TWILIO_SID)).filter((n) => n.phoneNumber.startsWith("+1512"))).toHaveLength(1);
    await settleTwilio();
  });

  it("buy: malformed JSON → 502 twilio_error; nothing bought", async () => {
    const { org, response } = await purchaseWith(buy, "malformed", BUY);
    await expectFailure(response, 502, "twilio_error");
    await expectNothingBought(org);
  });

  it("buy: Twilio sold the number but its answer cannot be read → the account is checked, the purchase recorded and the create succeeds with it", async () => {
    const { org, response } = await purchaseWith(buy, "malformed_after_processing", BUY);
    const body = await json(response);
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({ phone_source: "twilio", vapi_phone_number: expect.stringMatching(/^\+1512/) });
    expect(suite.logs().events("twilio_purchase_answer_lost")).toHaveLength(1);
    expect(await twilioRows(org)).toEqual([
      expect.objectContaining({ number: body.vapi_phone_number, origin: "purchased", state: "in_vapi" }),
    ]);
    expect((await sandbox().twilioNumbers(TWILIO_SID)).filter((n) => n.phoneNumber.startsWith("+1512"))).toHaveLength(1);
    await settleTwilio();
  });

  it("search: 500 → 502 twilio_error; nothing bought", async () => {
    const { org, response } = await purchaseWith(search, "500", SEARCH);
    await expectFailure(response, 502, "twilio_error");
    await expectNothingBought(org);
  });

  it("search: timeout on every attempt → 502 twilio_unavailable after 3 tries; nothing bought", async () => {
    const { org, response } = await purchaseWith(search, "timeout", SEARCH);
    await expectFailure(response, 502, "twilio_unavailable");
    expect(suite.logs().events("upstream_failed")).toEqual([
      expect.objectContaining({ service: "twilio", method: "GET", failure: "timeout", attempts: 3 }),
    ]);
    await expectNothingBought(org);
  });

  it("the bought number's Vapi import times out after Vapi imported it → 502; that import is removed, the number stays owned (listed) and the next create imports it", async () => {
    const { org, response } = await purchaseWith(
      { service: "vapi", method: "POST", pathPrefix: "/phone-number" },
      "timeout_after_processing",
      RETRIED_POST,
    );
    await expectFailure(response, 502, "vapi_unavailable");
    const [owned] = await twilioRows(org);
    expect(owned).toMatchObject({ origin: "purchased", state: "listed" });
    expect(await vapiImports()).toEqual([]);
    await sweep(11);
    await expectInvariants({ twilioAccountSid: TWILIO_SID });
    expect(await created(org)).toMatchObject({ vapi_phone_number: owned!.number, phone_source: "twilio" });
    expect(await twilioRows(org)).toEqual([expect.objectContaining({ number: owned!.number, state: "in_vapi" })]);
    await daily();
    await expectInvariants({ reconciled: true, twilioAccountSid: TWILIO_SID });
  });
});

describe("fault on POST /api/admin/twilio/purchase", () => {
  const buy: FaultTarget = {
    service: "twilio",
    method: "POST",
    pathPrefix: `/2010-04-01/Accounts/${TWILIO_SID}/IncomingPhoneNumbers.json`,
  };

  async function adminPurchaseWith(kind: FaultKind) {
    const org = newOrg();
    await configureTwilio(org, { area_code: "303" });
    await inject(faultFor(buy, kind, { status: 1, timeout: 1 }));
    const response = await call("POST", "/api/admin/twilio/purchase", { token: await adminToken(), body: { org_id: org } });
    await sandbox().clearFaults();
    return { org, response };
  }

  it("500 → 502 twilio_error; nothing bought or recorded", async () => {
    const { org, response } = await adminPurchaseWith("500");
    await expectFailure(response, 502, "twilio_error");
    expect(await twilioRows(org)).toEqual([]);
    await settleTwilio();
  });

  it("429 with Retry-After: 120 → 503 twilio_rate_limited with Retry-After 120", async () => {
    const { org, response } = await adminPurchaseWith("429_retry_after_120");
    expect(response.headers.get("Retry-After")).toBe("120");
    await expectFailure(response, 503, "twilio_rate_limited");
    expect(await twilioRows(org)).toEqual([]);
    await settleTwilio();
  });

  it("timeout before Twilio acts → 502 twilio_unavailable; nothing bought", async () => {
    const { org, response } = await adminPurchaseWith("timeout");
    await expectFailure(response, 502, "twilio_unavailable");
    expect(await twilioRows(org)).toEqual([]);
    await settleTwilio();
  });
});
