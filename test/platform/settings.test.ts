import { describe, expect, it } from "vitest";
import { loadSettings, SettingsError } from "../../src/platform/settings";

/** The required settings only; everything else takes its default. */
const required = () => ({
  VAPI_API_KEY: "key",
  VAPI_WEBHOOK_SECRET: "0123456789abcdef",
  AUTH_JWT_SECRET: "x".repeat(32),
  ENCRYPTION_KEY: btoa("k".repeat(32)),
});

describe("loadSettings", () => {
  it("fills the documented defaults", () => {
    const settings = loadSettings(required());
    expect(settings).toMatchObject({
      UPSTREAM_MODE: "live",
      VAPI_API_URL: "https://api.vapi.ai",
      TWILIO_API_URL: "https://api.twilio.com",
      GOOGLE_API_URL: "https://www.googleapis.com",
      VAPI_FREE_NUMBER_LIMIT: 10,
      POLL_INTERVAL_SECONDS: 15,
      POLL_MAX_ATTEMPTS: 40,
      UNUSED_NUMBER_DAYS: 30,
      AUTH_ORG_CLAIM: "org_id",
      AUTH_ROLE_CLAIM: "role",
      ALLOWED_ORIGINS: [],
      UPSTREAM_TIMEOUT_MS: 10_000,
      UPSTREAM_MAX_RETRIES: 2,
      UPSTREAM_RETRY_BASE_MS: 500,
      SANDBOX_ACTIVATION_DELAY_SECONDS: 30,
      SANDBOX_VAPI_NUMBER_LIMIT: 10,
    });
    expect(settings.PUBLIC_URL).toBeUndefined();
    expect(settings.AUTH_AUDIENCE).toBeUndefined();
  });

  it("parses strings from wrangler vars into numbers and lists; empty strings count as unset", () => {
    const settings = loadSettings({
      ...required(),
      VAPI_FREE_NUMBER_LIMIT: "5",
      POLL_MAX_ATTEMPTS: " 12 ",
      ALLOWED_ORIGINS: "https://a.example, https://b.example ,",
      UNUSED_NUMBER_DAYS: "",
      VAPI_FREE_NUMBER_LIMIT_UNRELATED: "ignored",
    });
    expect(settings.VAPI_FREE_NUMBER_LIMIT).toBe(5);
    expect(settings.POLL_MAX_ATTEMPTS).toBe(12);
    expect(settings.UNUSED_NUMBER_DAYS).toBe(30);
    expect(settings.ALLOWED_ORIGINS).toEqual(["https://a.example", "https://b.example"]);
  });

  it("accepts AUTH_JWKS_URL instead of AUTH_JWT_SECRET", () => {
    const { AUTH_JWT_SECRET: _s, ...rest } = required();
    expect(loadSettings({ ...rest, AUTH_JWKS_URL: "https://auth.example.com/.well-known/jwks.json" }).AUTH_JWKS_URL).toBe(
      "https://auth.example.com/.well-known/jwks.json",
    );
  });

  it.each([
    ["VAPI_API_KEY", { VAPI_API_KEY: undefined }],
    ["ENCRYPTION_KEY", { ENCRYPTION_KEY: "not base64!" }],
    ["ENCRYPTION_KEY_PREVIOUS", { ENCRYPTION_KEY_PREVIOUS: btoa("short") }],
    ["AUTH_JWT_SECRET", { AUTH_JWT_SECRET: undefined }],
    ["AUTH_JWT_SECRET", { AUTH_JWT_SECRET: "too-short" }],
    ["POLL_INTERVAL_SECONDS", { POLL_INTERVAL_SECONDS: "0" }],
    ["UPSTREAM_MAX_RETRIES", { UPSTREAM_MAX_RETRIES: "9" }],
    ["PUBLIC_URL", { PUBLIC_URL: "not a url" }],
  ])("a bad %s throws a SettingsError naming it", (setting, overrides) => {
    let thrown: unknown;
    try {
      loadSettings({ ...required(), ...overrides });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SettingsError);
    expect((thrown as SettingsError).setting).toBe(setting);
    expect((thrown as SettingsError).message).toContain(setting);
  });

  it("keeps throwing for the same broken environment (cached per env object)", () => {
    const broken = { ...required(), VAPI_API_KEY: undefined };
    expect(() => loadSettings(broken)).toThrow(SettingsError);
    expect(() => loadSettings(broken)).toThrow(/VAPI_API_KEY/);
  });
});
