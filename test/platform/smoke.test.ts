import { describe, expect, it } from "vitest";
import { call, json, sampleBusiness } from "../helpers/api";

describe("smoke", () => {
  it("health answers", async () => {
    const res = await call("GET", "/health", { token: null });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ status: "ok", upstream_mode: "sandbox" });
  });

  it("creates and lists an assistant", async () => {
    const created = await call("POST", "/api/assistants", { body: { business_data: sampleBusiness } });
    const body = await json(created);
    expect(created.status, JSON.stringify(body)).toBe(201);
    expect(body.name).toBe("Cool Breeze HVAC");
    const list = await json(await call("GET", "/api/assistants"));
    expect(list.assistants).toHaveLength(1);
  });
});
