// GET /docs in real headless Chromium (Debian's, driven by playwright-core) against a throwaway `wrangler dev` of
// the production worker as wrangler.toml builds it, static assets included (bench/lib.mjs), like
// production-bundle.e2e.mjs (which checks how the script is served). Scalar draws the reference from /openapi.json under the page's strict CSP, with
// nothing from any other origin. Run by `npm run test:e2e`; skipped when /usr/bin/chromium is missing. The
// screenshot goes to /tmp.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HAS_CHROMIUM, launchChromium } from "./chromium.mjs";
import { DevServer } from "../../bench/lib.mjs";
import { pinnedVersion } from "../../scripts/static-assets.mjs";

const SHOT = "/tmp/switchboard-docs.png";
const NOWHERE = "http://127.0.0.1:9"; // no route used here calls an upstream
const serverOptions = {
  name: "docs",
  entry: "production",
  preferredPort: 8795,
  vars: Object.fromEntries(
    [
      "VAPI_API_URL",
      "TWILIO_API_URL",
      "GOOGLE_OAUTH_URL",
      "GOOGLE_TOKEN_URL",
      "GOOGLE_REVOKE_URL",
      "GOOGLE_JWKS_URL",
      "GOOGLE_API_URL",
    ].map((k) => [k, NOWHERE]),
  ),
};
let server; // created in beforeAll, so a skipped run leaves no state directory behind

describe.skipIf(!HAS_CHROMIUM)("the API reference in Chromium", () => {
  let browser;
  let page;
  const problems = []; // console errors, uncaught exceptions and CSP violations
  const offsite = []; // requests to any other origin (each refused before it leaves)

  beforeAll(async () => {
    server = new DevServer(serverOptions);
    await server.start().catch((error) => {
      throw new Error(`${error.message}\n--- wrangler dev's log ---\n${server.logTail()}`);
    });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.route("**/*", (route) => {
      if (new URL(route.request().url()).origin === server.base) return route.continue();
      offsite.push(route.request().url());
      return route.abort("blockedbyclient");
    });
    // A violation is reported as an event (and only sometimes on the console): collect both.
    await context.addInitScript(() =>
      document.addEventListener("securitypolicyviolation", (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`)),
    );
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (error) => problems.push(String(error)));
  });

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
    server?.removeState();
  });

  it("shows POST /api/assistants with its role, its request body's business_data fields and its responses", async () => {
    await page.goto(`${server.base}/docs`);
    await page.getByRole("button", { name: "Open Group - Assistants" }).click(); // the sidebar's tag
    await page.getByRole("link", { name: /^Create an assistant and give it a phone number/ }).click();
    const operation = page.locator('section[id$="/tag/assistants/POST/api/assistants"]');
    await operation.getByRole("heading", { name: "Create an assistant and give it a phone number" }).waitFor();

    const sample = await operation.locator("pre code").first().textContent(); // the request example
    expect(sample).toContain(`curl ${server.base}/api/assistants`);
    expect(sample).toContain("--request POST");
    expect(sample).toContain('"business_name": "Cool Breeze HVAC"');
    expect(await operation.textContent()).toContain("Role: member: any user of the organization (an owner or a platform_admin too).");

    const body = operation.locator(".request-body-schema");
    const fields = () => body.locator(".property-name").allTextContents();
    expect(await fields()).toEqual(expect.arrayContaining(["business_data", "name", "languages", "area_code"]));
    expect(await fields()).not.toContain("business_name");
    await body.getByRole("button", { name: "business_data", exact: true }).click(); // open its properties
    await expect.poll(fields).toEqual(expect.arrayContaining(["business_name", "industry", "hours", "timezone", "emergencies"]));

    const responses = await operation.textContent();
    for (const status of ["201", "400", "401", "403", "409", "429"]) expect(responses).toContain(status);
    expect(responses).toContain("The token's role is not allowed here");
    await page.screenshot({ path: SHOT });
    console.log(`[e2e] screenshot of /docs: ${SHOT}`);
  });

  it("loads nothing from another origin and breaks no CSP rule", async () => {
    expect(offsite).toEqual([]);
    expect(problems).toEqual([]);
    // What the page cost the browser (Resource Timing; wrangler dev compresses like Cloudflare: gzip).
    const loaded = await page.evaluate(() =>
      [performance.getEntriesByType("navigation")[0], ...performance.getEntriesByType("resource")].map((entry) => ({
        path: new URL(entry.name).pathname,
        transferred: entry.transferSize,
        decoded: entry.decodedBodySize,
      })),
    );
    expect(loaded.map((entry) => entry.path).sort()).toEqual(
      ["/docs", `/docs/assets/scalar-${pinnedVersion()}.js`, "/openapi.json"].sort(),
    );
    const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
    for (const entry of loaded)
      console.log(`[e2e] /docs loaded ${entry.path}: ${kib(entry.transferred)} over the wire, ${kib(entry.decoded)} decoded`);
  });
});
