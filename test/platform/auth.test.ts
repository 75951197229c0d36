import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import { authenticate, hasRole } from "../../src/platform/auth";
import { ApiError } from "../../src/platform/errors";
import { loadSettings } from "../../src/platform/settings";

const SECRET = "unit-test-secret-with-at-least-32-chars";

const settingsWith = (overrides: Record<string, unknown> = {}) =>
  loadSettings({
    VAPI_API_KEY: "key",
    VAPI_WEBHOOK_SECRET: "0123456789abcdef",
    AUTH_JWT_SECRET: SECRET,
    ENCRYPTION_KEY: btoa("k".repeat(32)),
    ...overrides,
  });

function hs256(payload: JWTPayload, options: { secret?: string; issuer?: string; audience?: string; expiresAt?: number | string } = {}) {
  const jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("user-42")
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? "1h");
  if (options.issuer) jwt.setIssuer(options.issuer);
  if (options.audience) jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
}

/** The 401 (or other) code `authenticate` refuses with. */
async function refusal(promise: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return { status: (error as ApiError).status, code: (error as ApiError).code };
  }
  throw new Error("expected authenticate to refuse the token");
}

describe("authenticate: HS256", () => {
  it("accepts a valid token and reads user, organisation and role", async () => {
    const caller = await authenticate(`Bearer ${await hs256({ org_id: "org-1", role: "owner" })}`, settingsWith());
    expect(caller).toEqual({ userId: "user-42", orgId: "org-1", role: "owner" });
  });

  it("role defaults to member; the scheme is case-insensitive", async () => {
    const caller = await authenticate(`bearer ${await hs256({ org_id: "org-1" })}`, settingsWith());
    expect(caller.role).toBe("member");
  });

  it("refuses a missing header, another scheme, a wrong secret, an expired token, garbage", async () => {
    const settings = settingsWith();
    expect(await refusal(authenticate(undefined, settings))).toEqual({ status: 401, code: "auth_missing_token" });
    expect(await refusal(authenticate("Token abc", settings))).toEqual({ status: 401, code: "auth_missing_token" });
    const forged = await hs256({ org_id: "org-1" }, { secret: "another-secret-also-32-characters-long" });
    expect(await refusal(authenticate(`Bearer ${forged}`, settings))).toEqual({ status: 401, code: "auth_invalid_signature" });
    const expired = await hs256({ org_id: "org-1" }, { expiresAt: Math.floor(Date.now() / 1000) - 120 });
    expect(await refusal(authenticate(`Bearer ${expired}`, settings))).toEqual({ status: 401, code: "auth_token_expired" });
    expect(await refusal(authenticate("Bearer garbage", settings))).toEqual({ status: 401, code: "auth_malformed_token" });
  });

  it("tolerates 30 seconds of clock skew on expiry", async () => {
    const justExpired = await hs256({ org_id: "org-1" }, { expiresAt: Math.floor(Date.now() / 1000) - 5 });
    expect((await authenticate(`Bearer ${justExpired}`, settingsWith())).orgId).toBe("org-1");
  });
});

describe("authenticate: claims named by settings", () => {
  it("reads the organisation and role from custom claim names", async () => {
    const settings = settingsWith({ AUTH_ORG_CLAIM: "https://example.com/org", AUTH_ROLE_CLAIM: "app_role" });
    const token = await hs256({ "https://example.com/org": "org-custom", app_role: "owner", org_id: "ignored", role: "member" });
    expect(await authenticate(`Bearer ${token}`, settings)).toEqual({ userId: "user-42", orgId: "org-custom", role: "owner" });

    // The default claim names mean nothing under these settings.
    const defaults = await hs256({ org_id: "org-1", role: "member" });
    expect(await refusal(authenticate(`Bearer ${defaults}`, settings))).toEqual({ status: 401, code: "auth_missing_org" });
  });

  it("role claims match exactly: near misses, other cases and lists are refused", async () => {
    for (const role of [
      "owner_pending",
      "not_platform_admin",
      "Owner",
      " owner",
      "owner ",
      "platform_admin2",
      "",
      1,
      true,
      ["owner"],
      { role: "owner" },
    ]) {
      const token = await hs256({ org_id: "org-1", role } as JWTPayload);
      expect(await refusal(authenticate(`Bearer ${token}`, settingsWith())), JSON.stringify(role)).toEqual({
        status: 401,
        code: "auth_invalid_role",
      });
    }
  });

  it("no role claim and a null role are a member, as the README says", async () => {
    for (const payload of [{ org_id: "org-1" }, { org_id: "org-1", role: null }]) {
      expect((await authenticate(`Bearer ${await hs256(payload as JWTPayload)}`, settingsWith())).role).toBe("member");
    }
  });

  it("a token without an expiry is refused with auth_invalid_claims", async () => {
    const forever = await new SignJWT({ org_id: "org-1", role: "owner" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("user-42")
      .setIssuedAt()
      .sign(new TextEncoder().encode(settingsWith().AUTH_JWT_SECRET));
    expect(await refusal(authenticate(`Bearer ${forever}`, settingsWith()))).toEqual({ status: 401, code: "auth_invalid_claims" });
  });

  it("an unknown role is refused", async () => {
    const token = await hs256({ org_id: "org-1", role: "god" });
    expect(await refusal(authenticate(`Bearer ${token}`, settingsWith()))).toEqual({ status: 401, code: "auth_invalid_role" });
  });
});

describe("authenticate: issuer and audience", () => {
  const settings = settingsWith({ AUTH_ISSUER: "https://auth.example.com/", AUTH_AUDIENCE: "switchboard" });

  it("accepts the configured issuer and audience", async () => {
    const token = await hs256({ org_id: "org-1" }, { issuer: "https://auth.example.com/", audience: "switchboard" });
    expect((await authenticate(`Bearer ${token}`, settings)).orgId).toBe("org-1");
  });

  it("refuses another issuer, a missing issuer and another audience with auth_invalid_claims", async () => {
    const otherIssuer = await hs256({ org_id: "org-1" }, { issuer: "https://evil.example.com/", audience: "switchboard" });
    expect(await refusal(authenticate(`Bearer ${otherIssuer}`, settings))).toEqual({ status: 401, code: "auth_invalid_claims" });
    const noIssuer = await hs256({ org_id: "org-1" }, { audience: "switchboard" });
    expect(await refusal(authenticate(`Bearer ${noIssuer}`, settings))).toEqual({ status: 401, code: "auth_invalid_claims" });
    const otherAudience = await hs256({ org_id: "org-1" }, { issuer: "https://auth.example.com/", audience: "billing" });
    expect(await refusal(authenticate(`Bearer ${otherAudience}`, settings))).toEqual({ status: 401, code: "auth_invalid_claims" });
  });
});

describe("authenticate: JWKS (keyOverride)", () => {
  async function keySet() {
    const { publicKey, privateKey } = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "key-1", alg: "RS256", use: "sig" };
    return { privateKey, jwks: createLocalJWKSet({ keys: [jwk] }) };
  }
  /** JWKS mode: no AUTH_JWT_SECRET at all. */
  const jwksSettings = () =>
    loadSettings({
      VAPI_API_KEY: "key",
      VAPI_WEBHOOK_SECRET: "0123456789abcdef",
      ENCRYPTION_KEY: btoa("k".repeat(32)),
      AUTH_JWKS_URL: "https://auth.example.com/.well-known/jwks.json",
      AUTH_AUDIENCE: "switchboard",
    });

  it("accepts an RS256 token verified against the key set", async () => {
    const { privateKey, jwks } = await keySet();
    const token = await new SignJWT({ org_id: "org-rsa", role: "member" })
      .setProtectedHeader({ alg: "RS256", kid: "key-1" })
      .setSubject("user-rsa")
      .setAudience("switchboard")
      .setExpirationTime("5m")
      .sign(privateKey);
    expect(await authenticate(`Bearer ${token}`, jwksSettings(), jwks)).toEqual({ userId: "user-rsa", orgId: "org-rsa", role: "member" });
  });

  it("refuses a token signed by another key, and an HS256 token, with auth_invalid_signature", async () => {
    const { jwks } = await keySet();
    const other = await generateKeyPair("RS256");
    const forged = await new SignJWT({ org_id: "org-rsa" })
      .setProtectedHeader({ alg: "RS256", kid: "key-1" })
      .setAudience("switchboard")
      .setExpirationTime("5m")
      .sign(other.privateKey);
    expect(await refusal(authenticate(`Bearer ${forged}`, jwksSettings(), jwks))).toEqual({ status: 401, code: "auth_invalid_signature" });

    const symmetric = await hs256({ org_id: "org-rsa" }, { audience: "switchboard" });
    expect(await refusal(authenticate(`Bearer ${symmetric}`, jwksSettings(), jwks))).toEqual({
      status: 401,
      code: "auth_invalid_signature",
    });
  });
});

describe("authenticate: organisation and roles", () => {
  it("a platform_admin without an organisation is allowed, with orgId null", async () => {
    const token = await hs256({ role: "platform_admin" });
    expect(await authenticate(`Bearer ${token}`, settingsWith())).toEqual({ userId: "user-42", orgId: null, role: "platform_admin" });
  });

  it("a member or owner without an organisation is refused (also with an empty org claim)", async () => {
    for (const payload of [{ role: "member" }, { role: "owner" }, { role: "member", org_id: "" }, { role: "member", org_id: 42 }]) {
      const token = await hs256(payload);
      expect(await refusal(authenticate(`Bearer ${token}`, settingsWith()))).toEqual({ status: 401, code: "auth_missing_org" });
    }
  });

  it("hasRole: member < owner; platform_admin passes everything", () => {
    const member = { userId: "u", orgId: "o", role: "member" as const };
    const owner = { ...member, role: "owner" as const };
    const admin = { ...member, role: "platform_admin" as const };
    expect(hasRole(member, "member")).toBe(true);
    expect(hasRole(member, "owner")).toBe(false);
    expect(hasRole(owner, "owner")).toBe(true);
    expect(hasRole(owner, "platform_admin")).toBe(false);
    expect(hasRole(admin, "owner")).toBe(true);
    expect(hasRole(admin, "platform_admin")).toBe(true);
  });
});
