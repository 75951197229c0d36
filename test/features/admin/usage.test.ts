import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { call, json, sandbox, token } from "../../helpers/api";
import { createAssistantFor, expectError, newOrg } from "../../helpers/assertions";
import { adminToken, DAY_MS, opsDeps, runCron } from "../../helpers/operations";
import { resetState } from "../../helpers/pool";

const HOUR = 3_600_000;
/** Day 0 of the story, midnight UTC; in the future, so the trackers' alarms (real time) never fire meanwhile. */
const DAY0 = Date.UTC(2031, 0, 6);
const date = (day: number) => new Date(DAY0 + day * DAY_MS).toISOString().slice(0, 10);

/** The worker's clock (tokens, stamps, the routes' Date.now()) reads `day` days and `hours` hours after DAY0. */
function at(day: number, hours: number) {
  vi.setSystemTime(DAY0 + day * DAY_MS + hours * HOUR);
}

const asAdmin = async (method: string, path: string, body?: unknown) => call(method, path, { token: await adminToken(), body });

async function vapiIdOf(numberId: string) {
  const row = await env.DB.prepare("SELECT vapi_phone_number_id AS v FROM phone_numbers WHERE id = ?")
    .bind(numberId)
    .first<{ v: string }>();
  return row!.v;
}

/** Vapi shows the number live; the operator's refresh records it ("provisioned"). */
async function activate(numberId: string) {
  await sandbox().setVapiPhoneNumberStatus(await vapiIdOf(numberId), "active");
  const res = await asAdmin("POST", `/api/admin/phone-numbers/${numberId}/refresh`);
  expect(res.status, await res.clone().text()).toBe(200);
}

type Figures = { assigned: number; unassigned: number; provisioning: number; stuck: number; free_numbers: number };
const none: Figures = { assigned: 0, unassigned: 0, provisioning: 0, stuck: 0, free_numbers: 0 };

beforeEach(async () => {
  await resetState();
  vi.useFakeTimers({ toFake: ["Date"] });
});
afterEach(() => vi.useRealTimers());

describe("GET /api/admin/phone-pool/usage", () => {
  it("reconstructs each day's pool from the history: provisioning, activation, stuck, reuse, deletion, a vanished number, cleanup", async () => {
    at(0, 10); // three free numbers made ahead of demand: A, B, C
    const made = await json(await asAdmin("POST", "/api/admin/phone-pool/pre-provision", { count: 3 }));
    expect(made.created).toBe(3);
    const [a, b, c] = made.phone_number_ids as string[];

    at(1, 9); // A and B go live; C does not
    await activate(a!);
    await activate(b!);

    at(2, 12); // the sweep finds C past its deadline: stuck
    await runCron("*/5 * * * *", Date.now());
    expect((await env.DB.prepare("SELECT status FROM phone_numbers WHERE id = ?").bind(c).first())!.status).toBe("stuck");

    at(3, 8); // two assistants take A and B from the pool
    const org = newOrg();
    const x = await createAssistantFor(org);
    const y = await createAssistantFor(org);
    expect([x.phone_number_id, y.phone_number_id]).toEqual([a, b]);
    at(3, 15); // the pool is empty: the third gets a new number, provisioning
    const z = await createAssistantFor(org);
    expect(z.phone_source).toBe("new");
    const n = z.phone_number_id as string;

    at(4, 10); // C turns out live after all (from stuck), and so does Z's number
    await activate(c!);
    await activate(n);

    at(5, 11); // X is deleted: A returns to the pool
    expect((await call("DELETE", `/api/assistants/${x.id}`, { token: await token({ org }) })).status).toBe(204);

    at(6, 3); // Z's number vanished from Vapi: the daily reconciliation releases it
    await (await opsDeps()).vapi.deletePhoneNumber(await vapiIdOf(n));
    await runCron("17 3 * * *", Date.now());
    expect((await env.DB.prepare("SELECT status FROM phone_numbers WHERE id = ?").bind(n).first())!.status).toBe("released");

    at(36, 3); // A (idle since day 5) and C (since day 0) are unused for 30 days: the daily cleanup releases them
    await runCron("17 3 * * *", Date.now());
    const released = await env.DB.prepare("SELECT id FROM phone_numbers WHERE status = 'released' ORDER BY id").all<{ id: string }>();
    expect(released.results.map((r) => r.id).sort()).toEqual([a, c, n].sort());

    at(37, 12);
    const res = await asAdmin("GET", "/api/admin/phone-pool/usage?days=40");
    const usage = await json(res);
    expect(res.status, JSON.stringify(usage)).toBe(200);
    expect(res.headers.get("X-D1-Round-Trips")).toBe("1");
    expect(usage).toMatchObject({ days: 40, as_of: new Date(Date.now()).toISOString(), limit: 10, free_numbers_outside: 0 });

    const expected = (day: number): Figures => {
      if (day < 0) return none;
      if (day === 0) return { ...none, provisioning: 3, free_numbers: 3 };
      if (day === 1) return { ...none, unassigned: 2, provisioning: 1, free_numbers: 3 };
      if (day === 2) return { ...none, unassigned: 2, stuck: 1, free_numbers: 3 };
      if (day === 3) return { ...none, assigned: 2, provisioning: 1, stuck: 1, free_numbers: 4 };
      if (day === 4) return { ...none, assigned: 3, unassigned: 1, free_numbers: 4 };
      if (day === 5) return { ...none, assigned: 2, unassigned: 2, free_numbers: 4 };
      if (day < 36) return { ...none, assigned: 1, unassigned: 2, free_numbers: 3 };
      return { ...none, assigned: 1, free_numbers: 1 };
    };
    expect(usage.series).toEqual(Array.from({ length: 40 }, (_, i) => ({ date: date(i - 2), ...expected(i - 2) })));

    // Today's figures are the overview's.
    const { stats } = await json(await asAdmin("GET", "/api/admin/phone-pool"));
    const { date: today, ...figures } = usage.series.at(-1);
    expect(today).toBe(date(37));
    expect(figures).toEqual({
      assigned: stats.assigned,
      unassigned: stats.unassigned,
      provisioning: stats.provisioning,
      stuck: stats.stuck,
      free_numbers: stats.free_numbers,
    });

    // 30 days unless asked; one day is today alone.
    const month = await json(await asAdmin("GET", "/api/admin/phone-pool/usage"));
    expect(month.series).toEqual(usage.series.slice(10));
    const day = await json(await asAdmin("GET", "/api/admin/phone-pool/usage?days=1"));
    expect(day.series).toEqual([usage.series.at(-1)]);
  });

  it("counts free numbers made outside Switchboard (as counted now) on every day, and the limit as set", async () => {
    at(0, 10);
    await asAdmin("POST", "/api/admin/phone-pool/pre-provision", { count: 1 });
    const now = new Date().toISOString();
    await env.DB.prepare("INSERT INTO vapi_account (id, outside_free_numbers, updated_at) VALUES ('vapi', 2, ?)").bind(now).run();
    at(1, 10);
    const usage = await json(await asAdmin("GET", "/api/admin/phone-pool/usage?days=3"));
    expect(usage).toMatchObject({ limit: 10, free_numbers_outside: 2 });
    expect(usage.series.map((d: Figures & { date: string }) => [d.date, d.provisioning, d.free_numbers])).toEqual([
      [date(-1), 0, 2],
      [date(0), 1, 3],
      [date(1), 1, 3],
    ]);
  });

  it("takes `days` from 1 to 90 and says so otherwise (400)", async () => {
    at(0, 10);
    for (const days of ["0", "91", "abc", "2.5", "", "-1"]) {
      const error = await expectError(await asAdmin("GET", `/api/admin/phone-pool/usage?days=${days}`), 400, "invalid_request");
      expect(error.details).toEqual([{ path: "days", code: expect.any(String), message: "must be a whole number from 1 to 90" }]);
    }
    expect((await json(await asAdmin("GET", "/api/admin/phone-pool/usage?days=90"))).series).toHaveLength(90);
    await expectError(await call("GET", "/api/admin/phone-pool/usage", { token: await token({ role: "owner" }) }), 403, "forbidden");
  });

  it("is in the OpenAPI document with its schema and an example", async () => {
    const doc = await json(await call("GET", "/openapi.json", { token: null }));
    const get = doc.paths["/api/admin/phone-pool/usage"].get;
    expect(get.parameters).toEqual([expect.objectContaining({ name: "days", in: "query" })]);
    expect(Object.keys(get.responses).sort()).toEqual(["200", "400", "401", "403"]);
    expect(get.responses[200].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/PoolUsage" });
    const schema = doc.components.schemas.PoolUsage;
    expect(schema.example.series[0]).toMatchObject({ date: "2026-11-25", free_numbers: 7 });
    expect(Object.keys(schema.properties.series.items.properties)).toEqual([
      "date",
      "assigned",
      "unassigned",
      "provisioning",
      "stuck",
      "free_numbers",
    ]);
  });
});
