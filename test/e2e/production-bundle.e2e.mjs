// The production worker as `wrangler deploy` builds it (wrangler.toml: minified, no function names kept, no
// simulator), run by a throwaway `wrangler dev` in live mode (bench/lib.mjs). The vitest suite runs the sources
// through the dev entry; this proves the shipped bundle itself answers. Every upstream URL points at a closed
// loopback port, and no route used here calls one. Run by `npm run test:e2e`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DevServer, token } from "../../bench/lib.mjs";
import { readFileSync } from "node:fs";
import { DASHBOARD_SOURCE, dashboardScriptAsset, pinnedVersion } from "../../scripts/static-assets.mjs";

const NOWHERE = "http://127.0.0.1:9";
const serverOptions = {
  name: "production",
  entry: "production",
  preferredPort: 8796,
  vars: {
    VAPI_API_URL: NOWHERE,
    TWILIO_API_URL: NOWHERE,
    GOOGLE_OAUTH_URL: NOWHERE,
    GOOGLE_TOKEN_URL: NOWHERE,
    GOOGLE_REVOKE_URL: NOWHERE,
    GOOGLE_JWKS_URL: NOWHERE,
    GOOGLE_API_URL: NOWHERE,
  },
};
let server; // created in beforeAll, so its state directory exists only while the tests run
const member = token("prod-org", { prefix: "prod" });

describe("the production bundle", () => {
  beforeAll(async () => {
    server = new DevServer(serverOptions);
    await server.start().catch((error) => {
      throw new Error(`${error.message}\n--- wrangler dev's log ---\n${server.logTail()}`);
    });
  });
  afterAll(async () => {
    await server?.stop();
    server?.removeState();
  });

  it("answers /health in live mode, and its API description and pages", async () => {
    expect((await server.call("GET", "/health")).json).toMatchObject({ status: "ok", upstream_mode: "live" });
    const doc = await server.call("GET", "/openapi.json");
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.json.paths)).toContain("/api/assistants");
    for (const page of ["/docs", "/admin"]) expect((await server.call("GET", page)).status).toBe(200);
  });

  it("serves the /docs page's script from its static assets, for browsers to keep", async () => {
    const script = `/docs/assets/scalar-${pinnedVersion()}.js`;
    expect((await server.call("GET", "/docs")).text).toContain(`src="${script}"`);
    const asset = await fetch(`${server.base}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("Content-Type")).toMatch(/^text\/javascript/);
    expect(asset.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(asset.headers.get("X-Request-Id")).toBeNull(); // the Worker did not run
    expect(await asset.text()).toContain("createApiReference");
    // /docs/assets/* is the assets' alone (run_worker_first excludes it): a name not there is their bare 404.
    const missing = await server.call("GET", "/docs/assets/scalar-0.0.0.js");
    expect([missing.status, missing.requestId]).toEqual([404, null]);
  });

  it("serves the dashboard's script from its static assets, named after client.browser.js as it is, for browsers to keep", async () => {
    const source = readFileSync(DASHBOARD_SOURCE, "utf8");
    const { path, integrity } = dashboardScriptAsset(Buffer.from(source));
    expect((await server.call("GET", "/admin")).text).toContain(`" src="${path}" integrity="${integrity}"></script>`);
    const asset = await fetch(`${server.base}${path}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("Content-Type")).toMatch(/^text\/javascript/);
    expect(asset.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(asset.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(asset.headers.get("X-Request-Id")).toBeNull(); // the Worker did not run
    expect(await asset.text()).toBe(source);
    const missing = await server.call("GET", "/admin/assets/dashboard-000000000000.js");
    expect([missing.status, missing.requestId]).toEqual([404, null]);
  });

  it("checks tokens, validates bodies and reads D1, in the one error shape", async () => {
    const list = await server.call("GET", "/api/assistants", { auth: member });
    expect(list.status, list.text).toBe(200);
    expect(list.json).toEqual({ assistants: [], next_cursor: null });
    const invalid = await server.call("POST", "/api/assistants", { auth: member, body: { business_data: {} } });
    expect(invalid.status).toBe(400);
    expect(invalid.json.error.code).toBe("invalid_request");
    expect(invalid.json.error.details[0].path).toBe("business_data.business_name");
    expect((await server.call("GET", "/api/assistants", { auth: "not.a.jwt" })).json.error.code).toBe("auth_malformed_token");
  });

  it("serves no sandbox route", async () => {
    const consent = await server.call("GET", "/sandbox/google/authorize");
    expect(consent.status).toBe(404);
    expect(consent.json.error.code).toBe("not_found");
  });
});
