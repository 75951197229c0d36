import { describe, expect, it } from "vitest";
import { DASHBOARD_SCRIPT } from "../../../src/features/admin/dashboard/page";
import { assistantSchema, createAssistantSchema } from "../../../src/features/assistants/schemas";
import { SCALAR_SCRIPT_PATH } from "../../../src/features/system/docs";
import scalar from "../../../src/features/system/scalar.json";
import { withAccessStated } from "../../../src/platform/openapi";
import { call, token } from "../../helpers/api";
import { endpointsOf, fetchOpenApi, fillPath, paramsIn, resolve, type Endpoint } from "../../helpers/openapi";

/**
 * GET /docs (Scalar, drawn in the browser: test/e2e/docs.e2e.mjs runs it in Chromium) and what it shows from
 * /openapi.json: who may call each operation, and the schemas with their examples.
 */

// What scripts/static-assets.mjs wrote into public/, the static assets (vitest.config.ts runs it first). Listed by
// vite when this file is transformed: the Worker cannot read its own assets here (its tests call it, not the router).
const assetFiles = Object.keys(import.meta.glob("/public/**/*")).map((file) => file.replace(/^\/public/, ""));

/** The CSP header as {directive: sources}. */
const cspOf = (response: Response) =>
  Object.fromEntries(
    (response.headers.get("Content-Security-Policy") ?? "")
      .split(";")
      .map((part) => part.trim().split(/\s+/))
      .filter(([name]) => name)
      .map(([name, ...sources]) => [name, sources]),
  );

describe("GET /docs", () => {
  it("loads Scalar's pinned script from the static assets, every script with the response's nonce, under a CSP that allows nothing else", async () => {
    const response = await call("GET", "/docs", { token: null });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const page = await response.text();
    expect(page).toMatch(/^<!doctype html>/i);

    const csp = cspOf(response);
    const nonce = /'nonce-([^']+)'/.exec(csp["script-src"]?.[0] ?? "")?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toEqual({
      "default-src": ["'none'"],
      "script-src": [`'nonce-${nonce}'`],
      "style-src": [`'nonce-${nonce}'`],
      "style-src-attr": ["'unsafe-inline'"], // attributes only: see docs.ts
      "connect-src": ["'self'"],
      "img-src": ["'self'", "data:"],
      "base-uri": ["'none'"],
      "form-action": ["'none'"],
      "frame-ancestors": ["'none'"],
    });
    expect(page).toContain(`<meta property="csp-nonce" content="${nonce}">`); // Scalar's <style> takes it from here
    const scripts = [...page.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(3);
    for (const attributes of scripts) expect(attributes).toContain(`nonce="${nonce}"`);
    expect(page).toContain(`src="${SCALAR_SCRIPT_PATH}"`);
    expect(page).not.toMatch(/https?:\/\//); // no other origin named anywhere
    expect(page).toContain(`"url":"/openapi.json"`);

    const again = cspOf(await call("GET", "/docs", { token: null }));
    expect(again["script-src"]).not.toEqual(csp["script-src"]); // a fresh nonce each time
  });

  it("names the script after the version scalar.json pins, and that file is a static asset, beside the dashboard's and _headers", () => {
    expect(SCALAR_SCRIPT_PATH).toBe(`/docs/assets/scalar-${scalar.version}.js`);
    // Served as they are: test/e2e/production-bundle.e2e.mjs. No former version is left to be uploaded.
    expect(assetFiles.sort()).toEqual(["/_headers", DASHBOARD_SCRIPT.path, SCALAR_SCRIPT_PATH].sort());
  });
});

describe("what the reference shows", () => {
  const ROLE_BELOW = { member: null, owner: "member", platform_admin: "owner" } as const;
  type Role = keyof typeof ROLE_BELOW;

  /** A request past the role check that the route then refuses, or one with nothing to change (a fresh organisation). */
  async function callAs(ep: Endpoint, bearer: string | null) {
    const values = Object.fromEntries(paramsIn(ep, "path").map((p) => [p.name, "x".repeat(65)])); // over every id's 64
    const dryRun = paramsIn(ep, "query").some((p) => p.name === "dry_run") ? "?dry_run=true" : "";
    const response = await call(ep.method, `${fillPath(ep.path, values)}${dryRun}`, {
      token: bearer,
      ...(ep.method === "GET" || ep.method === "DELETE" ? {} : { rawBody: "{" }), // malformed: 400 where a body is read
    });
    await response.body?.cancel(); // the event streams would not end
    return response;
  }

  it("every operation opens with who may call it, and that is what the API enforces", async () => {
    const doc = await fetchOpenApi();
    const endpoints = endpointsOf(doc);
    expect(endpoints.length).toBeGreaterThan(30);
    const checked: string[] = [];
    for (const ep of endpoints) {
      const description = ep.op.description ?? "";
      const roles = (ep.op.security ?? []).flatMap((requirement) => (requirement.Bearer as Role[] | undefined) ?? []);
      if (ep.op.security?.some((requirement) => "VapiSecret" in requirement)) {
        expect(description, ep.key).toMatch(/^\*\*Caller:\*\* Vapi, with the `X-Vapi-Secret` header/);
        expect((await callAs(ep, null)).status, ep.key).toBe(401);
        continue;
      }
      if (!ep.op.security?.length) {
        expect(description, ep.key).toMatch(/^\*\*Public:\*\* no token\./);
        expect((await callAs(ep, null)).status, ep.key).not.toBe(401);
        continue;
      }
      expect(roles, ep.key).toHaveLength(1);
      const role = roles[0]!;
      expect(description, ep.key).toMatch(new RegExp(`^\\*\\*Role:\\*\\* \`${role}\``));
      expect((await callAs(ep, null)).status, `${ep.key} without a token`).toBe(401);
      for (let below = ROLE_BELOW[role]; below; below = ROLE_BELOW[below]) {
        const refused = await call(ep.method, ep.path.replace(/\{[^}]+\}/g, "x"), { token: await token({ org: "org-docs", role: below }) });
        const text = await refused.text(); // not JSON when the route let the caller in
        expect(`${refused.status} ${text.slice(0, 80)}`, `${ep.key} as ${below}`).toMatch(/^403 \{"error":\{"code":"forbidden"/);
      }
      const allowed = await callAs(ep, await token({ org: "org-docs", role }));
      expect([401, 403], `${ep.key} as ${role} answered ${allowed.status}`).not.toContain(allowed.status);
      checked.push(`${ep.key} ${role}`);
    }
    expect(checked).toEqual(
      expect.arrayContaining([
        "POST /api/assistants member",
        "PUT /api/organization/twilio owner",
        "GET /api/admin/phone-pool platform_admin",
      ]),
    );
  });

  it("POST /api/assistants: its request and response schemas, with business_data's fields and examples", async () => {
    const doc = await fetchOpenApi();
    const create = doc.paths["/api/assistants"]!.post!;
    const body = resolve(doc, create.requestBody?.content?.["application/json"]?.schema);
    expect(Object.keys(body.properties ?? {})).toEqual(["name", "business_data", "languages", "area_code"]);
    const businessData = resolve(doc, body.properties!.business_data);
    expect(Object.keys(businessData.properties ?? {})).toEqual(
      expect.arrayContaining(["business_name", "hours", "timezone", "emergencies"]),
    );
    expect(businessData.required).toEqual(["business_name"]);
    expect(businessData.example).toMatchObject({ business_name: "Cool Breeze HVAC" });
    const created = resolve(
      doc,
      (create.responses!["201"] as { content: Record<string, { schema: object }> }).content["application/json"]!.schema,
    );
    expect(Object.keys(created.properties ?? {})).toEqual(expect.arrayContaining(["id", "vapi_phone_number", "phone_status"]));
    // The examples Scalar shows are ones the API would take and give.
    expect(
      createAssistantSchema.safeParse({ name: resolve(doc, body.properties!.name).example, business_data: businessData.example }).success,
    ).toBe(true);
    expect(assistantSchema.safeParse(created.example).error).toBeUndefined();
  });

  it("an operation behind Bearer that names no role is refused when the document is built", () => {
    const document = { paths: { "/api/x": { get: { security: [{ Bearer: [] }] } } } };
    expect(() => withAccessStated(document)).toThrow(/GET \/api\/x: its security must name one role/);
    const stated = withAccessStated({ paths: { "/api/x": { get: { security: [{ Bearer: ["owner"] }], description: "Reads x." } } } });
    expect(stated.paths["/api/x"].get.description).toBe("**Role:** `owner` of the organization (a `platform_admin` too).\n\nReads x.");
  });
});
