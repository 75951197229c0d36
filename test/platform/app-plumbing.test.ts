import { describe, expect, it } from "vitest";
import { call, json, token } from "../helpers/api";
import { expectError, expectNoSideEffects, sideEffects } from "../helpers/assertions";

const ALLOWED = "https://app.example.com";

describe("routing errors use the one error shape", () => {
  it("an unknown route → 404 not_found", async () => {
    const error = await expectError(await call("GET", "/api/nothing-here"), 404, "not_found");
    expect(error.message).toContain("/api/nothing-here");
    await expectError(await call("GET", "/nope", { token: null }), 404, "not_found");
  });

  it("a wrong method on a known path → 405 method_not_allowed with Allow", async () => {
    const before = await sideEffects();
    const put = await call("PUT", "/api/assistants", { body: {} });
    expect(put.headers.get("Allow")).toBe("GET, POST");
    await expectError(put, 405, "method_not_allowed");

    const post = await call("POST", `/api/assistants/${crypto.randomUUID()}`, { body: {} });
    expect(post.headers.get("Allow")).toBe("DELETE, GET, PATCH");
    await expectError(post, 405, "method_not_allowed");

    const health = await call("DELETE", "/health", { token: null });
    expect(health.headers.get("Allow")).toBe("GET");
    await expectError(health, 405, "method_not_allowed");
    await expectNoSideEffects(before);
  });
});

describe("trailing slashes", () => {
  it("GET /api/assistants/ is no route (404), not a 405 claiming GET is unsupported", async () => {
    const get = await call("GET", "/api/assistants/");
    expect(get.headers.get("Allow")).toBeNull();
    await expectError(get, 404, "not_found");
    await expectError(await call("POST", "/api/assistants/", { body: {} }), 404, "not_found");
  });
});

describe("CORS", () => {
  const preflight = (origin: string) =>
    call("OPTIONS", "/api/assistants", {
      token: null,
      headers: {
        Origin: origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
      },
    });

  it("a preflight from an allowed origin is allowed", async () => {
    const response = await preflight(ALLOWED);
    expect(response.status).toBeLessThan(300);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED);
    expect(response.headers.get("Access-Control-Allow-Methods")).toContain("PATCH");
    expect((response.headers.get("Access-Control-Allow-Headers") ?? "").toLowerCase()).toContain("idempotency-key");
  });

  it("error answers carry the CORS headers too, so the frontend can read them", async () => {
    const unauthorized = await call("GET", "/api/assistants", { token: null, headers: { Origin: ALLOWED } });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED);
    const invalid = await call("POST", "/api/assistants", { body: {}, headers: { Origin: ALLOWED } });
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED);
    expect(invalid.headers.get("Vary") ?? "").toMatch(/origin/i);
  });

  it("a preflight from another origin gets no Access-Control-Allow-Origin", async () => {
    const response = await preflight("https://evil.example.com");
    expect(response.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("an actual request from the allowed origin carries the CORS headers, and exposes X-Request-Id", async () => {
    const response = await call("GET", "/api/assistants", { headers: { Origin: ALLOWED } });
    expect(response.status).toBe(200);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED);
    expect(response.headers.get("Access-Control-Expose-Headers")).toContain("X-Request-Id");
    const foreign = await call("GET", "/api/assistants", { headers: { Origin: "https://evil.example.com" } });
    expect(foreign.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });
});

describe("headers on every response", () => {
  it("secure headers and X-Request-Id, on successes and errors", async () => {
    const responses = [
      await call("GET", "/health", { token: null }),
      await call("GET", "/api/assistants"),
      await call("GET", "/api/assistants", { token: null }),
      await call("GET", "/missing", { token: null }),
    ];
    const ids = new Set<string>();
    for (const response of responses) {
      expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(response.headers.get("X-Frame-Options")).toBe("DENY");
      const id = response.headers.get("X-Request-Id");
      expect(id).toBeTruthy();
      ids.add(id!);
    }
    expect(ids.size).toBe(responses.length);
  });

  it("what a request cost: X-D1-Round-Trips and X-Upstream-Calls", async () => {
    const response = await call("GET", "/api/assistants");
    expect(response.headers.get("X-D1-Round-Trips")).toMatch(/^\d+$/);
    expect(response.headers.get("X-Upstream-Calls")).toBe("0");
  });
});

describe("API description", () => {
  it("GET /openapi.json is OpenAPI 3.1.0 listing the assistant paths behind a Bearer scheme", async () => {
    const response = await call("GET", "/openapi.json", { token: null });
    expect(response.status).toBe(200);
    const doc = await json(response);
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/health", "/api/assistants", "/api/assistants/{id}"]));
    expect(Object.keys(doc.paths["/api/assistants"]).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/api/assistants/{id}"]).sort()).toEqual(["delete", "get", "patch"]);
    expect(doc.components.securitySchemes.Bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.paths["/api/assistants"].post.security).toEqual([{ Bearer: ["member"] }]);
    const errorSchema = doc.components.schemas.Error;
    expect(errorSchema.properties.error.required).toEqual(expect.arrayContaining(["code", "message"]));
  });

  it("answers 403 organization_required when a platform admin without an organization calls an organization route", async () => {
    const res = await call("GET", "/api/assistants", { token: await token({ org: null, role: "platform_admin" }) });
    expect(res.status).toBe(403);
    expect((await json(res)).error.code).toBe("organization_required");
  });
});
