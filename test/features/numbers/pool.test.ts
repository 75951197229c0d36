import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import { call, json, sampleBusiness, sandbox, token } from "../../helpers/api";
import { checkPoolInvariants, eventsOf, numberRows, resetState, seedNumber, seedNumbers } from "../../helpers/pool";
import { expectError } from "../../helpers/assertions";
import { createDb } from "../../../src/db/client";
import { claimPoolNumber } from "../../../src/features/numbers/pool";

const create = (org = "org-a", extra: Record<string, unknown> = {}) =>
  token({ org }).then((t) => call("POST", "/api/assistants", { token: t, body: { business_data: sampleBusiness, ...extra } }));

const vapiNumber = async (vapiId: string) => (await sandbox().vapiPhoneNumbers()).find((n) => n.id === vapiId)!;

beforeEach(resetState);

describe("reuse first", () => {
  it("gives a new assistant an unassigned number, active at once, with one Vapi PATCH and two D1 round trips", async () => {
    const seeded = await seedNumber();
    const res = await create();
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({
      phone_source: "pool",
      was_reused: true,
      phone_status: "active",
      vapi_phone_number: seeded.number,
      phone_provider: "vapi",
      phone_number_id: seeded.id,
      provisioning: null,
    });
    expect(res.headers.get("X-D1-Round-Trips")).toBe("2");
    // The assistant itself, and the number pointed at it.
    expect(res.headers.get("X-Upstream-Calls")).toBe("2");
    const inVapi = await vapiNumber(seeded.vapiId);
    expect(inVapi.assistantId).toBe(body.vapi_assistant_id);
    expect(inVapi.server).toEqual({ url: "https://switchboard.test/webhooks/vapi", headers: { "X-Vapi-Secret": env.VAPI_WEBHOOK_SECRET } });
    expect((await eventsOf(seeded.id)).map((e) => e.event)).toEqual(["reused"]);
    await checkPoolInvariants();
  });

  it("prefers the organisation's own numbers, then the requested area code, then the one unassigned longest", async () => {
    const old = await seedNumber({ areaCode: "212", unassignedAt: "2026-01-01T00:00:00.000Z" });
    const newer = await seedNumber({ areaCode: "212", unassignedAt: "2026-06-01T00:00:00.000Z" });
    const wantedCode = await seedNumber({ areaCode: "512", unassignedAt: "2026-09-01T00:00:00.000Z" });
    const own = await seedNumber({
      areaCode: "303",
      orgId: "org-own",
      source: "twilio_imported",
      unassignedAt: "2026-10-01T00:00:00.000Z",
    });

    const first = await json(await create("org-own", { area_code: "512" }));
    expect(first.phone_number_id).toBe(own.id);
    expect(first.phone_provider).toBe("twilio");
    const second = await json(await create("org-own", { area_code: "512" }));
    expect(second.phone_number_id).toBe(wantedCode.id);
    const third = await json(await create("org-b"));
    expect(third.phone_number_id).toBe(old.id);
    const fourth = await json(await create("org-b"));
    expect(fourth.phone_number_id).toBe(newer.id);
  });

  it("any pool: the claim takes the number the order puts first (own, area code, longest waiting), one index probe after another", async () => {
    const db = createDb(env.DB);
    const number = fc.record({
      org: fc.constantFrom(null, "org-a", "org-b"),
      areaCode: fc.constantFrom(null, "415", "512"),
      status: fc.constantFrom("active", "active", "active", "provisioning", "released"),
      assigned: fc.constantFrom(false, false, false, true),
      // Never unassigned numbers wait since they were made.
      neverAssigned: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(number, { maxLength: 12 }),
        fc.constantFrom("org-a", "org-b"),
        fc.constantFrom(null, "415", "512"),
        async (pool, org, areaCode) => {
          await resetState();
          const rows = pool.map((n, i) => ({
            ...n,
            id: crypto.randomUUID(),
            since: new Date(Date.UTC(2026, 0, 1 + ((i * 7) % 12), i)).toISOString(),
          }));
          for (const r of rows) {
            await env.DB.prepare(
              `INSERT INTO phone_numbers (id, provider, source, status, org_id, area_code, assistant_id, unassigned_at, created_at, updated_at)
             VALUES (?, 'vapi', 'vapi_free', ?, ?, ?, ?, ?, ?, ?)`,
            )
              .bind(
                r.id,
                r.status,
                r.org,
                r.areaCode,
                r.assigned ? crypto.randomUUID() : null,
                r.neverAssigned ? null : r.since,
                r.neverAssigned ? r.since : "2025-01-01T00:00:00.000Z",
                r.since,
              )
              .run();
          }
          const rank = (r: (typeof rows)[number]) =>
            [r.org === null ? 1 : 0, areaCode !== null && r.areaCode === areaCode ? 0 : 1, r.since].join("|");
          const expected = rows
            .filter((r) => r.status === "active" && !r.assigned && (r.org === null || r.org === org))
            .sort((a, b) => (rank(a) < rank(b) ? -1 : 1))[0];
          const request = {
            assistantId: null,
            orgId: org,
            areaCode,
            reservationId: "unused",
            freeNumberLimit: 10,
            now: "2026-12-01T00:00:00.000Z",
          };
          const claimed = await claimPoolNumber(db, request);
          expect(claimed.map((c) => c.id)).toEqual(expected ? [expected.id] : []);
        },
      ),
      { numRuns: 40, seed: 20261201 },
    );
  });

  it("never gives one organisation's own number to another", async () => {
    await seedNumber({ orgId: "org-own", source: "twilio_imported" });
    const res = await create("org-other");
    const body = await json(res);
    expect(body.phone_source).toBe("new");
    expect((await numberRows()).find((n) => n.org_id === "org-own")?.assistant_id).toBeNull();
  });
});

describe("the list's cost", () => {
  it("lists an organisation's assistants with their numbers in one D1 round trip, whatever their count", async () => {
    await seedNumbers(6);
    for (let i = 0; i < 6; i++) expect((await create("org-list")).status).toBe(201);
    const res = await call("GET", "/api/assistants", { token: await token({ org: "org-list" }) });
    expect((await json(res)).assistants).toHaveLength(6);
    expect(res.headers.get("X-D1-Round-Trips")).toBe("1");
    expect(res.headers.get("X-Upstream-Calls")).toBe("0");
  });
});

describe("new free numbers", () => {
  it("creates a Vapi number in the requested area code when the pool is empty; it starts provisioning", async () => {
    const res = await create("org-a", { area_code: "512" });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({
      phone_source: "new",
      was_reused: false,
      phone_status: "provisioning",
      vapi_phone_number: null,
      phone_provider: "vapi",
    });
    expect(body.provisioning).toMatchObject({ attempts: 0, max_attempts: 40 });
    // One batch decides (row, claim or reservation), one records; Vapi: the assistant and the number.
    expect(res.headers.get("X-D1-Round-Trips")).toBe("2");
    expect(res.headers.get("X-Upstream-Calls")).toBe("2");
    const created = (await sandbox().requests("vapi")).find((r) => r.method === "POST" && r.path === "/phone-number")!;
    expect(created.body).toMatchObject({
      provider: "vapi",
      numberDesiredAreaCode: "512",
      assistantId: body.vapi_assistant_id,
      name: `sb-${body.phone_number_id}`,
      server: { url: "https://switchboard.test/webhooks/vapi" },
    });
    expect((await eventsOf(body.phone_number_id)).map((e) => e.event)).toEqual(["created", "assigned"]);
  });

  it("answers 409 pool_exhausted at the limit, without calling Vapi, and records an alert", async () => {
    await seedNumbers(10, { assistantId: null });
    // Give all ten away.
    for (let i = 0; i < 10; i++) expect((await create()).status).toBe(201);
    await sandbox().clearRequests();
    const res = await create();
    const body = await json(res);
    expect(res.status).toBe(409);
    expect(body.error.code).toBe("pool_exhausted");
    expect(body.error.message).toMatch(/all 10 free Vapi numbers are in use/);
    expect(body.error.message).toMatch(/Twilio/);
    expect(body.error.details).toEqual({ free_number_limit: 10, cause: "limit_reached" });
    expect(await sandbox().requests("vapi")).toHaveLength(0);
    const alert = await env.DB.prepare("SELECT kind, status FROM alerts WHERE kind = 'pool_exhausted'").first();
    expect(alert).toEqual({ kind: "pool_exhausted", status: "open" });
    await checkPoolInvariants();
  });

  it("treats Vapi refusing a free number as the limit: alert, 409, nothing half-made", async () => {
    await sandbox().injectFault({ service: "vapi", method: "POST", pathPrefix: "/phone-number", count: 1, kind: "status", status: 400 });
    const before = (await sandbox().vapiAssistants()).length;
    const res = await create();
    const error = await expectError(res, 409, "pool_exhausted");
    // Switchboard holds none of its 10: the answer blames Vapi's refusal, not a count it never reached.
    expect(error.message).toMatch(/Vapi refused a new free number/);
    expect(error.message).not.toMatch(/in use/);
    expect(error.details).toEqual({ free_number_limit: 10, cause: "vapi_refused" });
    expect(await numberRows()).toHaveLength(0);
    expect((await sandbox().vapiAssistants()).length).toBe(before);
    const alert = await env.DB.prepare("SELECT message FROM alerts WHERE kind = 'vapi_refused_number'").first<{ message: string }>();
    expect(alert?.message).toContain("Injected fault");
    const exhausted = await env.DB.prepare("SELECT message FROM alerts WHERE kind = 'pool_exhausted'").first<{ message: string }>();
    expect(exhausted?.message).toMatch(/Vapi refused a new free number/);
    await checkPoolInvariants();
  });

  it("Vapi having no number in the asked area code is not the limit: 409 naming the area code and what to try, and an alert that says so", async () => {
    const before = (await sandbox().vapiAssistants()).length;
    // The sandbox's Vapi has no numbers left in 999; the account has room for ten free numbers.
    const error = await expectError(await create("org-a", { area_code: "999" }), 409, "area_code_unavailable");
    expect(error.details).toEqual({ area_code: "999" });
    expect(error.message).toContain("area code 999");
    expect(error.message).toMatch(/nearby area code, or leave area_code out/);
    expect(error.message).not.toMatch(/free Vapi numbers are in use/);

    const alerts = (
      await env.DB.prepare("SELECT kind, subject, message FROM alerts ORDER BY id").all<{
        kind: string;
        subject: string;
        message: string;
      }>()
    ).results;
    expect(alerts.map((a) => `${a.kind}:${a.subject}`)).toEqual(["vapi_area_code_unavailable:999"]);
    expect(alerts[0]!.message).toContain("area code 999");
    expect(alerts[0]!.message).toContain("not the free-number limit");
    expect(await numberRows()).toHaveLength(0);
    expect((await sandbox().vapiAssistants()).length).toBe(before);
    await checkPoolInvariants();

    // Any other area code still gets a new free number: nothing was used up.
    expect((await json(await create("org-a", { area_code: "512" }))).phone_source).toBe("new");
  });
});

describe("nothing lost", () => {
  it("50 concurrent creates against 5 unassigned numbers and room for 3 new: 5 reuse, 3 new, 42 get 409", async () => {
    await seedNumbers(5);
    // Two more free numbers, stuck, still hold slots: room for exactly 3 new ones under the limit of 10.
    const stuck = await seedNumbers(2);
    for (const n of stuck) await env.DB.prepare("UPDATE phone_numbers SET status = 'stuck' WHERE id = ?").bind(n.id).run();

    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => create(`org-${i % 7}`)));
    const bodies = await Promise.all(responses.map((r) => json(r)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(8);
    expect(statuses.filter((s) => s === 409)).toHaveLength(42);
    const created = bodies.filter((b) => b.id);
    expect(created.filter((b) => b.phone_source === "pool")).toHaveLength(5);
    expect(created.filter((b) => b.phone_source === "new")).toHaveLength(3);
    expect(new Set(created.map((b) => b.phone_number_id)).size).toBe(8);

    const stats = await env.DB.prepare(
      `SELECT count(*) AS total,
              sum(status = 'active' AND assistant_id IS NOT NULL) AS assigned,
              sum(status = 'active' AND assistant_id IS NULL) AS unassigned,
              sum(status = 'provisioning') AS provisioning,
              sum(status IN ('stuck', 'failed')) AS stuck
       FROM phone_numbers WHERE status != 'released'`,
    ).first<{ total: number; assigned: number; unassigned: number; provisioning: number; stuck: number }>();
    expect(stats!.assigned + stats!.unassigned + stats!.provisioning + stats!.stuck).toBe(stats!.total);
    expect(stats).toMatchObject({ total: 10, assigned: 5, unassigned: 0, provisioning: 3, stuck: 2 });
    // The numbers the simulated Vapi account holds are exactly the pool's.
    expect((await sandbox().vapiPhoneNumbers()).length).toBe(10);
    // Refused requests left no assistant in Vapi.
    expect((await sandbox().vapiAssistants()).length).toBe(8);
    await checkPoolInvariants();
  });

  it("undoes the claim when Vapi fails to re-point the number: it stays in the pool and the caller gets 502", async () => {
    const seeded = await seedNumber();
    await sandbox().injectFault({ service: "vapi", method: "PATCH", pathPrefix: "/phone-number", count: 3, kind: "status", status: 500 });
    const res = await create();
    const body = await json(res);
    expect(res.status).toBe(502);
    expect(body.error.code).toBe("vapi_error");
    const [row] = await numberRows();
    expect(row).toMatchObject({ id: seeded.id, status: "active", assistant_id: null });
    expect(await sandbox().vapiAssistants()).toHaveLength(0);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM assistants").first<{ n: number }>())!.n).toBe(0);
    // The number is still there for the next one.
    const next = await json(await create());
    expect(next.phone_number_id).toBe(seeded.id);
  });

  it("undoes the claim when the PATCH times out", async () => {
    const seeded = await seedNumber();
    await sandbox().injectFault({ service: "vapi", method: "PATCH", pathPrefix: "/phone-number", count: 3, kind: "timeout" });
    const res = await create();
    expect(res.status).toBe(502);
    expect((await numberRows())[0]).toMatchObject({ id: seeded.id, assistant_id: null });
    expect(await sandbox().vapiAssistants()).toHaveLength(0);
    await checkPoolInvariants();
  });

  it("returns the number to the pool when its assistant is deleted, clearing assistantId in Vapi", async () => {
    const seeded = await seedNumber();
    const first = await json(await create());
    const del = await call("DELETE", `/api/assistants/${first.id}`);
    expect(del.status).toBe(204);
    const [row] = await numberRows();
    expect(row!.assistant_id).toBeNull();
    expect(row!.unassigned_at).not.toBeNull();
    expect((await vapiNumber(seeded.vapiId)).assistantId).toBeUndefined();
    expect((await eventsOf(seeded.id)).map((e) => e.event)).toEqual(["reused", "unassigned"]);
    // Nothing was deleted in Vapi but the assistant.
    expect((await sandbox().vapiPhoneNumbers()).length).toBe(1);

    const second = await json(await create());
    expect(second).toMatchObject({ phone_number_id: seeded.id, was_reused: true, phone_status: "active" });
  });

  it("keeps a provisioning number when its assistant is deleted, unassigned, so it joins the pool once live", async () => {
    const created = await json(await create());
    expect(created.phone_status).toBe("provisioning");
    expect((await call("DELETE", `/api/assistants/${created.id}`)).status).toBe(204);
    expect((await call("DELETE", `/api/assistants/${created.id}`)).status).toBe(404);
    const [row] = await numberRows();
    expect(row).toMatchObject({ status: "provisioning", assistant_id: null });
    await checkPoolInvariants();
  });

  it("an Idempotency-Key replay gives the same assistant and number, with one number assigned", async () => {
    await seedNumbers(2);
    const t = await token();
    const send = () =>
      call("POST", "/api/assistants", { token: t, body: { business_data: sampleBusiness }, headers: { "Idempotency-Key": "create-1" } });
    const a = await json(await send());
    const b = await json(await send());
    expect(b).toEqual(a);
    const assigned = (await numberRows()).filter((n) => n.assistant_id);
    expect(assigned).toHaveLength(1);
  });
});

describe("POST /api/assistants/:id/phone", () => {
  it("gives a number to an assistant whose number failed, and refuses one that has a number", async () => {
    const created = await json(await create());
    expect((await call("POST", `/api/assistants/${created.id}/phone`)).status).toBe(409);
    await env.DB.prepare("UPDATE phone_numbers SET status = 'failed' WHERE id = ?").bind(created.phone_number_id).run();
    const seeded = await seedNumber();
    const res = await call("POST", `/api/assistants/${created.id}/phone`, { body: {} });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ phone_number_id: seeded.id, phone_status: "active", phone_source: "pool" });
    await checkPoolInvariants();
  });

  it("is 404 for another organisation's assistant", async () => {
    const created = await json(await create("org-a"));
    const res = await call("POST", `/api/assistants/${created.id}/phone`, { token: await token({ org: "org-b" }) });
    expect(res.status).toBe(404);
  });
});
