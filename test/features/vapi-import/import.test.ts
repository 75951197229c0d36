import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { call, json, sampleBusiness, sandbox, tableCounts } from "../../helpers/api";
import { asOrg, newOrg } from "../../helpers/assertions";
import { faultFor, inject, type FaultKind } from "../../helpers/faults";
import { adminToken, opsDeps, resetTwilio } from "../../helpers/operations";
import { checkPoolInvariants, resetState } from "../../helpers/pool";
import { tracker, trackerAlarm } from "../../helpers/provisioning";

const TWILIO_SID = `AC${"7".repeat(32)}`;
const TWILIO_TOKEN = "7".repeat(32);
const TWILIO_NUMBER = "+14155550177";
const OLD_PROMPT = "You answer the phone for Bella's Bakery in Austin.";
const WEBHOOK_SERVER = { url: "https://switchboard.test/webhooks/vapi", headers: { "X-Vapi-Secret": env.VAPI_WEBHOOK_SECRET } };

/** What the old app left in the Vapi account, made through Vapi's API (so the sandbox checks every request). */
async function seedOldAccount() {
  const { vapi } = await opsDeps();
  await sandbox().seedTwilioAccount({ accountSid: TWILIO_SID, authToken: TWILIO_TOKEN, numbers: [TWILIO_NUMBER] });
  const bakery = await vapi.createAssistant({
    name: "Bella's Bakery",
    model: { provider: "openai", model: "gpt-4o", messages: [{ role: "system", content: OLD_PROMPT }] },
    transcriber: { provider: "deepgram", model: "nova-2", language: "es" },
  });
  const other = await vapi.createAssistant({ name: "Other Co" });
  const bakeryLine = await vapi.createPhoneNumber({ provider: "vapi", assistantId: bakery.id, numberDesiredAreaCode: "512" });
  const otherLine = await vapi.createPhoneNumber({ provider: "vapi", assistantId: other.id });
  const spare = await vapi.createPhoneNumber({ provider: "vapi", numberDesiredAreaCode: "212" });
  await sandbox().advanceClock(31);
  const activating = await vapi.createPhoneNumber({ provider: "vapi" });
  const twilio = await vapi.createPhoneNumber({
    provider: "twilio",
    number: TWILIO_NUMBER,
    twilioAccountSid: TWILIO_SID,
    twilioAuthToken: TWILIO_TOKEN,
  });
  await sandbox().clearRequests();
  return { bakery, other, bakeryLine, otherLine, spare, activating, twilio };
}

const runImport = async (body: unknown, query = "") => call("POST", `/api/admin/vapi/import${query}`, { token: await adminToken(), body });

/** Vapi requests that change something (the import may only list, and point adopted numbers' `server`). */
const vapiWrites = async () => (await sandbox().requests("vapi")).filter((r) => r.method !== "GET");

const numberRowByVapiId = (vapiId: string) =>
  env.DB.prepare("SELECT * FROM phone_numbers WHERE vapi_phone_number_id = ?").bind(vapiId).first<Record<string, any>>();

beforeEach(async () => {
  await resetState();
  await resetTwilio();
});

describe("POST /api/admin/vapi/import", () => {
  it("a dry run reports what it would do with each number and assistant, and why, and changes nothing", async () => {
    const old = await seedOldAccount();
    const org = newOrg();
    const before = await tableCounts();

    const res = await runImport({ assistants: [{ vapi_assistant_id: old.bakery.id, org_id: org }] });
    const report = await json(res);
    expect(res.status, JSON.stringify(report)).toBe(200);

    expect(report.dry_run).toBe(true);
    const byId = new Map(report.numbers.map((n: any) => [n.vapi_phone_number_id, n]));
    expect(byId.get(old.bakeryLine.id)).toMatchObject({ action: "with_assistant", org_id: org, outcome: "would_adopt" });
    expect(byId.get(old.otherLine.id)).toMatchObject({ action: "leave", outcome: "unchanged", vapi_assistant_id: old.other.id });
    expect((byId.get(old.otherLine.id) as any).reason).toMatch(/not adopted/);
    expect(byId.get(old.spare.id)).toMatchObject({ action: "join_pool", org_id: null, outcome: "would_adopt", vapi_status: "active" });
    expect(byId.get(old.activating.id)).toMatchObject({
      action: "join_pool_activating",
      outcome: "would_adopt",
      vapi_status: "activating",
    });
    expect(byId.get(old.twilio.id)).toMatchObject({
      action: "join_pool",
      provider: "twilio",
      number: TWILIO_NUMBER,
      outcome: "would_adopt",
    });
    const assistants = new Map(report.assistants.map((a: any) => [a.vapi_assistant_id, a]));
    expect(assistants.get(old.bakery.id)).toMatchObject({
      action: "adopt",
      org_id: org,
      vapi_phone_number_id: old.bakeryLine.id,
      outcome: "would_adopt",
    });
    expect(assistants.get(old.other.id)).toMatchObject({ action: "leave", outcome: "unchanged" });
    expect(report.summary).toMatchObject({
      numbers_to_adopt: 4,
      assistants_to_adopt: 1,
      numbers_adopted: 0,
      assistants_adopted: 0,
      left_alone: 2,
    });
    // Four free numbers made outside Switchboard: they count against the limit of 10.
    expect(report.free_numbers).toEqual({ limit: 10, held_by_switchboard: 0, held_outside: 4, room: 6 });

    expect(await vapiWrites()).toEqual([]);
    expect(await tableCounts()).toEqual(before);
  });

  it("adopts them; a second run changes nothing; a new assistant reuses an adopted number; the adopted assistant is managed like any other", async () => {
    const old = await seedOldAccount();
    const org = newOrg();
    const body = { assistants: [{ vapi_assistant_id: old.bakery.id, org_id: org }] };

    const res = await runImport(body, "?dry_run=false");
    const report = await json(res);
    expect(res.status, JSON.stringify(report)).toBe(200);
    expect(report.summary).toMatchObject({ numbers_adopted: 4, assistants_adopted: 1, failed: 0, remaining: 0 });

    // Numbers: in D1 with their digits, area code, provider and origin; in Vapi only `server` changed.
    const line = await numberRowByVapiId(old.bakeryLine.id);
    expect(line).toMatchObject({
      status: "active",
      origin: "adopted",
      provider: "vapi",
      source: "vapi_free",
      org_id: org,
      area_code: "512",
    });
    expect(line!.number).toMatch(/^\+1512\d{7}$/);
    expect(await numberRowByVapiId(old.spare.id)).toMatchObject({ status: "active", assistant_id: null, org_id: null, area_code: "212" });
    const activating = await numberRowByVapiId(old.activating.id);
    expect(activating).toMatchObject({ status: "provisioning", number: null, assistant_id: null });
    // Tracked like one of ours: its tracker's next check finds it live once Vapi shows the digits.
    expect(await trackerAlarm(activating!.tracker_key)).not.toBeNull();
    await sandbox().advanceClock(31);
    expect(await runDurableObjectAlarm(tracker(activating!.tracker_key))).toBe(true);
    expect(await numberRowByVapiId(old.activating.id)).toMatchObject({ status: "active", number: expect.stringMatching(/^\+1/) });
    expect(await numberRowByVapiId(old.twilio.id)).toMatchObject({
      status: "active",
      provider: "twilio",
      source: "twilio_imported",
      origin: "adopted",
      number: TWILIO_NUMBER,
    });
    expect(await numberRowByVapiId(old.otherLine.id)).toBeNull();
    const writes = await vapiWrites();
    expect(writes.map((w) => `${w.method} ${w.path}`).sort()).toEqual(
      [old.bakeryLine, old.spare, old.activating, old.twilio].map((n) => `PATCH /phone-number/${n.id}`).sort(),
    );
    for (const write of writes) expect(write.body).toEqual({ server: WEBHOOK_SERVER });
    const inVapi = new Map((await sandbox().vapiPhoneNumbers()).map((n) => [n.id, n]));
    expect(inVapi.get(old.bakeryLine.id)!.assistantId).toBe(old.bakery.id);
    expect(inVapi.get(old.otherLine.id)!.server).toBeUndefined();
    expect((await sandbox().vapiAssistants()).length).toBe(2);

    // The adopted assistant is in its organisation's list, with its number, and only there.
    const owner = asOrg(org, "owner");
    const list = await json(await owner("GET", "/api/assistants"));
    expect(list.assistants ?? list).toEqual([
      expect.objectContaining({
        name: "Bella's Bakery",
        business_data: { business_name: "Bella's Bakery" },
        languages: ["es"],
        vapi_assistant_id: old.bakery.id,
        vapi_phone_number: line!.number,
        phone_provider: "vapi",
        phone_status: "active",
      }),
    ]);
    expect(await json(await asOrg(newOrg())("GET", "/api/assistants"))).not.toContainEqual(
      expect.objectContaining({ vapi_assistant_id: old.bakery.id }),
    );

    // Twice: nothing changes the second time.
    await sandbox().clearRequests();
    const counts = await tableCounts();
    const again = await json(await runImport(body, "?dry_run=false"));
    expect(again.summary).toMatchObject({ numbers_to_adopt: 0, assistants_to_adopt: 0, numbers_adopted: 0, already_managed: 5 });
    expect(await vapiWrites()).toEqual([]);
    expect(await tableCounts()).toEqual(counts);

    // A new assistant of another organisation reuses an adopted shared number: no new number is made.
    await sandbox().clearRequests();
    const created = await asOrg(newOrg())("POST", "/api/assistants", { body: { business_data: sampleBusiness } });
    const view = await json(created);
    expect(created.status, JSON.stringify(view)).toBe(201);
    expect(view).toMatchObject({ phone_source: "pool", was_reused: true, phone_status: "active" });
    expect([(await numberRowByVapiId(old.spare.id))!.id, (await numberRowByVapiId(old.twilio.id))!.id]).toContain(view.phone_number_id);
    expect((await sandbox().requests("vapi")).filter((r) => r.method === "POST" && r.path === "/phone-number")).toEqual([]);

    // Renamed, given an emergency contact, deleted: its number returns to the pool.
    const id = list.assistants?.[0]?.id ?? list[0].id;
    // It keeps the configuration it came with: a rename renames, an emergency contact adds the transfer to its own tools.
    await sandbox().clearRequests();
    const renamed = await owner("PATCH", `/api/assistants/${id}`, { body: { name: "Bella's Bakery & Café" } });
    expect(renamed.status, await renamed.clone().text()).toBe(200);
    expect((await vapiWrites()).map((w) => w.body)).toEqual([{ name: "Bella's Bakery & Café" }]);
    const contact = await owner("PUT", `/api/assistants/${id}/emergency-contact`, { body: { name: "Bella", phone: "+15125550100" } });
    expect(contact.status, await contact.clone().text()).toBe(200);
    const inVapiNow = (await sandbox().vapiAssistants()).find((a) => a.id === old.bakery.id)!;
    expect(inVapiNow.name).toBe("Bella's Bakery & Café");
    expect(inVapiNow.model.messages).toEqual([{ role: "system", content: OLD_PROMPT }]);
    expect(inVapiNow.model.tools).toEqual([
      expect.objectContaining({ type: "transferCall", destinations: [expect.objectContaining({ number: "+15125550100" })] }),
    ]);
    const deleted = await owner("DELETE", `/api/assistants/${id}`);
    expect(deleted.status).toBe(204);
    expect(await numberRowByVapiId(old.bakeryLine.id)).toMatchObject({ status: "active", assistant_id: null });
    expect((await sandbox().vapiAssistants()).map((a) => a.id)).not.toContain(old.bakery.id);
    expect((await sandbox().vapiPhoneNumbers()).find((n) => n.id === old.bakeryLine.id)!.assistantId).toBeUndefined();
    await checkPoolInvariants();
  });

  it("puts unassigned numbers into the organisation's pool the body names, and an organisation's listed Twilio number into its own", async () => {
    const old = await seedOldAccount();
    const org = newOrg();
    const res = await runImport({ numbers: [{ vapi_phone_number_id: old.spare.id, org_id: org }] }, "?dry_run=false");
    expect(res.status).toBe(200);
    expect(await numberRowByVapiId(old.spare.id)).toMatchObject({ org_id: org, assistant_id: null });
    expect(await numberRowByVapiId(old.activating.id)).toMatchObject({ org_id: null });
  });

  it("refuses a body naming what the account does not have, before anything changes (422), and bad bodies (400)", async () => {
    await seedOldAccount();
    const missing = await runImport({ assistants: [{ vapi_assistant_id: crypto.randomUUID(), org_id: "org-a" }] }, "?dry_run=false");
    expect(missing.status).toBe(422);
    const error = (await json(missing)).error;
    expect(error.code).toBe("import_mapping_invalid");
    expect(error.details[0]).toMatchObject({ path: "assistants.0.vapi_assistant_id" });
    expect(await vapiWrites()).toEqual([]);

    const id = crypto.randomUUID();
    const twice = await runImport({
      assistants: [
        { vapi_assistant_id: id, org_id: "org-a" },
        { vapi_assistant_id: id, org_id: "org-b" },
      ],
    });
    expect(twice.status).toBe(400);
    expect(JSON.stringify(await json(twice))).toMatch(/named twice/);
    expect((await runImport({}, "?dry_run=maybe")).status).toBe(400);
    expect((await runImport({ assistants: [{ vapi_assistant_id: id }] })).status).toBe(400);
    const member = await asOrg("org-a", "owner")("POST", "/api/admin/vapi/import", { body: {} });
    expect(member.status).toBe(403);
  });

  it("shows the last report and where each number came from in the admin overview", async () => {
    const old = await seedOldAccount();
    await runImport({}, "?dry_run=false");
    const overview = await json(await call("GET", "/api/admin/phone-pool", { token: await adminToken() }));
    expect(overview.last_import).toMatchObject({ dry_run: false, summary: expect.objectContaining({ numbers_adopted: 3 }) });
    expect(overview.stats.by_origin).toEqual({ made_here: 0, adopted: 3, org_twilio: 0 });
    // Two free numbers adopted; the two assigned ones stay outside and still count against the limit.
    expect(overview.stats).toMatchObject({ free_numbers: 4, free_numbers_outside: 2 });
    expect(overview.unassigned).toContainEqual(expect.objectContaining({ number: TWILIO_NUMBER, origin: "adopted" }));
    expect(overview.provisioning).toContainEqual(expect.objectContaining({ vapi_phone_number_id: old.activating.id, origin: "adopted" }));

    const last = await json(await call("GET", "/api/admin/vapi/import", { token: await adminToken() }));
    expect(last.report.summary.numbers_adopted).toBe(3);
    expect(last.report.numbers.map((n: any) => n.vapi_phone_number_id)).toContain(old.otherLine.id);
  });
});

describe("faults in the middle of an import", () => {
  const kinds: FaultKind[] = ["500", "timeout", "timeout_after_processing", "malformed_after_processing"];
  it.each(kinds)(
    "Vapi %s while pointing an assistant's number: nothing half-adopted, the others adopted, a second run finishes",
    async (kind) => {
      const old = await seedOldAccount();
      const org = newOrg();
      const body = { assistants: [{ vapi_assistant_id: old.bakery.id, org_id: org }] };
      await inject(faultFor({ service: "vapi", method: "PATCH", pathPrefix: `/phone-number/${old.bakeryLine.id}` }, kind));

      const first = await json(await runImport(body, "?dry_run=false"));
      expect(first.summary).toMatchObject({ assistants_adopted: 0, numbers_adopted: 3, failed: 2, remaining: 2 });
      const failed = first.assistants.find((a: any) => a.vapi_assistant_id === old.bakery.id);
      expect(failed).toMatchObject({ outcome: "failed", error: expect.any(String) });
      // Neither the assistant nor its number: not one without the other.
      expect(await env.DB.prepare("SELECT count(*) AS n FROM assistants").first("n")).toBe(0);
      expect(await numberRowByVapiId(old.bakeryLine.id)).toBeNull();
      expect(await numberRowByVapiId(old.spare.id)).toMatchObject({ status: "active" });
      await checkPoolInvariants();

      await sandbox().clearFaults();
      const second = await json(await runImport(body, "?dry_run=false"));
      expect(second.summary).toMatchObject({ assistants_adopted: 1, numbers_adopted: 1, failed: 0, remaining: 0, already_managed: 3 });
      expect(await numberRowByVapiId(old.bakeryLine.id)).toMatchObject({ status: "active", org_id: org, assistant_id: expect.any(String) });
      await checkPoolInvariants();
    },
  );

  it("Vapi failing to list answers 502 and changes nothing", async () => {
    await seedOldAccount();
    await inject(faultFor({ service: "vapi", method: "GET", pathPrefix: "/assistant" }, "500"));
    const before = await tableCounts();
    const res = await runImport({}, "?dry_run=false");
    expect(res.status).toBe(502);
    expect((await json(res)).error.code).toMatch(/^vapi_/);
    expect(await vapiWrites()).toEqual([]);
    expect(await tableCounts()).toEqual(before);
  });

  it("two real runs at once adopt each number and assistant once, and each says what it did", async () => {
    const old = await seedOldAccount();
    const body = { assistants: [{ vapi_assistant_id: old.bakery.id, org_id: newOrg() }] };
    const reports = await Promise.all(
      [runImport(body, "?dry_run=false"), runImport(body, "?dry_run=false")].map(async (r) => json(await r)),
    );
    const adopted = reports.map((r) => r.summary.numbers_adopted + r.summary.assistants_adopted);
    expect(adopted[0]! + adopted[1]!).toBe(5);
    for (const report of reports) {
      for (const entry of [...report.numbers, ...report.assistants]) {
        if (entry.outcome === "not_adopted") expect(entry.reason).toMatch(/concurrent run/);
      }
    }
    expect(await env.DB.prepare("SELECT count(*) AS n FROM phone_numbers").first("n")).toBe(4);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM assistants").first("n")).toBe(1);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM phone_number_events WHERE event = 'created'").first("n")).toBe(4);
    await checkPoolInvariants();
  });

  it("adopts at most max_changes a run; the next run goes on where it stopped", async () => {
    const old = await seedOldAccount();
    const first = await json(await runImport({}, "?dry_run=false&max_changes=2"));
    expect(first.summary).toMatchObject({ numbers_adopted: 2, remaining: 1 });
    expect(first.numbers.filter((n: any) => n.outcome === "deferred")).toHaveLength(1);
    const second = await json(await runImport({}, "?dry_run=false&max_changes=2"));
    expect(second.summary).toMatchObject({ numbers_adopted: 1, remaining: 0 });
    expect(await numberRowByVapiId(old.twilio.id)).not.toBeNull();
  });
});
