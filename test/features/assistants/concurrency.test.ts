import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import { call, sandbox, token } from "../../helpers/api";
import { configureTwilio, created, expectInvariants, resetAll } from "../../helpers/faults";
import { adminToken, DAY_MS } from "../../helpers/operations";
import { seedNumber, seedNumbers } from "../../helpers/pool";
import { serviceDeps } from "../../helpers/deps";
import { createAssistant } from "../../../src/features/assistants/assistants";

/**
 * One resource, many requests at once. For every mutating route: N identical requests at the same time, and
 * (for an assistant's routes) the mutation racing a DELETE of the assistant. The answers must be honest (one
 * 204 and 404s for a delete; a 404 or 409, never a 5xx, for a change that lost to a delete) and the record
 * whole: no number on two assistants, none lost, totals that add up, one history event per real change.
 */

const ORG = "org-race";

interface Scene {
  assistantId: string;
  vapiAssistantId: string;
  numberId: string;
}

async function scene(): Promise<Scene> {
  await seedNumbers(2);
  const assistant = await created(ORG);
  const row = await env.DB.prepare("SELECT vapi_assistant_id FROM assistants WHERE id = ?")
    .bind(assistant.id)
    .first<{ vapi_assistant_id: string }>();
  return { assistantId: assistant.id, vapiAssistantId: row!.vapi_assistant_id, numberId: assistant.phone_number_id };
}

/** The assistant's number turned `failed` (Vapi blocked it), so `POST …/phone` may give it another. */
async function withoutUsableNumber(s: Scene) {
  await env.DB.prepare("UPDATE phone_numbers SET status = 'failed' WHERE id = ?").bind(s.numberId).run();
}

const owner = () => token({ org: ORG, role: "owner" });
const member = () => token({ org: ORG });

async function events(numberId?: string) {
  const query = numberId
    ? env.DB.prepare("SELECT event, assistant_id FROM phone_number_events WHERE phone_number_id = ? ORDER BY id").bind(numberId)
    : env.DB.prepare("SELECT event, assistant_id FROM phone_number_events ORDER BY id");
  return (await query.all<{ event: string; assistant_id: string | null }>()).results;
}

const counted = (statuses: number[]) => {
  const counts: Record<number, number> = {};
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
};

/** Starts every request before any is awaited: they interleave at each D1 and upstream call. */
async function atOnce(requests: (() => Promise<Response>)[]): Promise<{ status: number; body: any }[]> {
  const responses = await Promise.all(requests.map((r) => r()));
  return Promise.all(responses.map(async (r) => ({ status: r.status, body: r.status === 204 ? null : await r.json().catch(() => null) })));
}

interface AssistantRoute {
  name: string;
  prepare?: (s: Scene) => Promise<void>;
  send: (s: Scene) => Promise<Response>;
  /** What N identical requests at once must leave, given their answers. */
  identical: (s: Scene, answers: { status: number; body: any }[]) => Promise<void>;
  /** The answers this route may give when it loses a race to the assistant's deletion. */
  afterDelete: number[];
}

const ASSISTANT_ROUTES: AssistantRoute[] = [
  {
    name: "PATCH /api/assistants/{id}",
    send: async (s) => call("PATCH", `/api/assistants/${s.assistantId}`, { token: await member(), body: { name: "Renamed at once" } }),
    identical: async (s, answers) => {
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
      const vapi = (await sandbox().vapiAssistants()).find((a) => a.id === s.vapiAssistantId);
      expect(vapi?.name).toBe("Renamed at once");
    },
    afterDelete: [200, 404],
  },
  {
    name: "DELETE /api/assistants/{id}",
    send: async (s) => call("DELETE", `/api/assistants/${s.assistantId}`, { token: await member() }),
    identical: async (s, answers) => {
      expect(counted(answers.map((a) => a.status))).toEqual({ 204: 1, 404: answers.length - 1 });
      for (const a of answers.filter((a) => a.status === 404)) expect(a.body.error.code).toBe("not_found");
      expect((await events(s.numberId)).filter((e) => e.event === "unassigned")).toHaveLength(1);
    },
    afterDelete: [204, 404],
  },
  {
    name: "PUT /api/assistants/{id}/emergency-contact",
    send: async (s) =>
      call("PUT", `/api/assistants/${s.assistantId}/emergency-contact`, {
        token: await member(),
        body: { name: "Dana", phone: "+15125550100" },
      }),
    identical: async (s, answers) => {
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
      const row = await env.DB.prepare("SELECT emergency_contact_phone FROM assistants WHERE id = ?")
        .bind(s.assistantId)
        .first<{ emergency_contact_phone: string }>();
      expect(row!.emergency_contact_phone).toBe("+15125550100");
    },
    afterDelete: [200, 404],
  },
  {
    name: "DELETE /api/assistants/{id}/emergency-contact",
    send: async (s) => call("DELETE", `/api/assistants/${s.assistantId}/emergency-contact`, { token: await member() }),
    identical: async (_s, answers) => {
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 204));
    },
    afterDelete: [204, 404],
  },
  {
    name: "POST /api/assistants/{id}/phone",
    prepare: withoutUsableNumber,
    send: async (s) => call("POST", `/api/assistants/${s.assistantId}/phone`, { token: await member(), body: {} }),
    identical: async (s, answers) => {
      expect(counted(answers.map((a) => a.status))).toEqual({ 200: 1, 409: answers.length - 1 });
      for (const a of answers.filter((a) => a.status === 409))
        expect(["already_has_number", "assignment_in_progress"]).toContain(a.body.error.code);
      const numbers = await env.DB.prepare("SELECT id FROM phone_numbers WHERE assistant_id = ?").bind(s.assistantId).all();
      expect(numbers.results).toHaveLength(1);
    },
    afterDelete: [200, 404, 409],
  },
];

beforeEach(async () => {
  await resetAll();
});

describe("N identical requests at once on one assistant", () => {
  it.each(ASSISTANT_ROUTES.map((r) => [r.name, r] as const))("%s ×5: one effect, honest answers, invariants hold", async (_name, route) => {
    const s = await scene();
    await route.prepare?.(s);
    const answers = await atOnce(Array.from({ length: 5 }, () => () => route.send(s)));
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBeLessThan(500);
    await route.identical(s, answers);
    await expectInvariants();
  });
});

describe("a change racing the assistant's deletion", () => {
  it.each(ASSISTANT_ROUTES.filter((r) => !r.name.startsWith("DELETE /api/assistants/{id}")).map((r) => [r.name, r] as const))(
    "%s racing DELETE: the delete wins with 204, the change gets what it may (never a 5xx), nothing is left half-done",
    async (_name, route) => {
      const s = await scene();
      await route.prepare?.(s);
      const [change, removal] = await atOnce([
        () => route.send(s),
        async () => call("DELETE", `/api/assistants/${s.assistantId}`, { token: await member() }),
      ]);
      expect(removal!.status, JSON.stringify(removal!.body)).toBe(204);
      expect(route.afterDelete, JSON.stringify(change)).toContain(change!.status);
      expect((await sandbox().vapiAssistants()).some((a) => a.id === s.vapiAssistantId)).toBe(false);
      await expectInvariants();
    },
  );

  it("generated: any assistant route, 2–6 copies, and a delete started at any position (40 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ASSISTANT_ROUTES), fc.integer({ min: 2, max: 6 }), fc.nat(), async (route, copies, at) => {
        await resetAll();
        const s = await scene();
        await route.prepare?.(s);
        const requests = Array.from({ length: copies }, () => () => route.send(s));
        const deleteAt = at % (copies + 1);
        requests.splice(deleteAt, 0, async () => call("DELETE", `/api/assistants/${s.assistantId}`, { token: await member() }));
        const answers = await atOnce(requests);
        for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBeLessThan(500);
        const deletes = answers.filter((_a, i) => i === deleteAt || route.name === "DELETE /api/assistants/{id}");
        expect(deletes.filter((a) => a.status === 204)).toHaveLength(1);
        expect(await env.DB.prepare("SELECT state FROM assistants WHERE id = ?").bind(s.assistantId).first("state")).toBe("deleted");
        const unassigned = (await events()).filter((e) => e.event === "unassigned" && e.assistant_id === s.assistantId);
        expect(unassigned.length).toBeLessThanOrEqual(route.name === "POST /api/assistants/{id}/phone" ? 2 : 1);
        await expectInvariants();
      }),
      { numRuns: 40, seed: 20261203 },
    );
  });
});

describe("N identical requests at once on the organisation and the pool", () => {
  it("POST /api/assistants with one Idempotency-Key ×5: one assistant, one number, the others told to retry or given it", async () => {
    await seedNumbers(2);
    const key = crypto.randomUUID();
    const answers = await atOnce(
      Array.from(
        { length: 5 },
        () => async () =>
          call("POST", "/api/assistants", {
            token: await member(),
            headers: { "Idempotency-Key": key },
            body: { business_data: { business_name: "Once Co", timezone: "America/Chicago" } },
          }),
      ),
    );
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBeLessThan(500);
    const ids = new Set(answers.filter((a) => a.status === 201).map((a) => a.body.id));
    expect(ids.size).toBe(1);
    for (const a of answers.filter((a) => a.status === 409)) expect(a.body.error.code).toBe("idempotency_request_in_progress");
    expect(await env.DB.prepare("SELECT count(*) AS n FROM assistants WHERE org_id = ?").bind(ORG).first("n")).toBe(1);
    await expectInvariants();
  });

  it("POST /api/assistants without a key ×6 over a pool of 3: six assistants, six different numbers", async () => {
    await seedNumbers(3);
    const answers = await atOnce(
      Array.from(
        { length: 6 },
        () => async () =>
          call("POST", "/api/assistants", {
            token: await member(),
            body: { business_data: { business_name: "Many Co", timezone: "America/Chicago" } },
          }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));
    expect(new Set(answers.map((a) => a.body.phone_number_id)).size).toBe(6);
    expect(answers.filter((a) => a.body.phone_source === "pool")).toHaveLength(3);
    await expectInvariants();
  });

  it("PUT /api/organization/twilio ×4: one credential, the same answer each time", async () => {
    const answers = await atOnce(
      Array.from(
        { length: 4 },
        () => async () =>
          call("PUT", "/api/organization/twilio", {
            token: await owner(),
            body: { account_sid: `AC${"0".repeat(32)}`, auth_token: "sandbox-twilio-auth-token" },
          }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(await env.DB.prepare("SELECT count(*) AS n FROM organizations WHERE id = ?").bind(ORG).first("n")).toBe(1);
    await expectInvariants();
  });

  it("DELETE /api/organization/twilio ×4: the credential is removed once, every answer says it is gone", async () => {
    await configureTwilio(ORG, {});
    const answers = await atOnce(
      Array.from({ length: 4 }, () => async () => call("DELETE", "/api/organization/twilio", { token: await owner() })),
    );
    for (const a of answers) expect([204, 404]).toContain(a.status);
    expect(answers.filter((a) => a.status === 204).length).toBeGreaterThanOrEqual(1);
    await expectInvariants();
  });

  it("POST /api/calendar/disconnect ×4: every answer says disconnected", async () => {
    const answers = await atOnce(
      Array.from({ length: 4 }, () => async () => call("POST", "/api/calendar/disconnect", { token: await owner() })),
    );
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBeLessThan(500);
    expect(new Set(answers.map((a) => a.status)).size).toBe(1);
  });

  it("POST /api/admin/phone-pool/pre-provision ×4 asking 4 each: never over the free limit of 10", async () => {
    const answers = await atOnce(
      Array.from(
        { length: 4 },
        () => async () => call("POST", "/api/admin/phone-pool/pre-provision", { token: await adminToken(), body: { count: 4 } }),
      ),
    );
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBeLessThan(500);
    const made = answers.reduce((n, a) => n + (a.body?.created ?? 0), 0);
    expect(made).toBe(10);
    await expectInvariants();
  });

  it("POST /api/admin/phone-pool/cleanup?dry_run=false ×3: each old number released once, one event each", async () => {
    const old = await seedNumbers(3, { unassignedAt: new Date(Date.now() - 40 * DAY_MS).toISOString() });
    const answers = await atOnce(
      Array.from(
        { length: 3 },
        () => async () => call("POST", "/api/admin/phone-pool/cleanup?dry_run=false", { token: await adminToken() }),
      ),
    );
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBeLessThan(500);
    for (const n of old) expect((await events(n.id)).filter((e) => e.event === "released")).toHaveLength(1);
    await expectInvariants();
  });

  it("POST /api/admin/phone-numbers/{id}/refresh ×4 on a provisioning number that went live: activated once", async () => {
    await seedNumbers(0);
    const assistant = await created(ORG);
    expect(assistant.phone_status).toBe("provisioning");
    const row = await env.DB.prepare("SELECT vapi_phone_number_id FROM phone_numbers WHERE id = ?")
      .bind(assistant.phone_number_id)
      .first<{ vapi_phone_number_id: string }>();
    await sandbox().setVapiPhoneNumberStatus(row!.vapi_phone_number_id, "active");
    const answers = await atOnce(
      Array.from(
        { length: 4 },
        () => async () => call("POST", `/api/admin/phone-numbers/${assistant.phone_number_id}/refresh`, { token: await adminToken() }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect((await events(assistant.phone_number_id)).filter((e) => e.event === "provisioned")).toHaveLength(1);
    await expectInvariants();
  });

  it("PATCH /api/admin/phone-numbers/{id} ×4 with the same digits: repaired once, one event", async () => {
    const number = await seedNumber();
    await env.DB.prepare("UPDATE phone_numbers SET status = 'stuck', number = NULL WHERE id = ?").bind(number.id).run();
    const answers = await atOnce(
      Array.from(
        { length: 4 },
        () => async () =>
          call("PATCH", `/api/admin/phone-numbers/${number.id}`, { token: await adminToken(), body: { number: number.number } }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(answers.filter((a) => a.body.changed)).toHaveLength(1);
    expect((await events(number.id)).length).toBe(1);
    await expectInvariants();
  });
});

describe("a create whose row another request activated meanwhile", () => {
  it("neither overwrites that row nor deletes it while compensating", async () => {
    await seedNumbers(1);
    const id = crypto.randomUUID();
    const base = serviceDeps();
    // While Vapi makes this create's assistant, another request finishes the same row (as a retry of the same
    // Idempotency-Key could, were the guards gone): it is active with its own Vapi assistant.
    const vapi = new Proxy(base.vapi, {
      get(target, prop, receiver) {
        if (prop !== "createAssistant") return Reflect.get(target, prop, receiver);
        return async (config: Parameters<typeof target.createAssistant>[0]) => {
          const made = await target.createAssistant(config);
          await env.DB.prepare("UPDATE assistants SET state = 'active', vapi_assistant_id = 'vapi-other-request' WHERE id = ?")
            .bind(id)
            .run();
          return made;
        };
      },
    });
    const attempt = createAssistant(
      { ...base, vapi },
      ORG,
      { business_data: { business_name: "Raced Co", timezone: "America/Chicago" } as never, languages: ["en"] },
      { id },
    );
    await expect(attempt).rejects.toMatchObject({ status: 503, code: "storage_unavailable" });
    const row = await env.DB.prepare("SELECT state, vapi_assistant_id FROM assistants WHERE id = ?").bind(id).first();
    expect(row).toEqual({ state: "active", vapi_assistant_id: "vapi-other-request" });
    // What this create made is undone: its own Vapi assistant is gone.
    expect((await sandbox().vapiAssistants()).filter((a) => a.metadata?.switchboardAssistantId === id).map((a) => a.id)).toEqual([]);
  });
});
