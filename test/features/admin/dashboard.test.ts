import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { DASHBOARD_SCRIPT } from "../../../src/features/admin/dashboard/page";
import { call, json, sandbox } from "../../helpers/api";
import { adminToken } from "../../helpers/operations";
import { resetState, seedNumber } from "../../helpers/pool";

beforeEach(resetState);

// The page's script as it is in the repository, and the files of public/ (the static assets scripts/static-assets.mjs
// wrote: vitest.config.ts runs it first), both through vite when this file is transformed: workerd has no file system.
const SCRIPT = Object.values(
  import.meta.glob<string>("/src/features/admin/dashboard/client.browser.js", { query: "?raw", import: "default", eager: true }),
)[0]!;
const assetFiles = Object.keys(import.meta.glob("/public/**/*")).map((file) => file.replace(/^\/public/, ""));

/** `sha256-<base64>` of the text's UTF-8 bytes, and its first 12 hex. */
async function sha256Of(text: string) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  const hex = [...digest].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return { integrity: `sha256-${btoa(String.fromCharCode(...digest))}`, hex12: hex.slice(0, 12) };
}

describe("GET /admin (the operators' dashboard)", () => {
  it("is public HTML with landmarks, a labelled token form and live regions, and holds no data", async () => {
    const seeded = await seedNumber();
    const res = await call("GET", "/admin", { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(res.headers.get("X-D1-Round-Trips")).toBe("0");
    const page = await res.text();

    expect(page).toMatch(/^<!doctype html><html lang="en">/);
    for (const landmark of ["<header>", '<main id="main"', "<footer>", "<h1>", '<meta name="viewport"']) expect(page).toContain(landmark);
    expect(page).toMatch(/<label for="token">[^<]*platform_admin/);
    expect(page).toContain('<input id="token" name="token" type="password"');
    expect(page).toContain('role="status" aria-live="polite"');
    expect(page).toMatch(/<meter id="gauge"/);
    for (const heading of [
      "Free numbers",
      "Pool over time",
      "Calls",
      "Actions",
      "Provisioning",
      "Open alerts",
      "Unassigned numbers",
      "Vapi import",
      "Twilio per organisation",
      "Recent history",
    ]) {
      expect(page).toContain(`>${heading}</h2>`);
    }
    expect(page).toContain("Pre-provision</button>");
    expect(page).toContain("Cleanup dry run</button>");
    // Nothing from D1: the script fetches everything with the token.
    expect(page).not.toContain(seeded.number);
    expect(page).not.toContain(seeded.id);
  });

  it("allows only its own nonce'd script and style (CSP), and cannot be framed", async () => {
    const res = await call("GET", "/admin", { token: null });
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain(`style-src 'nonce-${nonce}'`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get("X-Frame-Options")).toBe("DENY");
    const page = await res.text();
    expect(page.match(/<script\b[^>]*>/g)).toEqual([
      `<script nonce="${nonce}" src="${DASHBOARD_SCRIPT.path}" integrity="${DASHBOARD_SCRIPT.integrity}">`,
    ]);
    expect(page).toMatch(/<script [^>]*><\/script><\/body><\/html>$/); // empty, at the end: the page's elements exist when it runs
    expect(page.match(/<style\b[^>]*>/g)).toEqual([`<style nonce="${nonce}">`]);
    expect(page).not.toMatch(/\son[a-z]+=|style="/); // no inline handlers or style attributes (the CSP would block them)

    const again = await call("GET", "/admin", { token: null });
    expect(again.headers.get("Content-Security-Policy")).not.toContain(nonce); // a new nonce each time
  });

  it("loads its script from the static assets, under a name and integrity made of client.browser.js as it is", async () => {
    const { integrity, hex12 } = await sha256Of(SCRIPT);
    expect(DASHBOARD_SCRIPT).toEqual({ path: `/admin/assets/dashboard-${hex12}.js`, integrity });
    expect(assetFiles).toContain(DASHBOARD_SCRIPT.path); // its bytes and headers as served: test/e2e/production-bundle.e2e.mjs
    expect(assetFiles.filter((file) => file.startsWith("/admin/"))).toEqual([DASHBOARD_SCRIPT.path]); // no former version uploaded
    const page = await (await call("GET", "/admin", { token: null })).text();
    expect(page).toContain(`src="${DASHBOARD_SCRIPT.path}" integrity="${integrity}"`);
    expect(page).not.toContain("switchboard.adminToken"); // the script's storage key: nothing of it inlined
  });

  it("has an Origin column for unassigned numbers and a Vapi import section that says how to run the first import", async () => {
    const page = await (await call("GET", "/admin", { token: null })).text();
    const unassignedHead = /<table id="unassigned-table">[\s\S]*?<\/thead>/.exec(page)?.[0] ?? "";
    expect(unassignedHead.match(/<th scope="col">([^<]+)<\/th>/g)?.map((th) => th.replace(/<[^>]+>/g, ""))).toEqual([
      "Number",
      "Provider",
      "Origin",
      "Area code",
      "Pool",
      "Unassigned since",
      "Cleanup after",
    ]);
    const section = /<section id="import"[\s\S]*?<\/section>/.exec(page)?.[0] ?? "";
    expect(section).toContain('<p class="empty">No import yet: run <code>POST /api/admin/vapi/import</code> (a dry run by default).</p>');
    expect(section).toContain('<p id="import-summary" hidden=""></p>');
    expect(section).toMatch(/<details id="import-details" hidden="">\s*<summary id="import-details-title">/);
  });

  it("reads origins and the last import from the admin API: the fields it shows are in the answers", async () => {
    const made = await seedNumber();
    const adopted = await seedNumber();
    await env.DB.prepare("UPDATE phone_numbers SET origin = 'adopted' WHERE id = ?").bind(adopted.id).run();
    await sandbox().seedVapiPhoneNumber({ areaCode: "212" }); // made outside Switchboard, in no row: the import would adopt it
    const token = await adminToken();
    const dryRun = await call("POST", "/api/admin/vapi/import", { token, body: {} });
    expect(dryRun.status).toBe(200);

    const pool = await json(await call("GET", "/api/admin/phone-pool", { token }));
    const originOf = new Map(pool.unassigned.map((u: { id: string; origin: string }) => [u.id, u.origin]));
    expect(originOf.get(made.id)).toBe("made_here");
    expect(originOf.get(adopted.id)).toBe("adopted");
    expect(pool.stats.by_origin).toEqual({ made_here: 1, adopted: 1, org_twilio: 0 });
    expect(pool.stats).toMatchObject({ free_numbers_outside: 1, free_numbers: 3 });
    expect(pool.last_import).toMatchObject({ dry_run: true, summary: { numbers_listed: 3, numbers_to_adopt: 1, already_managed: 2 } });
    const stored = await json(await call("GET", "/api/admin/vapi/import", { token }));
    expect(stored.at).toBe(pool.last_import.at);
    expect(stored.report.numbers.map((n: { action: string }) => n.action)).toEqual(["join_pool"]);

    for (const read of ['"/api/admin/vapi/import"', "last_import", "free_numbers_outside", "by_origin", ".origin"])
      expect(SCRIPT).toContain(read);
  });

  it("has a Calls section, filled from the pool's `calls` (live calls per organisation against their caps)", async () => {
    const page = await (await call("GET", "/admin", { token: null })).text();
    const section = /<section id="calls"[\s\S]*?<\/section>/.exec(page)?.[0] ?? "";
    expect(section).toContain('<p id="calls-summary"></p>');
    expect(section).toContain('<p class="empty">No live calls and no caps.</p>');
    const head = /<table id="calls-table">[\s\S]*?<\/thead>/.exec(section)?.[0] ?? "";
    expect(head.match(/<th scope="col">([^<]+)<\/th>/g)?.map((th) => th.replace(/<[^>]+>/g, ""))).toEqual(["Organisation", "Live", "Cap"]);

    const pool = await json(await call("GET", "/api/admin/phone-pool", { token: await adminToken() }));
    expect(Object.keys(pool.calls).sort()).toEqual(["limit", "live", "organizations", "routing_mode"]);
    for (const read of ["pool.calls", "routing_mode", "max_concurrent_calls", '"measured, not enforced"', '"enforced"', "at-cap"])
      expect(SCRIPT).toContain(read);
  });

  it("takes live provisioning progress from the admin event stream with fetch (the token in a header)", async () => {
    const page = await (await call("GET", "/admin", { token: null })).text();
    expect(page).toContain('<p id="live" class="hint"></p>');
    const streamPath = "/api/admin/phone-pool/provisioning/events";
    expect(SCRIPT).toContain(`"${streamPath}"`);
    expect(SCRIPT).not.toContain("EventSource"); // it cannot send the Authorization header
    expect(SCRIPT).toContain("document.visibilityState");
    // The route it reads exists, for platform admins, as an event stream.
    const doc = await json(await call("GET", "/openapi.json", { token: null }));
    expect(Object.keys(doc.paths[streamPath].get.responses[200].content)).toEqual(["text/event-stream"]);
  });

  it("says where a token comes from, and has the chart of the pool over time with its 30/90-day switch, legend and figures", async () => {
    const page = await (await call("GET", "/admin", { token: null })).text();
    const help = /<p id="token-help" class="hint">([\s\S]*?)<\/p>/.exec(page)?.[1] ?? "";
    expect(help).toContain("<code>npm run token -- --role platform_admin</code>");
    expect(help).toContain("identity");
    const section = /<section id="usage"[\s\S]*?<\/section>/.exec(page)?.[0] ?? "";
    expect(section.match(/<input type="radio" name="usage-days" value="(\d+)"/g)).toEqual([
      '<input type="radio" name="usage-days" value="30"',
      '<input type="radio" name="usage-days" value="90"',
    ]);
    expect(section).toContain('<div id="usage-chart" class="chart"></div>');
    expect(section.match(/<li><span class="swatch s-(\w+)"/g)?.length).toBe(5);
    expect(section).toMatch(/<table id="usage-table">/);
    for (const read of ["/api/admin/phone-pool/usage?days=", "free_numbers_outside", "createElementNS", "assistant_name", "providers.vapi"])
      expect(SCRIPT).toContain(read);
  });

  it("is not an API route: not in /openapi.json, and other methods answer 405", async () => {
    const doc = await json(await call("GET", "/openapi.json", { token: null }));
    expect(Object.keys(doc.paths)).not.toContain("/admin");
    const post = await call("POST", "/admin", { token: null });
    expect(post.status).toBe(405);
    expect(post.headers.get("Allow")).toBe("GET");
  });
});
