import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { call, json } from "../../helpers/api";
import { adminToken, resetTwilio } from "../../helpers/operations";
import { resetState, seedNumber } from "../../helpers/pool";

const get = async (path: string) => call("GET", path, { token: await adminToken() });

beforeEach(resetState);

describe("the overview lists the oldest numbers and the first organisations with Twilio; the paged lists have them all", () => {
  it("answers the oldest list_limit unassigned numbers with the totals, and pages through every one in order", async () => {
    const seeded = [];
    for (let day = 1; day <= 7; day++) seeded.push(await seedNumber({ unassignedAt: `2026-0${Math.min(day, 9)}-01T00:00:00.000Z` }));
    const oldestFirst = seeded.map((s) => s.id);

    const overview = await json(await get("/api/admin/phone-pool?list_limit=3"));
    expect(overview.unassigned.map((n: any) => n.id)).toEqual(oldestFirst.slice(0, 3));
    expect(overview.lists).toEqual({ limit: 3, unassigned_total: 7, provisioning_total: 0, twilio_organizations_total: 0 });
    expect((await json(await get("/api/admin/phone-pool"))).lists.limit).toBe(100);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await get(`/api/admin/phone-pool/unassigned?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.headers.get("X-D1-Round-Trips")).toBe("1");
      const page = await json(res);
      seen.push(...page.numbers.map((n: any) => n.id));
      expect(page.numbers[0]).toHaveProperty("cleanup_after");
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(oldestFirst);
  });

  it("lists the first list_limit organisations with Twilio, counted; pages through every one by id", async () => {
    await resetTwilio();
    const now = new Date().toISOString();
    // Configured without numbers, numbers in the pool without credentials, a listed number only: all have Twilio.
    const orgs = ["tw-a", "tw-b", "tw-c", "tw-d", "tw-e"];
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO organizations (id, twilio_credentials, twilio_auto_purchase, created_at, updated_at) VALUES ('tw-a', 'enc:v1:x', 0, ?, ?), ('tw-d', 'enc:v1:x', 1, ?, ?)",
      ).bind(now, now, now, now),
      env.DB.prepare(
        `INSERT INTO twilio_numbers (id, org_id, number, origin, state, created_at, updated_at) VALUES
         ('t1', 'tw-c', '+15125550101', 'imported', 'listed', ?, ?), ('t2', 'tw-e', '+15125550102', 'purchased', 'listed', ?, ?)`,
      ).bind(now, now, now, now),
    ]);
    await seedNumber({ orgId: "tw-b", source: "twilio_imported" });
    await seedNumber({ orgId: "tw-b", source: "twilio_imported", assistantId: crypto.randomUUID() });

    const overview = await json(await get("/api/admin/phone-pool?list_limit=2"));
    expect(overview.twilio.organizations.map((o: any) => o.org_id)).toEqual(["tw-a", "tw-b"]);
    expect(overview.twilio.organizations[1]).toMatchObject({
      configured: false,
      numbers_total: 2,
      numbers_assigned: 1,
      numbers_unassigned: 1,
    });
    expect(overview.lists.twilio_organizations_total).toBe(5);
    // Every organisation's purchases count in the total, listed or not.
    expect(overview.twilio.bought_this_month).toBe(1);

    const seen: any[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(`/api/admin/phone-pool/twilio?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.headers.get("X-D1-Round-Trips")).toBe("1");
      const page = await json(res);
      seen.push(...page.organizations);
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen.map((o) => o.org_id)).toEqual(orgs);
    expect(seen.find((o) => o.org_id === "tw-e")).toMatchObject({ numbers_listed: 1, bought_this_month: 1, purchased_held: 1 });
    expect(seen.find((o) => o.org_id === "tw-d")).toMatchObject({ configured: true, auto_purchase: true, numbers_total: 0 });
  });

  it("refuses a bad list_limit, limit or cursor with 400 naming it", async () => {
    for (const path of [
      "/api/admin/phone-pool?list_limit=0",
      "/api/admin/phone-pool?list_limit=501",
      "/api/admin/phone-pool/unassigned?limit=abc",
      "/api/admin/phone-pool/unassigned?cursor=not-a-cursor",
      "/api/admin/phone-pool/twilio?limit=0",
      "/api/admin/phone-pool/twilio?cursor=not-a-cursor",
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect((await json(res)).error.code).toBe("invalid_request");
    }
  });
});
