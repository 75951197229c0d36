import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { token } from "../helpers/api";
import { expectError, expectNoSideEffects, sideEffects } from "../helpers/assertions";

/** Calls a fresh app with a modified environment, as a deployment with that configuration would run. */
async function callWith(overrides: Record<string, unknown>, path = "/api/assistants", init: RequestInit = {}) {
  const app = createApp();
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${await token({ org: `org-${crypto.randomUUID()}` })}`);
  return app.request(`https://switchboard.test${path}`, { ...init, headers }, { ...env, ...overrides });
}

const postCreate: RequestInit = {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ business_data: { business_name: "Config Test Co" } }),
};

describe("a broken configuration answers 500 configuration_error naming the setting", () => {
  it("ENCRYPTION_KEY too short", async () => {
    const before = await sideEffects();
    const response = await callWith({ ENCRYPTION_KEY: "short" }, "/api/assistants", postCreate);
    expect(response.headers.get("X-Request-Id")).toBeTruthy();
    const error = await expectError(response, 500, "configuration_error");
    expect(error.message).toContain("ENCRYPTION_KEY");
    expect(error.details).toEqual({ setting: "ENCRYPTION_KEY" });
    await expectNoSideEffects(before);
  });

  it("ENCRYPTION_KEY of valid base64 but not 32 bytes", async () => {
    const error = await expectError(await callWith({ ENCRYPTION_KEY: btoa("sixteen bytes!!!") }), 500, "configuration_error");
    expect(error.message).toContain("ENCRYPTION_KEY");
  });

  it("VAPI_API_KEY missing (also when set to an empty string)", async () => {
    const missing = await expectError(await callWith({ VAPI_API_KEY: undefined }), 500, "configuration_error");
    expect(missing.message).toContain("VAPI_API_KEY");
    const empty = await expectError(await callWith({ VAPI_API_KEY: "  " }, "/health"), 500, "configuration_error");
    expect(empty.message).toContain("VAPI_API_KEY");
  });

  it("neither AUTH_JWT_SECRET nor AUTH_JWKS_URL", async () => {
    const error = await expectError(await callWith({ AUTH_JWT_SECRET: undefined, AUTH_JWKS_URL: undefined }), 500, "configuration_error");
    expect(error.message).toContain("AUTH_JWT_SECRET");
  });

  it("VAPI_WEBHOOK_SECRET shorter than 16 characters", async () => {
    const error = await expectError(await callWith({ VAPI_WEBHOOK_SECRET: "short" }), 500, "configuration_error");
    expect(error.message).toContain("VAPI_WEBHOOK_SECRET");
  });

  it("a malformed number (UPSTREAM_TIMEOUT_MS=abc) and an unknown UPSTREAM_MODE", async () => {
    const timeout = await expectError(await callWith({ UPSTREAM_TIMEOUT_MS: "abc" }), 500, "configuration_error");
    expect(timeout.message).toContain("UPSTREAM_TIMEOUT_MS");
    const mode = await expectError(await callWith({ UPSTREAM_MODE: "mock" }), 500, "configuration_error");
    expect(mode.message).toContain("UPSTREAM_MODE");
  });

  it("the same app with the test configuration works", async () => {
    const response = await callWith({}, "/api/assistants");
    expect(response.status).toBe(200);
  });
});
