/**
 * `GET /admin`: the operators' dashboard. The page is public, static HTML (no data in it); its script
 * (client.browser.js: checked JavaScript, sent as is) is a static asset named after its content (DASHBOARD_SCRIPT),
 * served without the Worker and kept by browsers. It asks for a platform_admin token once (kept in
 * sessionStorage), then reads and acts through the admin API with it. Live provisioning progress comes from the
 * server-sent events of GET /api/admin/phone-pool/provisioning/events (read with fetch, so the token goes in the
 * Authorization header); the rest reloads every 30 s and whenever a number leaves or joins that stream. Not part
 * of the OpenAPI document (not an API).
 */
import { Hono } from "hono";
import type { FC } from "hono/jsx";
import { NONCE, secureHeaders, type SecureHeadersVariables } from "hono/secure-headers";
import type { AppEnv } from "../../../platform/context";
import scriptAsset from "./script-asset.json";
import { DASHBOARD_STYLE } from "./style";

/**
 * Where the browser finds client.browser.js and the integrity it checks: public/admin/assets/dashboard-<its hash>.js,
 * both written by scripts/static-assets.mjs with script-asset.json (not committed) whenever the file changes.
 */
export const DASHBOARD_SCRIPT: { path: string; integrity: string } = scriptAsset;

type DashboardEnv = { Bindings: AppEnv["Bindings"]; Variables: AppEnv["Variables"] & SecureHeadersVariables };

/** Only this page's nonce'd script (the static asset) and style run; it talks to its own origin and cannot be framed. */
const dashboardHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: [NONCE],
    styleSrc: [NONCE],
    connectSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
});

const Section: FC<{ id: string; title: string; children?: unknown }> = ({ id, title, children }) => (
  <section id={id} aria-labelledby={`${id}-h`}>
    <h2 id={`${id}-h`}>{title}</h2>
    {children}
  </section>
);

/** A table the script fills; on a phone each row becomes a card (see style.ts). */
const Table: FC<{ id: string; caption: string; columns: string[] }> = ({ id, caption, columns }) => (
  <table id={id}>
    <caption class="visually-hidden">{caption}</caption>
    <thead>
      <tr>
        {columns.map((column) => (
          <th scope="col">{column}</th>
        ))}
      </tr>
    </thead>
    <tbody />
  </table>
);

const COUNTS = [
  ["assigned", "Assigned"],
  ["unassigned", "Unassigned"],
  ["provisioning", "Provisioning"],
  ["stuck", "Stuck or failed"],
  ["total", "Total"],
] as const;

/** The chart's switch (GET /api/admin/phone-pool/usage?days=), and its lines: the series the script draws, then the limit. */
const USAGE_PERIODS = [30, 90] as const;
const USAGE_LINES = [
  ["assigned", "Assigned"],
  ["unassigned", "Unassigned"],
  ["provisioning", "Provisioning"],
  ["free_numbers", "Free Vapi numbers held"],
  ["limit", "Free-number limit"],
] as const;

const Page: FC<{ nonce: string }> = ({ nonce }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="robots" content="noindex" />
      <title>Switchboard · Phone pool</title>
      <link rel="icon" href="data:," />
      <style nonce={nonce} dangerouslySetInnerHTML={{ __html: DASHBOARD_STYLE }} />
    </head>
    <body>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <h1>Switchboard phone pool</h1>
        <button id="forget" type="button" hidden>
          Forget token
        </button>
      </header>
      <main id="main" tabindex={-1}>
        <p id="status" role="status" aria-live="polite" />
        <Section id="signin" title="Sign in">
          <p id="signin-error" class="error" role="alert" />
          <form id="token-form">
            <label for="token">Admin token (a JWT with the platform_admin role)</label>
            <input id="token" name="token" type="password" autocomplete="off" spellcheck={false} required aria-describedby="token-help" />
            <p id="token-help" class="hint">
              Where to get one: locally, <code>npm run token -- --role platform_admin</code>; on a deployment, from its identity provider (a
              token with the platform_admin role). Kept in this tab's session storage and sent only to this site's admin API.
            </p>
            <button type="submit">Show the pool</button>
          </form>
        </Section>
        <div id="dashboard" hidden>
          <Section id="pool" title="Free numbers">
            <p class="gauge">
              <label for="gauge">Free Vapi numbers used against the limit</label>
              <meter id="gauge" min={0} max={100} low={60} high={80} optimum={0} value={0} aria-describedby="gauge-text" />
              <span id="gauge-text" aria-live="polite">
                Loading…
              </span>
            </p>
            <dl class="counts">
              {COUNTS.map(([key, label]) => (
                <div>
                  <dt>{label}</dt>
                  <dd id={`count-${key}`}>–</dd>
                </div>
              ))}
            </dl>
            <p id="pool-twilio" class="hint" />
            <p id="origins" class="hint" />
            <p class="hint">
              <span id="updated" />{" "}
              <button id="reload" type="button">
                Reload now
              </button>
            </p>
          </Section>
          <Section id="usage" title="Pool over time">
            <fieldset class="switch">
              <legend>Period</legend>
              {USAGE_PERIODS.map((days) => (
                <label>
                  <input type="radio" name="usage-days" value={String(days)} checked={days === USAGE_PERIODS[0]} /> {days} days
                </label>
              ))}
            </fieldset>
            <div id="usage-chart" class="chart" />
            <ul class="legend" aria-label="Legend">
              {USAGE_LINES.map(([key, label]) => (
                <li>
                  <span class={`swatch s-${key}`} aria-hidden="true" />
                  {label}
                </li>
              ))}
            </ul>
            <p id="usage-note" class="hint" />
            <details>
              <summary>The figures per day</summary>
              <Table
                id="usage-table"
                caption="The pool per day (UTC), at the end of each day; today as of now"
                columns={["Day", "Assigned", "Unassigned", "Provisioning", "Stuck or failed", "Free Vapi numbers", "Limit"]}
              />
            </details>
          </Section>
          <Section id="calls" title="Calls">
            <p id="calls-summary" />
            <p class="empty">No live calls and no caps.</p>
            <Table id="calls-table" caption="Live calls per organisation against their caps" columns={["Organisation", "Live", "Cap"]} />
          </Section>
          <Section id="actions" title="Actions">
            <form id="pre-form">
              <fieldset>
                <legend>Pre-provision free numbers</legend>
                <label for="pre-count">How many (1–50)</label>
                <input id="pre-count" name="count" type="number" min={1} max={50} value={2} required />
                <label for="pre-area">Area code (optional)</label>
                <input
                  id="pre-area"
                  name="area_code"
                  inputmode="numeric"
                  pattern="[2-9][0-9]{2}"
                  maxlength={3}
                  aria-describedby="pre-area-help"
                />
                <p id="pre-area-help" class="hint">
                  Three digits, such as 512.
                </p>
                <button type="submit">Pre-provision</button>
              </fieldset>
            </form>
            <div class="cleanup">
              <button id="cleanup" type="button">
                Cleanup dry run
              </button>
              <div id="cleanup-report" aria-live="polite" />
            </div>
          </Section>
          <Section id="provisioning" title="Provisioning">
            <p id="live" class="hint" />
            <p class="empty">Nothing is provisioning, stuck or failed.</p>
            <ul id="provisioning-list" class="cards" />
          </Section>
          <Section id="alerts" title="Open alerts">
            <p class="empty">No open alerts.</p>
            <ul id="alerts-list" class="cards" />
          </Section>
          <Section id="unassigned" title="Unassigned numbers">
            <p class="empty">No unassigned numbers.</p>
            <Table
              id="unassigned-table"
              caption="Unassigned numbers"
              columns={["Number", "Provider", "Origin", "Area code", "Pool", "Unassigned since", "Cleanup after"]}
            />
          </Section>
          <Section id="import" title="Vapi import">
            <p class="empty">
              No import yet: run <code>POST /api/admin/vapi/import</code> (a dry run by default).
            </p>
            <p id="import-summary" hidden />
            <details id="import-details" hidden>
              <summary id="import-details-title">What was left alone or not done, and why</summary>
              <ul id="import-entries" class="plain" />
            </details>
          </Section>
          <Section id="twilio" title="Twilio per organisation">
            <p id="twilio-summary" />
            <p class="empty">No organisation has Twilio.</p>
            <Table
              id="twilio-table"
              caption="Twilio per organisation"
              columns={["Organisation", "Configured", "Auto-purchase", "Numbers", "Bought this month", "Purchased, held"]}
            />
          </Section>
          <Section id="history" title="Recent history">
            <p class="empty">No events yet.</p>
            <Table
              id="history-table"
              caption="Recent history, newest first"
              columns={["When", "Event", "Number", "Organisation", "Assistant"]}
            />
          </Section>
        </div>
      </main>
      <footer>
        <p>
          Data comes from the admin API (<a href="/docs">docs</a>) with your token; this page holds none.
        </p>
      </footer>
      <script nonce={nonce} src={DASHBOARD_SCRIPT.path} integrity={DASHBOARD_SCRIPT.integrity} />
    </body>
  </html>
);

export const dashboardRouter = new Hono<DashboardEnv>().get("/admin", dashboardHeaders, (c) => {
  c.header("Cache-Control", "no-store");
  return c.html(`<!doctype html>${<Page nonce={c.get("secureHeadersNonce") ?? ""} />}`);
});
