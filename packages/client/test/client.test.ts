import { exports } from "cloudflare:workers";
import { type Assistant, createSwitchboardClient, type ErrorBody, type SwitchboardSchema } from "@switchboard/client";
import type { ExtractSchema } from "hono/types";
import { beforeEach, describe, expect, expectTypeOf, it } from "vitest";
import type { AppType } from "../../../src/app";
import { sampleBusiness, token } from "../../../test/helpers/api";
import { resetState, seedNumber } from "../../../test/helpers/pool";

// The package as a frontend imports it (`@switchboard/client`, linked by the npm workspace), against the worker.
const viaWorker: typeof fetch = (input, init) => exports.default.fetch(new Request(input, init));

beforeEach(resetState);

describe("the client package (@switchboard/client)", () => {
  it("its schema is the app's: every route, input and answer of ExtractSchema<AppType>, both ways", () => {
    expectTypeOf<SwitchboardSchema>().toExtend<ExtractSchema<AppType>>();
    expectTypeOf<ExtractSchema<AppType>>().toExtend<SwitchboardSchema>();
  });

  it("creates, lists and reads assistants with typed bodies and responses", async () => {
    const seeded = await seedNumber();
    const api = createSwitchboardClient("https://switchboard.test", { token: () => token({ org: "org-client" }), fetch: viaWorker });

    const created = await api.api.assistants.$post({ json: { business_data: sampleBusiness, languages: ["en"] }, header: {} });
    expect(created.status).toBe(201);
    if (created.status !== 201) return;
    const assistant = await created.json();
    expectTypeOf(assistant).toEqualTypeOf<Assistant>();
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
    expect(phone.status).toBe(200);
    if (phone.status === 200) expect((await phone.json()).phone_status).toBe("active");
  });

  it("answers the error shape, typed, and sends the current token on every request", async () => {
    let current = await token({ org: "org-client", role: "member" });
    const api = createSwitchboardClient("https://switchboard.test", { token: () => current, fetch: viaWorker });

    const missing = await api.api.assistants[":id"].$get({ param: { id: "no-such-assistant" } });
    expect(missing.status).toBe(404);
    if (missing.status !== 404) return;
    const body = await missing.json();
    expectTypeOf(body).toEqualTypeOf<ErrorBody>();
    expect(body.error.code).toBe("not_found");

    current = "not-a-jwt";
    const refused = await api.api.assistants.$get({ query: {} });
    expect(refused.status).toBe(401);
    if (refused.status === 401) expect((await refused.json()).error.code).toMatch(/^auth_/);
  });
});
