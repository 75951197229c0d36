import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { call, json, sampleBusiness, sandbox, token } from "../../helpers/api";
import { resetState } from "../../helpers/pool";
import { webhook } from "../../helpers/provisioning";

const contact = { name: "Dana (on call)", phone: "+15125550199" };

async function createAssistant(org = "org-a", business: Record<string, unknown> = sampleBusiness) {
  const res = await call("POST", "/api/assistants", { token: await token({ org }), body: { business_data: business } });
  expect(res.status).toBe(201);
  return json(res);
}

const vapiAssistant = async (vapiId: string) => (await sandbox().vapiAssistants()).find((a) => a.id === vapiId)!;
const transferTool = (assistant: Record<string, any>) => assistant.model.tools.find((t: any) => t.type === "transferCall");

beforeEach(resetState);

describe("emergency contact", () => {
  it("sets a transferCall tool to that number in Vapi, described with the business's emergencies", async () => {
    const a = await createAssistant("org-a", { ...sampleBusiness, emergencies: ["gas smell", "no heat"] });
    expect(transferTool(await vapiAssistant(a.vapi_assistant_id))).toBeUndefined();

    const res = await call("PUT", `/api/assistants/${a.id}/emergency-contact`, { body: contact });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ emergency_contact: contact });

    const tool = transferTool(await vapiAssistant(a.vapi_assistant_id));
    expect(tool.destinations).toEqual([expect.objectContaining({ type: "number", number: contact.phone })]);
    expect(tool.destinations[0].description).toContain("gas smell");
    // The calendar tools are kept.
    const names = (await vapiAssistant(a.vapi_assistant_id)).model.tools.map((t: any) => t.function?.name ?? t.type);
    expect(names).toEqual(["check_availability", "book_appointment", "transferCall"]);

    expect(await json(await call("GET", `/api/assistants/${a.id}/emergency-contact`))).toEqual({ emergency_contact: contact });
    expect((await json(await call("GET", `/api/assistants/${a.id}`))).emergency_contact).toEqual(contact);
  });

  it("refuses an invalid phone, and another organization's assistant is 404", async () => {
    const a = await createAssistant();
    const bad = await call("PUT", `/api/assistants/${a.id}/emergency-contact`, { body: { name: "Dana", phone: "555-0199" } });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.details[0].path).toBe("phone");
    const other = await call("PUT", `/api/assistants/${a.id}/emergency-contact`, { token: await token({ org: "org-b" }), body: contact });
    expect(other.status).toBe(404);
    expect((await call("GET", `/api/assistants/${a.id}/emergency-contact`, { token: await token({ org: "org-b" }) })).status).toBe(404);
  });

  it("a contact name made only of invisible characters (zero-width spaces) is refused like an empty one", async () => {
    const a = await createAssistant();
    for (const name of ["\u200b", "\u200b\u200c\u200d", "\ufeff"]) {
      const res = await call("PUT", `/api/assistants/${a.id}/emergency-contact`, { body: { name, phone: contact.phone } });
      expect(res.status).toBe(400);
      expect((await json(res)).error.details).toEqual([
        expect.objectContaining({ path: "name", message: expect.stringContaining("must not be empty") }),
      ]);
    }
    expect(transferTool(await vapiAssistant(a.vapi_assistant_id))).toBeUndefined();
  });

  it("keeps the stored contact and the Vapi assistant consistent when Vapi fails", async () => {
    const a = await createAssistant();
    await sandbox().injectFault({ service: "vapi", method: "PATCH", pathPrefix: "/assistant/", count: 3, kind: "status", status: 500 });
    const res = await call("PUT", `/api/assistants/${a.id}/emergency-contact`, { body: contact });
    expect(res.status).toBe(502);
    expect(await json(await call("GET", `/api/assistants/${a.id}/emergency-contact`))).toEqual({ emergency_contact: null });
    expect(transferTool(await vapiAssistant(a.vapi_assistant_id))).toBeUndefined();
  });

  it("DELETE removes the transfer in Vapi and the contact", async () => {
    const a = await createAssistant();
    await call("PUT", `/api/assistants/${a.id}/emergency-contact`, { body: contact });
    expect((await call("DELETE", `/api/assistants/${a.id}/emergency-contact`)).status).toBe(204);
    expect(await json(await call("GET", `/api/assistants/${a.id}/emergency-contact`))).toEqual({ emergency_contact: null });
    expect(transferTool(await vapiAssistant(a.vapi_assistant_id))).toBeUndefined();
    const row = await env.DB.prepare("SELECT emergency_contact_phone FROM assistants WHERE id = ?")
      .bind(a.id)
      .first("emergency_contact_phone");
    expect(row).toBeNull();
  });

  it("survives a later rename: the transfer tool stays", async () => {
    const a = await createAssistant();
    await call("PUT", `/api/assistants/${a.id}/emergency-contact`, { body: contact });
    expect((await call("PATCH", `/api/assistants/${a.id}`, { body: { name: "Front desk" } })).status).toBe(200);
    expect(transferTool(await vapiAssistant(a.vapi_assistant_id))).toBeDefined();
  });
});

describe("transfer-destination-request", () => {
  it("answers the emergency contact's number for the call's assistant", async () => {
    const a = await createAssistant();
    await call("PUT", `/api/assistants/${a.id}/emergency-contact`, { body: contact });
    const res = await webhook({ type: "transfer-destination-request", call: { id: "call-9", assistantId: a.vapi_assistant_id } });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ destination: { type: "number", number: contact.phone, message: expect.any(String) } });
  });

  it("answers a line the assistant can say when there is no contact", async () => {
    const a = await createAssistant();
    const res = await webhook({ type: "transfer-destination-request", call: { id: "call-9", assistantId: a.vapi_assistant_id } });
    expect(res.status).toBe(200);
    expect((await json(res)).error).toMatch(/take a message/);
  });
});

describe("tool-calls", () => {
  it("answers every call with HTTP 200 in order, even unknown tools and unknown assistants", async () => {
    const a = await createAssistant();
    const res = await webhook({
      type: "tool-calls",
      call: { id: "call-1", assistantId: a.vapi_assistant_id },
      toolCallList: [
        { id: "t1", type: "function", function: { name: "order_pizza", arguments: "{}" } },
        { id: "t2", type: "function", function: { name: "order_pizza", arguments: { size: "L" } } },
      ],
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.results.map((r: any) => r.toolCallId)).toEqual(["t1", "t2"]);
    expect(body.results[0].error).toBe("I can't do that on this call. I can take a message and have someone call you back.");

    const stranger = await webhook({
      type: "tool-calls",
      call: { id: "c", assistantId: "not-ours" },
      toolCallList: [{ id: "t3", function: { name: "check_availability", arguments: {} } }],
    });
    expect(stranger.status).toBe(200);
    expect((await json(stranger)).results[0]).toMatchObject({ toolCallId: "t3", error: expect.any(String) });
  });
});
