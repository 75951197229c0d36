import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { reconcileNumbers } from "../../../src/features/numbers/reconcile";
import { call, json, sampleBusiness, sandbox, token } from "../../helpers/api";
import { newOrg } from "../../helpers/assertions";
import { adminToken, opsDeps, resetTwilio } from "../../helpers/operations";
import { checkPoolInvariants, resetState } from "../../helpers/pool";

const HOUR = 3_600_000;
/** Reconcile as the daily run would, late enough that nothing made by the test counts as "in flight". */
const later = () => Date.now() + 2 * HOUR;

/** `count` free numbers made in the Vapi account by another app, each serving one of its assistants. */
async function madeOutside(count: number) {
  const { vapi } = await opsDeps();
  const assistant = await vapi.createAssistant({ name: "The old app's receptionist" });
  const numbers = [];
  for (let i = 0; i < count; i++) numbers.push(await vapi.createPhoneNumber({ provider: "vapi", assistantId: assistant.id }));
  await sandbox().advanceClock(31);
  return numbers;
}

const create = async (org: string) =>
  call("POST", "/api/assistants", { token: await token({ org }), body: { business_data: sampleBusiness } });

/** Vapi's answers to requests for a new free number: a 400 would be a refusal. */
const freeNumberRequests = async () =>
  (await sandbox().requests("vapi")).filter((r) => r.method === "POST" && r.path === "/phone-number" && r.body?.provider === "vapi");

beforeEach(async () => {
  await resetState();
  await resetTwilio();
});

describe("the free-number limit follows the Vapi account", () => {
  it("counts free numbers made outside Switchboard (the daily reconciliation), so creates stop at the real room without a refusal", async () => {
    await madeOutside(8);
    const report = await reconcileNumbers(await opsDeps(), later());
    expect(report.free_numbers_outside).toBe(8);
    expect(report.made_outside).toHaveLength(8);
    await sandbox().clearRequests();

    const org = newOrg();
    for (const _ of [1, 2]) {
      const res = await create(org);
      expect(res.status, await res.clone().text()).toBe(201);
      expect((await json(res)).phone_source).toBe("new");
    }
    const third = await create(org);
    const body = await json(third);
    expect(third.status).toBe(409);
    expect(body.error).toMatchObject({ code: "pool_exhausted", details: expect.objectContaining({ cause: "limit_reached" }) });
    expect((await freeNumberRequests()).map((r) => r.status)).toEqual([201, 201]);

    const overview = await json(await call("GET", "/api/admin/phone-pool", { token: await adminToken() }));
    expect(overview.stats).toMatchObject({ free_numbers: 10, free_numbers_outside: 8, percent_used: 100 });
    await checkPoolInvariants(2);
  });

  it("gives the organisation's own Twilio number instead, once the account has no room", async () => {
    await madeOutside(10);
    await reconcileNumbers(await opsDeps(), later());
    await sandbox().clearRequests();
    const org = newOrg();
    const configured = await call("PUT", "/api/organization/twilio", {
      token: await token({ org, role: "owner" }),
      body: { account_sid: `AC${"0".repeat(32)}`, auth_token: "sandbox-twilio-auth-token", phone_numbers: ["+14155550101"] },
    });
    expect(configured.status, await configured.clone().text()).toBe(200);

    const res = await create(org);
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await json(res)).toMatchObject({ phone_source: "twilio", phone_provider: "twilio", vapi_phone_number: "+14155550101" });
    expect(await freeNumberRequests()).toEqual([]);
  });

  it("after one refusal for numbers made since the last count, no request asks Vapi again until a count finds room", async () => {
    await reconcileNumbers(await opsDeps(), later()); // counts 0
    await madeOutside(10);
    await sandbox().clearRequests();
    const org = newOrg();
    expect((await create(org)).status).toBe(409);
    expect((await freeNumberRequests()).map((r) => r.status)).toEqual([400]);
    expect((await create(org)).status).toBe(409);
    expect(await freeNumberRequests()).toHaveLength(1);
    expect(await env.DB.prepare("SELECT outside_free_numbers AS n FROM vapi_account").first("n")).toBe(10);
  });

  it("reports only the numbers made outside since the last run, and adopts unassigned ones when ADOPT_UNASSIGNED_NUMBERS=true", async () => {
    await madeOutside(2);
    expect((await reconcileNumbers(await opsDeps(), later())).made_outside).toHaveLength(2);
    expect((await reconcileNumbers(await opsDeps(), later())).made_outside).toEqual([]);

    const { vapi } = await opsDeps();
    const spare = await vapi.createPhoneNumber({ provider: "vapi", numberDesiredAreaCode: "303" });
    await sandbox().advanceClock(31);
    const quiet = await reconcileNumbers(await opsDeps(), later());
    expect(quiet.made_outside).toEqual([expect.objectContaining({ vapi_phone_number_id: spare.id, adopted: false })]);
    expect(quiet.free_numbers_outside).toBe(3);

    const adopting = await reconcileNumbers(await opsDeps({ settings: { ADOPT_UNASSIGNED_NUMBERS: true } }), later());
    expect(adopting.made_outside).toEqual([expect.objectContaining({ vapi_phone_number_id: spare.id, adopted: true })]);
    expect(adopting.free_numbers_outside).toBe(2);
    const row = await env.DB.prepare("SELECT * FROM phone_numbers WHERE vapi_phone_number_id = ?")
      .bind(spare.id)
      .first<Record<string, any>>();
    expect(row).toMatchObject({ status: "active", origin: "adopted", assistant_id: null, org_id: null, area_code: "303" });
    // The assigned ones are never taken: their assistant is the old app's.
    expect(await env.DB.prepare("SELECT count(*) AS n FROM phone_numbers").first("n")).toBe(1);
    const reused = await create(newOrg());
    expect(await json(reused)).toMatchObject({ phone_source: "pool", phone_number_id: row!.id });
  });
});
