import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { token } from "../helpers/api";
import { tableCounts } from "../helpers/api";

const app = createApp();
const limited = { ...env, RATE_LIMITS_ENABLED: "true" };
const send = async (path: string, org: string, init: RequestInit = {}, role = "owner") =>
  app.request(
    `https://switchboard.test${path}`,
    { ...init, headers: { Authorization: `Bearer ${await token({ org, role })}`, ...(init.headers ?? {}) } },
    limited,
  );

describe("rate limits on costly routes", () => {
  it("allows 30 calendar authorizations a minute per organization, then 429 with Retry-After", async () => {
    for (let i = 0; i < 30; i++) expect((await send("/api/calendar/google/auth", "org-rl-1")).status).toBe(200);
    const refused = await send("/api/calendar/google/auth", "org-rl-1");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBe("60");
    expect(await refused.json()).toMatchObject({
      error: { code: "rate_limited", details: { bucket: "calendar_auth", retry_after_seconds: 60 } },
    });
    // Other organizations and other routes have their own budgets.
    expect((await send("/api/calendar/google/auth", "org-rl-2")).status).toBe(200);
    expect((await send("/api/calendar/status", "org-rl-1")).status).toBe(200);
  });

  it("limits creating assistants before anything is validated or written", async () => {
    const before = await tableCounts();
    const body = { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ business_data: {} }) };
    for (let i = 0; i < 30; i++) expect((await send("/api/assistants", "org-rl-3", body, "member")).status).toBe(400);
    const refused = await send("/api/assistants", "org-rl-3", body, "member");
    expect(refused.status).toBe(429);
    expect(await tableCounts()).toEqual(before);
  });

  it("one route's bucket never throttles another limited route of the same organization", async () => {
    const body = { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ business_data: {} }) };
    for (let i = 0; i < 30; i++) expect((await send("/api/assistants", "org-rl-5", body, "member")).status).toBe(400);
    expect((await send("/api/assistants", "org-rl-5", body, "member")).status).toBe(429);
    // POST …/phone (bucket number_assign) and the calendar authorization (calendar_auth) still have their budgets.
    const assign = await send(`/api/assistants/${crypto.randomUUID()}/phone`, "org-rl-5", { method: "POST" }, "member");
    expect(assign.status).toBe(404);
    expect((await send("/api/calendar/google/auth", "org-rl-5")).status).toBe(200);
  });

  it("is off when RATE_LIMITS_ENABLED is false (load tests)", async () => {
    for (let i = 0; i < 35; i++) {
      const res = await app.request(
        "https://switchboard.test/api/calendar/google/auth",
        { headers: { Authorization: `Bearer ${await token({ org: "org-rl-4", role: "owner" })}` } },
        env,
      );
      expect(res.status).toBe(200);
    }
  });
});
