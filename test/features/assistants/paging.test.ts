import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { createDb } from "../../../src/db/client";
import { assistantPageQuery } from "../../../src/features/assistants/assistants";
import { json, sampleBusiness } from "../../helpers/api";
import { asOrg, expectError, newOrg } from "../../helpers/assertions";
import { resetState } from "../../helpers/pool";

beforeEach(resetState);

interface SeededAssistant {
  id: string;
  createdAt: string;
  state?: string;
  org?: string;
}

/** Writes assistant rows straight into D1 (in the shape a create leaves them), many per batch. */
async function seedAssistants(org: string, rows: SeededAssistant[]): Promise<void> {
  const insert = env.DB.prepare(
    "INSERT INTO assistants (id, org_id, name, business_data, languages, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const business = JSON.stringify(sampleBusiness);
  for (let i = 0; i < rows.length; i += 100) {
    await env.DB.batch(
      rows
        .slice(i, i + 100)
        .map((r) =>
          insert.bind(r.id, r.org ?? org, `Assistant ${r.id}`, business, '["en"]', r.state ?? "active", r.createdAt, r.createdAt),
        ),
    );
  }
}

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();
const ids = (page: { assistants: { id: string }[] }) => page.assistants.map((a) => a.id);

/** Follows next_cursor from the first page to the last; every page must cost one D1 round trip. */
async function allPages(org: string, limit: number) {
  const pages: { assistants: { id: string }[]; next_cursor: string | null }[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `limit=${limit}&cursor=${encodeURIComponent(cursor)}` : `limit=${limit}`;
    const response = await asOrg(org)("GET", `/api/assistants?${query}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("X-D1-Round-Trips")).toBe("1");
    const page = await json(response);
    pages.push(page);
    cursor = page.next_cursor;
  } while (cursor && pages.length < 100);
  return pages;
}

describe("paging the assistant list", () => {
  it("pages newest first by created_at then id, every assistant once, one round trip a page, null cursor on the last", async () => {
    const org = newOrg();
    // Three made in the same millisecond: only the id orders them, and a page boundary falls among them.
    await seedAssistants(org, [
      { id: "a-1", createdAt: at(1) },
      { id: "a-2", createdAt: at(2) },
      { id: "a-3b", createdAt: at(3) },
      { id: "a-3c", createdAt: at(3) },
      { id: "a-3a", createdAt: at(3) },
      { id: "a-4", createdAt: at(4) },
      { id: "a-5", createdAt: at(5) },
      { id: "a-gone", createdAt: at(6), state: "deleted" },
      { id: "a-other", createdAt: at(7), org: newOrg() },
    ]);
    const expected = ["a-5", "a-4", "a-3c", "a-3b", "a-3a", "a-2", "a-1"];

    const whole = await json(await asOrg(org)("GET", "/api/assistants"));
    expect(ids(whole)).toEqual(expected);
    expect(whole.next_cursor).toBeNull();

    const pages = await allPages(org, 3);
    expect(pages.map(ids)).toEqual([expected.slice(0, 3), expected.slice(3, 6), expected.slice(6)]);
    expect(pages.map((p) => p.next_cursor === null)).toEqual([false, false, true]);
    // The alias pages the same.
    const cursor = encodeURIComponent(pages[0]!.next_cursor!);
    expect(await json(await asOrg(org)("GET", `/api/assistants/list?limit=3&cursor=${cursor}`))).toEqual(pages[1]);
  });

  it("a page boundary holds while assistants are created: the next page continues where the last one ended", async () => {
    const org = newOrg();
    await seedAssistants(
      org,
      [1, 2, 3, 4].map((s) => ({ id: `a-${s}`, createdAt: at(s) })),
    );
    const first = await json(await asOrg(org)("GET", "/api/assistants?limit=2"));
    expect(ids(first)).toEqual(["a-4", "a-3"]);
    await seedAssistants(org, [{ id: "a-new", createdAt: at(10) }]);
    const second = await json(await asOrg(org)("GET", `/api/assistants?limit=2&cursor=${encodeURIComponent(first.next_cursor)}`));
    expect(ids(second)).toEqual(["a-2", "a-1"]);
    expect(second.next_cursor).toBeNull();
  });

  it("answers up to 500 by default, so callers that never page see no change below that", async () => {
    const org = newOrg();
    await seedAssistants(
      org,
      Array.from({ length: 501 }, (_, i) => ({ id: `a-${String(i).padStart(4, "0")}`, createdAt: at(i) })),
    );
    const response = await asOrg(org)("GET", "/api/assistants");
    expect(response.headers.get("X-D1-Round-Trips")).toBe("1");
    const first = await json(response);
    expect(first.assistants).toHaveLength(500);
    expect(first.assistants[0].id).toBe("a-0500");
    const rest = await json(await asOrg(org)("GET", `/api/assistants?cursor=${encodeURIComponent(first.next_cursor)}`));
    expect(ids(rest)).toEqual(["a-0000"]);
    expect(rest.next_cursor).toBeNull();
  });

  it("refuses a bad limit or cursor with 400 in the error shape, naming the parameter", async () => {
    const org = newOrg();
    for (const query of ["limit=0", "limit=501", "limit=abc", "limit=2.5", "limit="]) {
      for (const path of ["/api/assistants", "/api/assistants/list"]) {
        const error = await expectError(await asOrg(org)("GET", `${path}?${query}`), 400, "invalid_request");
        expect(error.details).toEqual([{ path: "limit", code: expect.any(String), message: "must be a whole number from 1 to 500" }]);
      }
    }
    const history = btoa("ev1:12");
    for (const cursor of [
      "nonsense",
      btoa("as1:yesterday|a-1"),
      btoa("as1:2026-01-01T00:00:00.000Z|"),
      history,
      "%FF%FE",
      "x".repeat(301),
    ]) {
      const error = await expectError(
        await asOrg(org)("GET", `/api/assistants?cursor=${encodeURIComponent(cursor)}`),
        400,
        "invalid_request",
      );
      expect(error.details).toEqual([expect.objectContaining({ path: "cursor" })]);
    }
  });

  it("the page query searches assistants_org_state_created and scans no table", async () => {
    const db = createDb(env.DB);
    for (const after of [undefined, { createdAt: at(3), id: "a-3" }]) {
      const { sql, params } = assistantPageQuery(db, "org-plan", 50, after).toSQL();
      const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .bind(...params)
        .all<{ detail: string }>();
      const plan = results.map((r) => r.detail);
      const range = after ? " AND created_at<\\?" : "";
      expect(plan, plan.join("\n")).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            new RegExp(`^SEARCH assistants USING INDEX assistants_org_state_created \\(org_id=\\? AND state=\\?${range}\\)`),
          ),
          expect.stringMatching(/^SEARCH phone_numbers USING INDEX phone_numbers_assistant/),
        ]),
      );
      expect(plan.filter((line) => line.startsWith("SCAN"))).toEqual([]);
    }
  });
});
