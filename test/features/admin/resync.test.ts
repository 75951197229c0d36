import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { call, json, sampleBusiness, sandbox, token } from "../../helpers/api";
import { resetState, seedNumbers } from "../../helpers/pool";

const ROTATED = "rotated-webhook-secret-0123456789";
const app = createApp();

async function resync(query: string, role = "platform_admin") {
  const auth = await token({ org: role === "platform_admin" ? null : "org-a", role });
  // The service now runs with the new secret (as after `wrangler secret put VAPI_WEBHOOK_SECRET`).
  return app.request(
    `https://switchboard.test/api/admin/assistants/resync${query}`,
    { method: "POST", headers: { Authorization: `Bearer ${auth}` } },
    { ...env, VAPI_WEBHOOK_SECRET: ROTATED },
  );
}

beforeEach(resetState);

describe("POST /api/admin/assistants/resync", () => {
  it("pushes the current server secret to every assistant and its number, a page at a time", async () => {
    await seedNumbers(4);
    const made = [];
    for (const org of ["org-a", "org-a", "org-a", "org-b"]) {
      made.push(
        await json(await call("POST", "/api/assistants", { token: await token({ org }), body: { business_data: sampleBusiness } })),
      );
    }
    const first = await json(await resync("?limit=3"));
    expect(first).toMatchObject({ updated: 3, failed: [] });
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await json(await resync(`?limit=3&cursor=${first.next_cursor}`));
    expect(second).toEqual({ updated: 1, failed: [], next_cursor: null });

    for (const assistant of await sandbox().vapiAssistants()) {
      expect(assistant.server.headers["X-Vapi-Secret"]).toBe(ROTATED);
      expect(assistant.model.tools.every((t: any) => !t.server || t.server.headers["X-Vapi-Secret"] === ROTATED)).toBe(true);
      expect(assistant.metadata.switchboardAssistantId).toEqual(expect.any(String));
    }
    for (const number of await sandbox().vapiPhoneNumbers()) expect(number.server.headers["X-Vapi-Secret"]).toBe(ROTATED);
    expect(made.map((a) => a.id).sort()).toHaveLength(4);
  });

  it("can be limited to one organisation, reports Vapi failures, and is for platform admins only", async () => {
    await seedNumbers(2);
    await call("POST", "/api/assistants", { token: await token({ org: "org-a" }), body: { business_data: sampleBusiness } });
    await call("POST", "/api/assistants", { token: await token({ org: "org-b" }), body: { business_data: sampleBusiness } });
    await sandbox().injectFault({ service: "vapi", method: "PATCH", pathPrefix: "/assistant/", count: 3, kind: "status", status: 500 });
    const result = await json(await resync("?org_id=org-a"));
    expect(result.updated).toBe(0);
    expect(result.failed).toEqual([{ assistant_id: expect.any(String), error: expect.any(String) }]);
    await sandbox().clearFaults();
    expect((await resync("", "owner")).status).toBe(403);
    expect((await resync("?limit=0")).status).toBe(400);
  });
});
