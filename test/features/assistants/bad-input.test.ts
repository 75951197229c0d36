import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { call, sampleBusiness, token } from "../../helpers/api";
import { asOrg, assistantRow, createAssistantFor, expectError, expectNoSideEffects, newOrg, sideEffects } from "../../helpers/assertions";
import { TEST_SETTINGS } from "../../settings";

interface FieldIssue {
  path: string;
  code: string;
  message: string;
}

const validBody = { business_data: sampleBusiness, languages: ["en"], area_code: "512" };
const withBusiness = (changes: Record<string, unknown>) => ({ ...validBody, business_data: { ...sampleBusiness, ...changes } });

/** Sends a create that must be refused, and proves it changed nothing. */
async function refusedCreate(options: Parameters<typeof call>[2], status: number, code: string) {
  const before = await sideEffects();
  const error = await expectError(await call("POST", "/api/assistants", options), status, code);
  await expectNoSideEffects(before);
  return error;
}

const paths = (details: unknown) => (details as FieldIssue[]).map((d) => d.path);

describe("POST /api/assistants refuses bad input and changes nothing", () => {
  it("malformed JSON → 400 malformed_json", async () => {
    await refusedCreate({ rawBody: '{"business_data": {"business_name": "x"' }, 400, "malformed_json");
  });

  it("a body that is not an object → 400 invalid_request", async () => {
    await refusedCreate({ rawBody: "[1, 2, 3]" }, 400, "invalid_request");
    await refusedCreate({ rawBody: "null" }, 400, "invalid_request");
  });

  it("wrong types → 400 invalid_request naming each field", async () => {
    const error = await refusedCreate(
      { body: { business_data: { business_name: 42 }, languages: "en", area_code: 512 } },
      400,
      "invalid_request",
    );
    expect(paths(error.details)).toEqual(expect.arrayContaining(["business_data.business_name", "languages", "area_code"]));

    const notAnObject = await refusedCreate({ body: { business_data: "Cool Breeze" } }, 400, "invalid_request");
    expect(paths(notAnObject.details)).toContain("business_data");
  });

  it("missing business_data.business_name → 400 with the field path in details", async () => {
    const { business_name: _omitted, ...rest } = sampleBusiness;
    const error = await refusedCreate({ body: { business_data: rest } }, 400, "invalid_request");
    expect(Array.isArray(error.details)).toBe(true);
    const issue = (error.details as FieldIssue[]).find((d) => d.path === "business_data.business_name");
    expect(issue, JSON.stringify(error.details)).toBeDefined();
    expect(error.message).toContain("business_data.business_name");
  });

  it("missing business_data altogether → 400 naming business_data", async () => {
    const error = await refusedCreate({ body: { languages: ["en"] } }, 400, "invalid_request");
    expect(paths(error.details)).toContain("business_data");
  });

  it("an empty (whitespace) business_name → 400", async () => {
    const error = await refusedCreate({ body: withBusiness({ business_name: "   " }) }, 400, "invalid_request");
    expect(paths(error.details)).toContain("business_data.business_name");
  });

  it.each([
    ["zero-width spaces", "\u200b\u200b"],
    ["a byte-order mark and a word joiner", "\ufeff\u2060"],
    ["ideographic and no-break spaces", "\u3000\u00a0"],
    ["a combining mark alone", "\u0301"],
    ["zero-width joiners around a space", "\u200d \u200c"],
  ])("a name made only of %s is refused like an empty one", async (_what, invisible) => {
    const byName = await refusedCreate({ body: { ...validBody, name: invisible } }, 400, "invalid_request");
    expect(byName.details).toEqual([expect.objectContaining({ path: "name", message: expect.stringContaining("must not be empty") })]);
    const byBusiness = await refusedCreate({ body: withBusiness({ business_name: invisible }) }, 400, "invalid_request");
    expect(paths(byBusiness.details)).toEqual(["business_data.business_name"]);
  });

  it("a visible name with a zero-width joiner inside (an emoji sequence) is accepted", async () => {
    const res = await call("POST", "/api/assistants", {
      token: await token({ org: newOrg() }),
      body: { ...validBody, name: "Front desk \u{1F469}\u200d\u{1F527}" },
    });
    expect(res.status, await res.clone().text()).toBe(201);
  });

  it("a 100 KB body → 413 payload_too_large", async () => {
    const body = withBusiness({ description: "x".repeat(100 * 1024) });
    await refusedCreate({ body }, 413, "payload_too_large");
  });

  it("an unknown top-level field → 400 unknown_field at its own path", async () => {
    const error = await refusedCreate({ body: { ...validBody, phone_number: "+14155550123" } }, 400, "invalid_request");
    expect(error.details).toContainEqual(expect.objectContaining({ path: "phone_number", code: "unknown_field" }));
  });

  it("an unknown field inside business_data → 400 unknown_field with its nested path", async () => {
    const error = await refusedCreate({ body: withBusiness({ owner_ssn: "123" }) }, 400, "invalid_request");
    expect(error.details).toContainEqual(expect.objectContaining({ path: "business_data.owner_ssn", code: "unknown_field" }));
  });

  it.each(["012", "41a", "4155", "41", "112"])("area_code %j → 400 naming area_code", async (areaCode) => {
    const error = await refusedCreate({ body: { ...validBody, area_code: areaCode } }, 400, "invalid_request");
    expect(paths(error.details)).toEqual(["area_code"]);
  });

  it("an invalid timezone → 400 naming business_data.timezone", async () => {
    const error = await refusedCreate({ body: withBusiness({ timezone: "Mars/Olympus_Mons" }) }, 400, "invalid_request");
    expect(paths(error.details)).toEqual(["business_data.timezone"]);
  });

  it.each([
    [["xx"], "languages.0"],
    [[], "languages"],
    [["en", "en"], "languages"],
    [["en", "es", "fr", "de", "it", "pt"], "languages"],
  ])("languages %j → 400 naming %s", async (languages, path) => {
    const error = await refusedCreate({ body: { ...validBody, languages } }, 400, "invalid_request");
    expect(paths(error.details)).toContain(path);
  });

  it.each(["Cool\u0000Breeze", "Cool\u0007Breeze", "Cool\u001bBreeze", "Cool\u007fBreeze"])(
    "control characters in business_name (%j) → 400",
    async (name) => {
      const error = await refusedCreate({ body: withBusiness({ business_name: name }) }, 400, "invalid_request");
      expect(paths(error.details)).toEqual(["business_data.business_name"]);
    },
  );

  it("control characters in name → 400 naming name", async () => {
    const error = await refusedCreate({ body: { ...validBody, name: "Front\u0000Desk" } }, 400, "invalid_request");
    expect(paths(error.details)).toEqual(["name"]);
  });

  it("an invalid business phone and website → 400 naming both", async () => {
    const error = await refusedCreate(
      { body: withBusiness({ phone: "555-1234", website: "javascript:alert(1)" }) },
      400,
      "invalid_request",
    );
    expect(paths(error.details)).toEqual(expect.arrayContaining(["business_data.phone", "business_data.website"]));
  });

  it("opening hours with an unknown day name → 400 listing the days it may be", async () => {
    const error = await refusedCreate(
      { body: withBusiness({ hours: { monday: [{ open: "08:00", close: "17:00" }] } }) },
      400,
      "invalid_request",
    );
    expect(error.details).toEqual([
      { path: "business_data.hours.monday", code: "unknown_field", message: "is not a day: use mon, tue, wed, thu, fri, sat, sun" },
    ]);
  });

  it("opening hours with close before open → 400", async () => {
    const error = await refusedCreate(
      { body: withBusiness({ hours: { mon: [{ open: "17:00", close: "08:00" }] } }) },
      400,
      "invalid_request",
    );
    expect(paths(error.details).some((p) => p.startsWith("business_data.hours.mon.0"))).toBe(true);
  });

  it("a non-JSON content type → 415 unsupported_media_type", async () => {
    await refusedCreate({ rawBody: JSON.stringify(validBody), headers: { "Content-Type": "text/plain" } }, 415, "unsupported_media_type");
    await refusedCreate(
      { rawBody: "business_data=x", headers: { "Content-Type": "application/x-www-form-urlencoded" } },
      415,
      "unsupported_media_type",
    );
  });

  it("an invalid Idempotency-Key → 400 invalid_idempotency_key", async () => {
    await refusedCreate({ body: validBody, headers: { "Idempotency-Key": "x".repeat(300) } }, 400, "invalid_idempotency_key");
  });
});

describe("authentication failures change nothing", () => {
  const expectUnauthorized = async (authorization: string | null, code: string) => {
    const headers: Record<string, string> = {};
    if (authorization !== null) headers.Authorization = authorization;
    const before = await sideEffects();
    const response = await call("POST", "/api/assistants", { token: null, body: validBody, headers });
    expect(response.headers.get("WWW-Authenticate") ?? "").toMatch(/^Bearer/);
    await expectError(response, 401, code);
    await expectNoSideEffects(before);
  };

  it("no token → 401 auth_missing_token", async () => {
    await expectUnauthorized(null, "auth_missing_token");
    await expectUnauthorized("Basic dXNlcjpwYXNz", "auth_missing_token");
  });

  it("an expired token → 401 auth_token_expired", async () => {
    const expired = await token({ expiresIn: Math.floor(Date.now() / 1000) - 3600 });
    await expectUnauthorized(`Bearer ${expired}`, "auth_token_expired");
  });

  it("a token signed with another secret → 401 auth_invalid_signature", async () => {
    const forged = await token({ secret: "some-other-secret-that-is-32-chars-long" });
    await expectUnauthorized(`Bearer ${forged}`, "auth_invalid_signature");
  });

  it("a token for another audience → 401 auth_invalid_claims", async () => {
    const other = await token({ audience: "some-other-api" });
    await expectUnauthorized(`Bearer ${other}`, "auth_invalid_claims");
  });

  it("a member token without an organisation → 401 auth_missing_org", async () => {
    const orgless = await token({ org: null });
    await expectUnauthorized(`Bearer ${orgless}`, "auth_missing_org");
  });

  it("a garbage token → 401 auth_malformed_token", async () => {
    await expectUnauthorized("Bearer not-a-jwt", "auth_malformed_token");
    await expectUnauthorized("Bearer a.b.c", "auth_malformed_token");
  });

  it("an unsigned (alg none) token → 401", async () => {
    const header = btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "");
    const payload = btoa(
      JSON.stringify({ org_id: "org-a", role: "member", aud: TEST_SETTINGS.AUTH_AUDIENCE, exp: Math.floor(Date.now() / 1000) + 3600 }),
    ).replace(/=+$/, "");
    const before = await sideEffects();
    const response = await call("POST", "/api/assistants", { token: `${header}.${payload}.`, body: validBody });
    expect(response.status).toBe(401);
    await expectNoSideEffects(before);
  });

  it("an unknown role → 401 auth_invalid_role", async () => {
    const odd = await new SignJWT({ org_id: "org-a", role: "superuser" })
      .setProtectedHeader({ alg: "HS256" })
      .setAudience(TEST_SETTINGS.AUTH_AUDIENCE)
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode(TEST_SETTINGS.AUTH_JWT_SECRET));
    await expectUnauthorized(`Bearer ${odd}`, "auth_invalid_role");
  });
});

describe("another organisation's assistant answers 404, exactly like a missing one", () => {
  const owner = newOrg();
  const stranger = newOrg();
  let assistant: Record<string, any>;

  beforeAll(async () => {
    assistant = await createAssistantFor(owner);
  });

  const unchanged = async (fn: () => Promise<void>) => {
    const rowBefore = await assistantRow(assistant.id);
    const before = await sideEffects();
    await fn();
    await expectNoSideEffects(before);
    expect(await assistantRow(assistant.id)).toEqual(rowBefore);
  };

  it("GET", async () => {
    await unchanged(async () => {
      const error = await expectError(await asOrg(stranger)("GET", `/api/assistants/${assistant.id}`), 404, "not_found");
      const missingId = crypto.randomUUID();
      const missing = await expectError(await asOrg(stranger)("GET", `/api/assistants/${missingId}`), 404, "not_found");
      expect(error.message.replace(assistant.id, "ID")).toBe(missing.message.replace(missingId, "ID"));
    });
  });

  it("PATCH", async () => {
    await unchanged(async () => {
      await expectError(
        await asOrg(stranger)("PATCH", `/api/assistants/${assistant.id}`, { body: { name: "Hijacked" } }),
        404,
        "not_found",
      );
    });
  });

  it("DELETE", async () => {
    await unchanged(async () => {
      await expectError(await asOrg(stranger)("DELETE", `/api/assistants/${assistant.id}`), 404, "not_found");
    });
    // Still there for its owner, still in Vapi.
    const own = await asOrg(owner)("GET", `/api/assistants/${assistant.id}`);
    expect(own.status).toBe(200);
  });

  it("the stranger's list does not show it", async () => {
    const list = (await (await asOrg(stranger)("GET", "/api/assistants")).json()) as { assistants: unknown[] };
    expect(list.assistants).toEqual([]);
  });
});

describe("PATCH /api/assistants/:id refuses bad input and changes nothing", () => {
  const org = newOrg();
  let assistant: Record<string, any>;

  beforeAll(async () => {
    assistant = await createAssistantFor(org);
  });

  const refusedPatch = async (options: Parameters<typeof call>[2], status: number, code: string) => {
    const rowBefore = await assistantRow(assistant.id);
    const before = await sideEffects();
    const error = await expectError(await asOrg(org)("PATCH", `/api/assistants/${assistant.id}`, options), status, code);
    await expectNoSideEffects(before);
    expect(await assistantRow(assistant.id)).toEqual(rowBefore);
    return error;
  };

  it("malformed JSON → 400 malformed_json", async () => {
    await refusedPatch({ rawBody: "{name:" }, 400, "malformed_json");
  });

  it("an empty patch → 400 invalid_request", async () => {
    await refusedPatch({ body: {} }, 400, "invalid_request");
  });

  it("wrong types → 400 naming the field", async () => {
    const error = await refusedPatch({ body: { name: 7 } }, 400, "invalid_request");
    expect(paths(error.details)).toEqual(["name"]);
  });

  it("unknown fields → 400 unknown_field", async () => {
    const error = await refusedPatch({ body: { name: "X", vapi_assistant_id: "abc" } }, 400, "invalid_request");
    expect(error.details).toContainEqual(expect.objectContaining({ path: "vapi_assistant_id", code: "unknown_field" }));
  });

  it("an empty business_name → 400", async () => {
    const error = await refusedPatch({ body: { business_data: { business_name: "" } } }, 400, "invalid_request");
    expect(paths(error.details)).toContain("business_data.business_name");
  });

  it("control characters in the name → 400", async () => {
    await refusedPatch({ body: { name: "Evil\u0000Name" } }, 400, "invalid_request");
  });

  it("an invalid timezone and language → 400", async () => {
    const error = await refusedPatch(
      { body: { business_data: { timezone: "Nowhere/Land" }, languages: ["klingon"] } },
      400,
      "invalid_request",
    );
    expect(paths(error.details)).toEqual(expect.arrayContaining(["business_data.timezone", "languages.0"]));
  });

  it("a non-JSON content type → 415", async () => {
    await refusedPatch(
      { rawBody: "name=x", headers: { "Content-Type": "application/x-www-form-urlencoded" } },
      415,
      "unsupported_media_type",
    );
  });

  it("a 100 KB body → 413", async () => {
    await refusedPatch({ body: { business_data: { description: "y".repeat(100 * 1024) } } }, 413, "payload_too_large");
  });

  it("no token → 401", async () => {
    const rowBefore = await assistantRow(assistant.id);
    const before = await sideEffects();
    await expectError(
      await call("PATCH", `/api/assistants/${assistant.id}`, { token: null, body: { name: "X" } }),
      401,
      "auth_missing_token",
    );
    await expectNoSideEffects(before);
    expect(await assistantRow(assistant.id)).toEqual(rowBefore);
  });
});
