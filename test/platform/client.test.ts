import { exports } from "cloudflare:workers";
import { beforeEach, describe, expect, expectTypeOf, it } from "vitest";
import { createSwitchboardClient } from "../../src/client";
import { sampleBusiness, token } from "../helpers/api";
import { resetState, seedNumber } from "../helpers/pool";

const viaWorker: typeof fetch = (input, init) => exports.default.fetch(new Request(input, init));

beforeEach(resetState);

describe("the typed client (hono/client)", () => {
  it("creates, lists and reads assistants with typed bodies and responses", async () => {
    const seeded = await seedNumber();
    const api = createSwitchboardClient("https://switchboard.test", { token: () => token({ org: "org-client" }), fetch: viaWorker });

    const created = await api.api.assistants.$post({ json: { business_data: sampleBusiness, languages: ["en"] }, header: {} });
    expect(created.status).toBe(201);
    if (created.status !== 201) return;
    const assistant = await created.json();
    expectTypeOf(assistant.vapi_phone_number).toEqualTypeOf<string | null>();
    expectTypeOf(assistant.phone_status).toEqualTypeOf<"active" | "provisioning" | "stuck" | "none">();
    expect(assistant.vapi_phone_number).toBe(seeded.number);

    const listed = await api.api.assistants.$get({ query: {} });
    expect(listed.status).toBe(200);
    if (listed.status !== 200) return;
    const page = await listed.json();
    expect(page.assistants.map((a) => a.id)).toEqual([assistant.id]);
    expectTypeOf(page.next_cursor).toEqualTypeOf<string | null>();
    expect(page.next_cursor).toBeNull();

    const one = await api.api.assistants[":id"].$get({ param: { id: assistant.id } });
    expect(one.status).toBe(200);
    const phone = await api.api.assistants[":id"].phone.$get({ param: { id: assistant.id } });
    if (phone.status === 200) expect((await phone.json()).phone_status).toBe("active");
  });
});
