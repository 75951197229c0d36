import { beforeEach, describe, expect, it } from "vitest";
import { call, json } from "../../helpers/api";
import { adminToken } from "../../helpers/operations";
import { resetState, seedNumber } from "../../helpers/pool";

const get = async (path: string) => call("GET", path, { token: await adminToken() });

beforeEach(resetState);

describe("the overview lists the oldest numbers; the paged list has them all", () => {
  it("answers the oldest list_limit unassigned numbers with the totals, and pages through every one in order", async () => {
    const seeded = [];
    for (let day = 1; day <= 7; day++) seeded.push(await seedNumber({ unassignedAt: `2026-0${Math.min(day, 9)}-01T00:00:00.000Z` }));
    const oldestFirst = seeded.map((s) => s.id);

    const overview = await json(await get("/api/admin/phone-pool?list_limit=3"));
    expect(overview.unassigned.map((n: any) => n.id)).toEqual(oldestFirst.slice(0, 3));
    expect(overview.lists).toEqual({ limit: 3, unassigned_total: 7, provisioning_total: 0 });
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

  it("refuses a bad list_limit, limit or cursor with 400 naming it", async () => {
    for (const path of [
      "/api/admin/phone-pool?list_limit=0",
      "/api/admin/phone-pool?list_limit=501",
      "/api/admin/phone-pool/unassigned?limit=abc",
      "/api/admin/phone-pool/unassigned?cursor=not-a-cursor",
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect((await json(res)).error.code).toBe("invalid_request");
    }
  });
});
