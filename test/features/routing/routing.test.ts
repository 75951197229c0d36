import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { validateVapiBody } from "../../../dev/sandbox/json-schema";
import { NOT_IN_SERVICE } from "../../../src/features/routing/assistant-request";
import { json, sampleBusiness, sandbox, token } from "../../helpers/api";
import { newOrg } from "../../helpers/assertions";
import { faultFor, inject } from "../../helpers/faults";
import { adminToken } from "../../helpers/operations";
import { sendWith } from "../../helpers/routing";
import { checkPoolInvariants, resetState, seedNumber } from "../../helpers/pool";

type Mode = "direct" | "edge";

/** The worker with ROUTING_MODE set, as a deployment would run it. */
const send = (mode: Mode, method: string, path: string, options: { token?: string | null; body?: unknown } = {}) =>
  sendWith({ ROUTING_MODE: mode }, method, path, options);

const assistantRequest = (mode: Mode, vapiPhoneNumberId: string | null) =>
  send(mode, "POST", "/webhooks/vapi", {
    token: null,
    body: {
      message: {
        type: "assistant-request",
        call: { id: crypto.randomUUID(), type: "inboundPhoneCall", ...(vapiPhoneNumberId ? { phoneNumberId: vapiPhoneNumberId } : {}) },
        customer: { number: "+15125550199" },
      },
    },
  });

/** The answer, checked against Vapi's `ServerMessageResponseAssistantRequest`. */
async function answerOf(response: Response) {
  const body = await json(response);
  expect(response.status).toBe(200);
  expect(validateVapiBody("ServerMessageResponseAssistantRequest", body)).toEqual([]);
  expect(Object.keys(body).length).toBeGreaterThan(0);
  return body;
}

const createIn = async (mode: Mode, org: string) => {
  const res = await send(mode, "POST", "/api/assistants", { token: await token({ org }), body: { business_data: sampleBusiness } });
  const body = await json(res);
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body;
};

const phoneNumberWrites = async () =>
  (await sandbox().requests("vapi")).filter((r) => r.method !== "GET" && r.path.startsWith("/phone-number"));

beforeEach(async () => {
  await resetState();
  await env.DB.prepare("DELETE FROM organizations").run();
});

describe("assistant-request, answered at the edge", () => {
  it.each(["direct", "edge"] as const)(
    "%s: from one D1 read and no upstream call: the assistant, the organisation's fallback line, or a spoken 'not in service'",
    async (mode) => {
      const org = newOrg();
      const shared = await seedNumber();
      const own = await seedNumber({ orgId: org });
      const assigned = await seedNumber();
      const assistant = await createIn("direct", newOrg());
      const assignedVapiId = (await env.DB.prepare("SELECT vapi_phone_number_id AS v FROM phone_numbers WHERE id = ?")
        .bind(assistant.phone_number_id)
        .first("v")) as string;
      const saved = await send(mode, "PUT", "/api/organization/fallback", {
        token: await token({ org, role: "owner" }),
        body: { phone: "+15125550100" },
      });
      expect(await json(saved)).toEqual({ phone: "+15125550100" });
      await sandbox().clearRequests();

      const routed = await assistantRequest(mode, assignedVapiId);
      expect(routed.headers.get("X-D1-Round-Trips")).toBe("1");
      expect(routed.headers.get("X-Upstream-Calls")).toBe("0");
      expect(await answerOf(routed)).toEqual({ assistantId: assistant.vapi_assistant_id });

      const ownVapiId = own.vapiId;
      expect(await answerOf(await assistantRequest(mode, ownVapiId))).toEqual({
        destination: { type: "number", number: "+15125550100", message: expect.any(String) },
      });
      const pooled = [shared, assigned].find((n) => n.id !== assistant.phone_number_id)!;
      expect(await answerOf(await assistantRequest(mode, pooled.vapiId))).toEqual({ error: NOT_IN_SERVICE });
      expect(await answerOf(await assistantRequest(mode, crypto.randomUUID()))).toEqual({ error: NOT_IN_SERVICE });
      expect(await answerOf(await assistantRequest(mode, null))).toEqual({ error: NOT_IN_SERVICE });
      expect(await sandbox().requests("vapi")).toEqual([]);

      // Without the fallback line the organisation's number is not in service either.
      expect((await send(mode, "DELETE", "/api/organization/fallback", { token: await token({ org, role: "owner" }) })).status).toBe(204);
      expect(await answerOf(await assistantRequest(mode, ownVapiId))).toEqual({ error: NOT_IN_SERVICE });
    },
  );

  it("edge: a number moved between assistants of two organisations changes D1 only, and the next call reaches the new one", async () => {
    const number = await seedNumber();
    const first = await createIn("edge", newOrg());
    expect(first).toMatchObject({ phone_source: "pool", phone_number_id: number.id, phone_status: "active" });
    expect(await answerOf(await assistantRequest("edge", number.vapiId))).toEqual({ assistantId: first.vapi_assistant_id });

    const firstOrg = (await env.DB.prepare("SELECT org_id AS o FROM assistants WHERE id = ?").bind(first.id).first("o")) as string;
    const deleted = await send("edge", "DELETE", `/api/assistants/${first.id}`, { token: await token({ org: firstOrg }) });
    expect(deleted.status).toBe(204);
    expect(await answerOf(await assistantRequest("edge", number.vapiId))).toEqual({ error: NOT_IN_SERVICE });

    const second = await createIn("edge", newOrg());
    expect(second).toMatchObject({ phone_source: "pool", phone_number_id: number.id });
    expect(await answerOf(await assistantRequest("edge", number.vapiId))).toEqual({ assistantId: second.vapi_assistant_id });
    // Zero Vapi calls for the number through both moves.
    expect(await phoneNumberWrites()).toEqual([]);
    expect((await sandbox().vapiPhoneNumbers()).find((n) => n.id === number.vapiId)!.assistantId).toBeUndefined();
    await checkPoolInvariants();
  });

  it("edge: a new free number is made bare, with Switchboard as its server", async () => {
    await createIn("edge", newOrg());
    const [created] = (await phoneNumberWrites()).filter((r) => r.method === "POST");
    expect(created!.body).not.toHaveProperty("assistantId");
    expect(created!.body.server.url).toBe("https://switchboard.test/webhooks/vapi");
  });

  it("validates the fallback line (400 naming the field) and keeps it to its organisation", async () => {
    const org = newOrg();
    const bad = await send("direct", "PUT", "/api/organization/fallback", {
      token: await token({ org, role: "owner" }),
      body: { phone: "555-0100" },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await json(bad))).toContain("phone");
    const member = await send("direct", "PUT", "/api/organization/fallback", {
      token: await token({ org }),
      body: { phone: "+15125550100" },
    });
    expect(member.status).toBe(403);
    await send("direct", "PUT", "/api/organization/fallback", {
      token: await token({ org, role: "owner" }),
      body: { phone: "+15125550100" },
    });
    const other = await send("direct", "GET", "/api/organization/fallback", { token: await token({ org: newOrg(), role: "owner" }) });
    expect(await json(other)).toEqual({ phone: null });
  });
});

describe("POST /api/admin/routing/convert", () => {
  it("converts every number to edge and back, idempotent, and resumes after a Vapi fault halfway", async () => {
    const orgA = newOrg();
    const a = await createIn("direct", orgA);
    const b = await createIn("direct", newOrg());
    const contact = await send("direct", "PUT", `/api/assistants/${a.id}/emergency-contact`, {
      token: await token({ org: orgA }),
      body: { name: "Ann", phone: "+15125550111" },
    });
    expect(contact.status).toBe(200);
    await sandbox().advanceClock(31);
    const convert = async (mode: Mode, query = "") =>
      json(await send(mode, "POST", `/api/admin/routing/convert${query}`, { token: await adminToken() }));
    const vapiIdOf = async (id: string) =>
      (await env.DB.prepare("SELECT vapi_phone_number_id AS v FROM phone_numbers WHERE id = ?").bind(id).first("v")) as string;
    const [aVapi, bVapi] = [await vapiIdOf(a.phone_number_id), await vapiIdOf(b.phone_number_id)];
    const assistantOf = async (vapiId: string) => (await sandbox().vapiPhoneNumbers()).find((n) => n.id === vapiId)!.assistantId ?? null;

    await sandbox().clearRequests();
    const dry = await convert("edge");
    expect(dry).toMatchObject({ routing_mode: "edge", dry_run: true, numbers: 2, already_converted: 0, remaining: 2 });
    expect(await phoneNumberWrites()).toEqual([]);

    await inject(faultFor({ service: "vapi", method: "PATCH", pathPrefix: `/phone-number/${bVapi}` }, "500"));
    const halfway = await convert("edge", "?dry_run=false");
    expect(halfway).toMatchObject({ changed: 1, failed: 1, remaining: 1 });
    expect(await assistantOf(aVapi)).toBeNull();
    expect(await assistantOf(bVapi)).toBe(b.vapi_assistant_id);
    await sandbox().clearFaults();

    expect(await convert("edge", "?dry_run=false")).toMatchObject({ changed: 1, failed: 0, remaining: 0, already_converted: 1 });
    // A number made bare carries the fallback behind it at once: a's emergency contact (b has none, nor a line).
    expect(halfway.fallbacks_set).toBe(1);
    expect((await sandbox().vapiPhoneNumbers()).find((n) => n.id === aVapi)!.fallbackDestination).toMatchObject({
      type: "number",
      number: "+15125550111",
    });
    expect(await assistantOf(bVapi)).toBeNull();
    expect(await convert("edge", "?dry_run=false")).toMatchObject({ changed: 0, already_converted: 2, changes: [] });
    expect(await answerOf(await assistantRequest("edge", bVapi))).toEqual({ assistantId: b.vapi_assistant_id });

    expect(await convert("direct", "?dry_run=false")).toMatchObject({ routing_mode: "direct", changed: 2, remaining: 0 });
    expect(await assistantOf(aVapi)).toBe(a.vapi_assistant_id);
    expect(await assistantOf(bVapi)).toBe(b.vapi_assistant_id);
  });
});
