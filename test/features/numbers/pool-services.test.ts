import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import { createAssistant, deleteAssistant } from "../../../src/features/assistants/assistants";
import { preProvision } from "../../../src/features/numbers/pre-provision";
import { ApiError } from "../../../src/platform/errors";
import { sampleBusiness, sandbox } from "../../helpers/api";
import { failingBatches, serviceDeps } from "../../helpers/deps";
import { checkPoolInvariants, getPoolStats, listUnassigned, numberRows, resetState, seedNumber, seedNumbers } from "../../helpers/pool";

const input = { business_data: sampleBusiness, languages: ["en" as const] };

beforeEach(resetState);

describe("when D1 fails after Vapi made the number", () => {
  it("deletes the new number and the assistant in Vapi and keeps nothing in D1", async () => {
    const deps = serviceDeps();
    const db = failingBatches(deps.db, [2]);
    await expect(createAssistant({ ...deps, db }, "org-a", input)).rejects.toMatchObject({ status: 503, code: "storage_unavailable" });
    expect(await sandbox().vapiPhoneNumbers()).toHaveLength(0);
    expect(await sandbox().vapiAssistants()).toHaveLength(0);
    expect(await numberRows()).toHaveLength(0);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM assistants").first<{ n: number }>())!.n).toBe(0);
  });

  it("gives a reused number back to the pool, detached in Vapi", async () => {
    const seeded = await seedNumber();
    const deps = serviceDeps();
    const db = failingBatches(deps.db, [2]);
    await expect(createAssistant({ ...deps, db }, "org-a", input)).rejects.toBeInstanceOf(ApiError);
    const [row] = await numberRows();
    expect(row).toMatchObject({ id: seeded.id, status: "active", assistant_id: null });
    const inVapi = (await sandbox().vapiPhoneNumbers()).find((n) => n.id === seeded.vapiId)!;
    expect(inVapi.assistantId).toBeUndefined();
    expect(await sandbox().vapiAssistants()).toHaveLength(0);
    await checkPoolInvariants();
  });
});

describe("pool service API", () => {
  it("getPoolStats counts every number once and measures free numbers against the limit", async () => {
    const deps = serviceDeps();
    await seedNumbers(3);
    await createAssistant(deps, "org-a", input); // reuses one
    await seedNumber({ orgId: "org-a", source: "twilio_imported" });
    const stuck = await seedNumber();
    await env.DB.prepare("UPDATE phone_numbers SET status = 'stuck' WHERE id = ?").bind(stuck.id).run();
    const stats = await getPoolStats(deps.db, 10);
    expect(stats).toEqual({
      total: 5,
      limit: 10,
      assigned: 1,
      unassigned: 3,
      provisioning: 0,
      stuck: 1,
      free_numbers: 4,
      free_numbers_outside: 0,
      percent_used: 40,
      by_provider: { vapi: 4, twilio: 1 },
      by_origin: { made_here: 4, adopted: 0, org_twilio: 1 },
    });
    expect(stats.assigned + stats.unassigned + stats.provisioning + stats.stuck).toBe(stats.total);
  });

  it("listUnassigned lists active numbers without an assistant, longest waiting first", async () => {
    const newer = await seedNumber({ unassignedAt: "2026-05-01T00:00:00.000Z", areaCode: "212" });
    const older = await seedNumber({ unassignedAt: "2026-01-01T00:00:00.000Z" });
    const list = await listUnassigned(serviceDeps().db);
    expect(list.map((n) => n.id)).toEqual([older.id, newer.id]);
    expect(list[1]).toMatchObject({
      number: newer.number,
      area_code: "212",
      provider: "vapi",
      org_id: null,
      since: "2026-05-01T00:00:00.000Z",
    });
  });

  it("preProvision creates unassigned numbers up to the limit and says why it stopped", async () => {
    await seedNumbers(8);
    const result = await preProvision(serviceDeps(), 5, "303");
    expect(result).toMatchObject({ requested: 5, created: 2, stopped_because: "limit_reached" });
    expect(result.message).toMatch(/limit of 10/);
    const rows = (await numberRows()).filter((n) => result.phone_number_ids.includes(n.id));
    expect(rows.every((n) => n.status === "provisioning" && n.assistant_id === null && n.vapi_phone_number_id)).toBe(true);
    expect((await sandbox().vapiPhoneNumbers()).length).toBe(10);
  });

  it("preProvision stops when Vapi refuses", async () => {
    await sandbox().injectFault({ service: "vapi", method: "POST", pathPrefix: "/phone-number", count: 1, kind: "status", status: 400 });
    const result = await preProvision(serviceDeps(), 3, null);
    expect(result).toMatchObject({ created: 0, stopped_because: "vapi_refused" });
    expect(await numberRows()).toHaveLength(0);
  });
});

describe("property: random create/delete sequences keep the pool's invariants", () => {
  it("holds for any sequence", async () => {
    const command = fc.oneof(
      fc.record({
        op: fc.constant("create" as const),
        org: fc.constantFrom("org-a", "org-b"),
        areaCode: fc.constantFrom(null, "415", "512"),
      }),
      fc.record({ op: fc.constant("delete" as const), pick: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 4 }), fc.array(command, { minLength: 1, maxLength: 16 }), async (seed, commands) => {
        await resetState();
        await seedNumbers(seed);
        const deps = serviceDeps({ settings: { ...serviceDeps().settings, VAPI_FREE_NUMBER_LIMIT: 6 } });
        const live: { org: string; id: string }[] = [];
        for (const c of commands) {
          if (c.op === "create") {
            try {
              const a = await createAssistant(deps, c.org, { ...input, ...(c.areaCode ? { area_code: c.areaCode } : {}) });
              live.push({ org: c.org, id: a.id });
            } catch (error) {
              if (!(error instanceof ApiError && error.code === "pool_exhausted")) throw error;
            }
          } else if (live.length > 0) {
            const [victim] = live.splice(c.pick % live.length, 1);
            await deleteAssistant(deps, victim!.org, victim!.id);
          }
          await checkPoolInvariants(6);
          const stats = await getPoolStats(deps.db, 6);
          expect(stats.assigned + stats.unassigned + stats.provisioning + stats.stuck).toBe(stats.total);
          expect(stats.assigned + stats.provisioning).toBeGreaterThanOrEqual(0);
        }
        // Every live assistant holds exactly one number; deleted ones hold none.
        const held = await env.DB.prepare("SELECT count(*) AS n FROM phone_numbers WHERE assistant_id IS NOT NULL").first<{ n: number }>();
        expect(held!.n).toBe(live.length);
        // The simulated Vapi account holds exactly the numbers of the record.
        expect((await sandbox().vapiPhoneNumbers()).length).toBe((await numberRows()).length);
      }),
      { numRuns: 25, seed: 20261126 },
    );
  });
});
