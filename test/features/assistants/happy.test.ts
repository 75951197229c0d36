import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { json, sampleBusiness, sandbox, token } from "../../helpers/api";
import { asOrg, assistantRow, createAssistantFor, expectError, newOrg, sideEffects, vapiRequestsSince } from "../../helpers/assertions";
import { resetState } from "../../helpers/pool";
import { TEST_SETTINGS } from "../../settings";

const ASSISTANT_FIELDS = [
  "id",
  "name",
  "business_data",
  "languages",
  "vapi_assistant_id",
  "vapi_phone_number",
  "phone_provider",
  "phone_status",
  "phone_number_id",
  "phone_source",
  "was_reused",
  "provisioning",
  "emergency_contact",
  "created_at",
  "updated_at",
].sort();

type VapiBody = Record<string, any>;

/** Creates through the API and returns the assistant plus the body Vapi received for it. */
async function createAndCapture(org: string, body: Record<string, unknown>) {
  const from = (await sideEffects()).vapiCalls;
  const assistant = await createAssistantFor(org, body);
  const posts = (await vapiRequestsSince(from)).filter((r) => r.method === "POST" && r.path === "/assistant");
  expect(posts).toHaveLength(1);
  return { assistant, vapiBody: posts[0]!.body as VapiBody };
}

// Every create takes a free number: start each test with an empty record and Vapi account, under the limit.
beforeEach(resetState);

async function vapiAssistant(id: string): Promise<Record<string, any> | undefined> {
  return (await sandbox().vapiAssistants()).find((a) => a.id === id) as Record<string, any> | undefined;
}

describe("POST /api/assistants", () => {
  it("returns 201 with exactly the flat fields of the assistant object", async () => {
    const org = newOrg();
    const response = await asOrg(org)("POST", "/api/assistants", { body: { business_data: sampleBusiness, area_code: "512" } });
    const body = await json(response);
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(Object.keys(body).sort()).toEqual(ASSISTANT_FIELDS);
    expect(body).toMatchObject({
      name: "Cool Breeze HVAC",
      business_data: sampleBusiness,
      languages: ["en"],
      emergency_contact: null,
    });
    // The phone fields are flat and typed; a number is real digits or null, never a label like "Vapi-87ea540e".
    expect(["active", "provisioning", "stuck", "none"]).toContain(body.phone_status);
    expect(body.vapi_phone_number === null || /^\+[1-9]\d{6,14}$/.test(body.vapi_phone_number)).toBe(true);
    expect([null, "vapi", "twilio"]).toContain(body.phone_provider);
    expect([null, "pool", "new", "twilio"]).toContain(body.phone_source);
    expect(typeof body.was_reused).toBe("boolean");
    if (body.phone_status === "none") {
      expect(body).toMatchObject({
        vapi_phone_number: null,
        phone_provider: null,
        phone_number_id: null,
        phone_source: null,
        was_reused: false,
        provisioning: null,
      });
    }
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof body.vapi_assistant_id).toBe("string");
    expect(new Date(body.created_at).toISOString()).toBe(body.created_at);
    expect(new Date(body.updated_at).toISOString()).toBe(body.updated_at);

    // The record agrees, and Vapi holds the assistant it names.
    const row = await assistantRow(body.id);
    expect(row).toMatchObject({ org_id: org, state: "active", vapi_assistant_id: body.vapi_assistant_id, area_code: "512" });
    expect(await vapiAssistant(body.vapi_assistant_id)).toBeDefined();
  });

  it("name defaults to business_name, never 'Unnamed'", async () => {
    const org = newOrg();
    const created = await createAssistantFor(org, { business_data: { business_name: "Smile Dental" } });
    expect(created.name).toBe("Smile Dental");
    const listed = await json(await asOrg(org)("GET", "/api/assistants"));
    expect(listed.assistants.map((a: { name: string }) => a.name)).toEqual(["Smile Dental"]);
    expect(JSON.stringify(listed)).not.toMatch(/unnamed/i);
    expect((await vapiAssistant(created.vapi_assistant_id))?.name).toBe("Smile Dental");
  });

  it("a given name is kept, and trimmed", async () => {
    const created = await createAssistantFor(newOrg(), { name: "  Front Desk  ", business_data: sampleBusiness });
    expect(created.name).toBe("Front Desk");
    expect((await vapiAssistant(created.vapi_assistant_id))?.name).toBe("Front Desk");
  });

  it("sends Vapi a valid assistant: server url and secret header, no legacy fields, metadata", async () => {
    const { assistant, vapiBody } = await createAndCapture(newOrg(), { business_data: sampleBusiness, languages: ["en", "es"] });
    expect(vapiBody.server).toEqual({
      url: `${TEST_SETTINGS.PUBLIC_URL}/webhooks/vapi`,
      headers: { "X-Vapi-Secret": TEST_SETTINGS.VAPI_WEBHOOK_SECRET },
    });
    expect(vapiBody).not.toHaveProperty("serverUrl");
    expect(vapiBody).not.toHaveProperty("serverUrlSecret");
    expect(vapiBody.server).not.toHaveProperty("secret");
    expect(vapiBody.metadata.switchboardAssistantId).toBe(assistant.id);
    expect(vapiBody.transcriber.language).toBe("multi");
    expect(vapiBody.firstMessage).toContain("Cool Breeze HVAC");
    expect(vapiBody.firstMessage).toMatch(/^Thank you for calling/);
    // What the sandbox stored is what was sent.
    expect((await vapiAssistant(assistant.vapi_assistant_id))?.metadata?.switchboardAssistantId).toBe(assistant.id);
  });

  it("a name longer than Vapi's 40 characters is kept whole here and shortened for Vapi", async () => {
    const long = "The Very Friendly Front Desk of Cool Breeze HVAC and Plumbing";
    const { assistant, vapiBody } = await createAndCapture(newOrg(), { name: long, business_data: sampleBusiness });
    expect(assistant.name).toBe(long);
    expect(vapiBody.name).toBe(long.slice(0, 40));
  });

  it("one language: the transcriber uses it, and the greeting is in it (Spanish)", async () => {
    const { vapiBody } = await createAndCapture(newOrg(), { business_data: sampleBusiness, languages: ["es"] });
    expect(vapiBody.transcriber.language).toBe("es");
    expect(vapiBody.firstMessage).toBe("Gracias por llamar a Cool Breeze HVAC. ¿En qué puedo ayudarle hoy?");
  });

  it("several languages: the greeting is in the first one", async () => {
    const { vapiBody } = await createAndCapture(newOrg(), { business_data: sampleBusiness, languages: ["fr", "en"] });
    expect(vapiBody.transcriber.language).toBe("multi");
    expect(vapiBody.firstMessage).toMatch(/^Merci d'avoir appelé Cool Breeze HVAC/);
  });

  it("the webhook URL follows PUBLIC_URL, not the request's origin", async () => {
    const app = createApp();
    const from = (await sideEffects()).vapiCalls;
    const ctx = createExecutionContext();
    const response = await app.request(
      "https://internal.example/api/assistants",
      {
        method: "POST",
        headers: { Authorization: `Bearer ${await token({ org: newOrg() })}`, "Content-Type": "application/json" },
        body: JSON.stringify({ business_data: sampleBusiness }),
      },
      { ...env, PUBLIC_URL: "https://hooks.example.com/" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status, await response.clone().text()).toBe(201);
    const post = (await vapiRequestsSince(from)).find((r) => r.method === "POST" && r.path === "/assistant");
    expect((post!.body as VapiBody).server.url).toBe("https://hooks.example.com/webhooks/vapi");
  });
});

describe("reading assistants", () => {
  it("list and the /list alias answer the same, newest first, scoped to the organisation", async () => {
    const org = newOrg();
    const other = newOrg();
    const first = await createAssistantFor(org, { business_data: { business_name: "First Co" } });
    const second = await createAssistantFor(org, { business_data: { business_name: "Second Co" } });
    const foreign = await createAssistantFor(other, { business_data: { business_name: "Other Co" } });

    const list = await asOrg(org)("GET", "/api/assistants");
    expect(list.status).toBe(200);
    const listed = await json(list);
    const alias = await json(await asOrg(org)("GET", "/api/assistants/list"));
    expect(alias).toEqual(listed);
    expect(Object.keys(listed)).toEqual(["assistants", "next_cursor"]);
    expect(listed.next_cursor).toBeNull();
    const ids = listed.assistants.map((a: { id: string }) => a.id);
    expect(ids).toHaveLength(2);
    expect(new Set(ids)).toEqual(new Set([first.id, second.id]));
    expect(ids).not.toContain(foreign.id);
    // Newest first.
    const created = listed.assistants.map((a: { created_at: string }) => a.created_at);
    expect([...created].sort().reverse()).toEqual(created);
    for (const item of listed.assistants) expect(Object.keys(item).sort()).toEqual(ASSISTANT_FIELDS);

    const otherList = await json(await asOrg(other)("GET", "/api/assistants"));
    expect(otherList.assistants.map((a: { id: string }) => a.id)).toEqual([foreign.id]);
  });

  it("an organisation with no assistants gets an empty list", async () => {
    const listed = await json(await asOrg(newOrg())("GET", "/api/assistants"));
    expect(listed).toEqual({ assistants: [], next_cursor: null });
  });

  it("GET one returns what create returned", async () => {
    const org = newOrg();
    const created = await createAssistantFor(org);
    const response = await asOrg(org)("GET", `/api/assistants/${created.id}`);
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual(created);
  });

  it("GET an unknown id → 404 not_found", async () => {
    await expectError(await asOrg(newOrg())("GET", `/api/assistants/${crypto.randomUUID()}`), 404, "not_found");
  });
});

describe("PATCH /api/assistants/:id", () => {
  it("renames, in D1 and in Vapi", async () => {
    const org = newOrg();
    const created = await createAssistantFor(org);
    const response = await asOrg(org)("PATCH", `/api/assistants/${created.id}`, { body: { name: "Night Line" } });
    const body = await json(response);
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.name).toBe("Night Line");
    expect(body.business_data).toEqual(created.business_data);
    expect(Object.keys(body).sort()).toEqual(ASSISTANT_FIELDS);
    expect(await json(await asOrg(org)("GET", `/api/assistants/${created.id}`))).toEqual(body);
    expect((await vapiAssistant(created.vapi_assistant_id))?.name).toBe("Night Line");
  });

  it("name null reverts to the business name, and then follows it", async () => {
    const org = newOrg();
    const created = await createAssistantFor(org, { name: "Custom", business_data: sampleBusiness });
    const path = `/api/assistants/${created.id}`;

    const reverted = await json(await asOrg(org)("PATCH", path, { body: { name: null } }));
    expect(reverted.name).toBe("Cool Breeze HVAC");
    expect((await vapiAssistant(created.vapi_assistant_id))?.name).toBe("Cool Breeze HVAC");

    const renamedBusiness = await json(await asOrg(org)("PATCH", path, { body: { business_data: { business_name: "Warm Breeze HVAC" } } }));
    expect(renamedBusiness.name).toBe("Warm Breeze HVAC");
  });

  it("a custom name is kept when the business name changes", async () => {
    const org = newOrg();
    const created = await createAssistantFor(org, { name: "Reception", business_data: sampleBusiness });
    const updated = await json(
      await asOrg(org)("PATCH", `/api/assistants/${created.id}`, { body: { business_data: { business_name: "New Biz" } } }),
    );
    expect(updated.name).toBe("Reception");
    expect(updated.business_data.business_name).toBe("New Biz");
  });

  it("business_data merges with what was there, and Vapi gets the new name and greeting", async () => {
    const org = newOrg();
    const created = await createAssistantFor(org);
    const from = (await sideEffects()).vapiCalls;
    const response = await asOrg(org)("PATCH", `/api/assistants/${created.id}`, {
      body: { business_data: { business_name: "Arctic Air", industry: "Refrigeration" } },
    });
    const body = await json(response);
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.business_data).toEqual({ ...sampleBusiness, business_name: "Arctic Air", industry: "Refrigeration" });
    expect(body.name).toBe("Arctic Air");

    const patches = (await vapiRequestsSince(from)).filter((r) => r.method === "PATCH");
    expect(patches.map((p) => p.path)).toEqual([`/assistant/${created.vapi_assistant_id}`]);
    const inVapi = await vapiAssistant(created.vapi_assistant_id);
    expect(inVapi?.name).toBe("Arctic Air");
    expect(inVapi?.firstMessage).toContain("Arctic Air");
    expect(JSON.stringify(inVapi?.model)).toContain("Refrigeration");
    // The metadata linking it to the row survives the update.
    expect(inVapi?.metadata?.switchboardAssistantId).toBe(created.id);
  });

  it("a Vapi failure while updating → 502 and nothing changes", async () => {
    const org = newOrg();
    const created = await createAssistantFor(org);
    const rowBefore = await assistantRow(created.id);
    await sandbox().injectFault({ service: "vapi", method: "PATCH", pathPrefix: "/assistant/", count: 3, kind: "status", status: 500 });
    await expectError(await asOrg(org)("PATCH", `/api/assistants/${created.id}`, { body: { name: "Not Saved" } }), 502, "vapi_error");
    expect(await assistantRow(created.id)).toEqual(rowBefore);
    expect((await vapiAssistant(created.vapi_assistant_id))?.name).toBe(created.name);
    expect((await json(await asOrg(org)("GET", `/api/assistants/${created.id}`))).name).toBe(created.name);
  });

  it("languages: the transcriber switches to multi", async () => {
    const org = newOrg();
    const created = await createAssistantFor(org);
    const body = await json(await asOrg(org)("PATCH", `/api/assistants/${created.id}`, { body: { languages: ["en", "es"] } }));
    expect(body.languages).toEqual(["en", "es"]);
    expect((await vapiAssistant(created.vapi_assistant_id))?.transcriber?.language).toBe("multi");
  });
});

describe("DELETE /api/assistants/:id", () => {
  it("204, then 404; the Vapi assistant is gone and the row is soft-deleted", async () => {
    const org = newOrg();
    const created = await createAssistantFor(org);
    const path = `/api/assistants/${created.id}`;

    const response = await asOrg(org)("DELETE", path);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");

    await expectError(await asOrg(org)("GET", path), 404, "not_found");
    await expectError(await asOrg(org)("DELETE", path), 404, "not_found");
    await expectError(await asOrg(org)("PATCH", path, { body: { name: "Back" } }), 404, "not_found");
    expect((await json(await asOrg(org)("GET", "/api/assistants"))).assistants).toEqual([]);

    expect(await vapiAssistant(created.vapi_assistant_id)).toBeUndefined();
    const row = await assistantRow(created.id);
    expect(row).toMatchObject({ state: "deleted", org_id: org });
    expect(typeof row?.deleted_at).toBe("string");
  });

  it("an assistant already gone from Vapi still deletes", async () => {
    const org = newOrg();
    const created = await createAssistantFor(org);
    // Someone removed it in Vapi's dashboard.
    const stub = sandbox();
    await stub.injectFault({ service: "vapi", method: "DELETE", pathPrefix: "/assistant/", count: 1, kind: "status", status: 404 });
    const response = await asOrg(org)("DELETE", `/api/assistants/${created.id}`);
    expect(response.status).toBe(204);
    expect((await assistantRow(created.id))?.state).toBe("deleted");
  });

  it("a Vapi failure while deleting → 502 and the assistant is kept", async () => {
    const org = newOrg();
    const created = await createAssistantFor(org);
    await sandbox().injectFault({ service: "vapi", method: "DELETE", pathPrefix: "/assistant/", count: 3, kind: "status", status: 500 });
    await expectError(await asOrg(org)("DELETE", `/api/assistants/${created.id}`), 502, "vapi_error");
    expect((await assistantRow(created.id))?.state).toBe("active");
    expect(await vapiAssistant(created.vapi_assistant_id)).toBeDefined();
    expect((await asOrg(org)("GET", `/api/assistants/${created.id}`)).status).toBe(200);
  });
});
