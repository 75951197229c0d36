// @ts-check
/**
 * The dashboard's browser code: plain JavaScript, sent as is (no build step) as a static asset, the page's one
 * script element (with its nonce and integrity) at the end of its body. scripts/static-assets.mjs copies it to
 * public/admin/assets/ under a name made of its hash and tells page.tsx that name (script-asset.json); it is no
 * part of the Worker. `npm run typecheck` checks it with the DOM's types (tsconfig.dashboard.json);
 * api-contract.ts checks the admin API's answers fit what it reads (api.ts).
 * Everything it shows comes from the admin API and is put in the page with textContent, never as HTML.
 *
 * Two sources: a full reload (GET /api/admin/phone-pool and the history, GET /api/admin/vapi/import when the
 * last import changed and left something alone or undone, and GET /api/admin/phone-pool/usage for the chart when
 * the pool's counts or the day changed) every 30 s, and the provisioning
 * progress live from GET /api/admin/phone-pool/provisioning/events, read with fetch() (the browser's own SSE
 * client cannot send the Authorization header) and a small server-sent-events parser. While the stream is live
 * it alone draws the progress cards; when a number appears, leaves (it became active) or changes state, the rest
 * is reloaded at once. When the stream ends or fails: a reload, then a reconnect after 1 s, 2 s, 4 s… at most
 * 30 s. A hidden tab holds no stream and does not reload.
 */
/**
 * @import { Alert, CallsOverview, CleanupReport, ErrorBody, HistoryEvent, HistoryPage, PoolOverview, PoolStats } from "./api"
 * @import { PreProvisionRequest, PreProvisionResult, ProvisioningNumber, RefreshResult, TwilioOverview, UnassignedNumber } from "./api"
 * @import { ImportAssistantEntry, ImportNumberEntry, LastImport, NumberOrigin, StoredImport } from "./api"
 * @import { PoolUsage, UsageDay } from "./api"
 */

(() => {
  const KEY = "switchboard.adminToken";
  const SLOW_MS = 30000;
  const EVENTS = "/api/admin/phone-pool/provisioning/events";
  const RETRY_BASE_MS = 1000;
  const RETRY_MAX_MS = 30000;
  const HEALTHY_MS = 30000; // a stream that delivered events for this long ended normally: reconnect at once
  const SILENCE_MS = 45000; // the server writes at least every 15 s (a keepalive): longer silence is a dead connection

  // ---- the page ----------------------------------------------------------------------------------------------
  /**
   * The page's element with this id, of this type: page.tsx and this script are written together, so a missing
   * or different element is a bug, reported at once rather than as a null later.
   * @template {Element} T
   * @param {string} id
   * @param {{ new (): T }} type
   * @returns {T}
   */
  function byId(id, type) {
    return ofType(document.getElementById(id), type, `#${id}`);
  }
  /**
   * The first element under `root` matching `selector`, of this type.
   * @template {Element} T
   * @param {ParentNode} root
   * @param {string} selector
   * @param {{ new (): T }} type
   * @returns {T}
   */
  function find(root, selector, type) {
    return ofType(root.querySelector(selector), type, selector);
  }
  /**
   * @template {Element} T
   * @param {Element | null} el
   * @param {{ new (): T }} type
   * @param {string} what
   * @returns {T}
   */
  function ofType(el, type, what) {
    if (!(el instanceof type)) throw new Error(`The dashboard has no ${what} of the expected kind.`);
    return el;
  }

  const ui = {
    status: byId("status", HTMLElement),
    forget: byId("forget", HTMLButtonElement),
    signin: byId("signin", HTMLElement),
    signinError: byId("signin-error", HTMLElement),
    tokenForm: byId("token-form", HTMLFormElement),
    token: byId("token", HTMLInputElement),
    dashboard: byId("dashboard", HTMLElement),
    gauge: byId("gauge", HTMLMeterElement),
    gaugeText: byId("gauge-text", HTMLElement),
    origins: byId("origins", HTMLElement),
    poolTwilio: byId("pool-twilio", HTMLElement),
    usageChart: byId("usage-chart", HTMLElement),
    usageNote: byId("usage-note", HTMLElement),
    usageTable: byId("usage-table", HTMLTableElement),
    callsSummary: byId("calls-summary", HTMLElement),
    callsTable: byId("calls-table", HTMLTableElement),
    updated: byId("updated", HTMLElement),
    reload: byId("reload", HTMLButtonElement),
    preForm: byId("pre-form", HTMLFormElement),
    preCount: byId("pre-count", HTMLInputElement),
    preArea: byId("pre-area", HTMLInputElement),
    cleanup: byId("cleanup", HTMLButtonElement),
    cleanupReport: byId("cleanup-report", HTMLElement),
    live: byId("live", HTMLElement),
    provisioningList: byId("provisioning-list", HTMLUListElement),
    alertsList: byId("alerts-list", HTMLUListElement),
    unassignedTable: byId("unassigned-table", HTMLTableElement),
    importNone: find(byId("import", HTMLElement), ".empty", HTMLElement),
    importSummary: byId("import-summary", HTMLElement),
    importDetails: byId("import-details", HTMLDetailsElement),
    importDetailsTitle: byId("import-details-title", HTMLElement),
    importEntries: byId("import-entries", HTMLUListElement),
    twilioSummary: byId("twilio-summary", HTMLElement),
    twilioTable: byId("twilio-table", HTMLTableElement),
    historyTable: byId("history-table", HTMLTableElement),
  };
  const preSubmit = find(ui.preForm, "button", HTMLButtonElement);
  const COUNTS = /** @type {const} */ (["assigned", "unassigned", "provisioning", "stuck", "total"]);
  const counts = COUNTS.map((key) => /** @type {const} */ ([key, byId(`count-${key}`, HTMLElement)]));

  /** @typedef {Node | string | null | undefined} Child */
  /**
   * A new element: `text` becomes its textContent, other props its attributes (null and undefined are left out).
   * @template {keyof HTMLElementTagNameMap} K
   * @param {K} tag
   * @param {Record<string, string | null | undefined> | null} props
   * @param {...Child} children
   * @returns {HTMLElementTagNameMap[K]}
   */
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(props ?? {})) {
      if (key === "text") el.textContent = value ?? "";
      else if (value !== null && value !== undefined) el.setAttribute(key, value);
    }
    for (const child of children) if (child != null) el.append(child);
    return el;
  }
  /** @param {string | null} iso */
  function when(iso) {
    if (!iso) return "–";
    return h("time", { datetime: iso, text: new Date(iso).toLocaleString() });
  }
  /** @param {number} n */
  function money(n) {
    return `$${Number(n).toFixed(2)}`;
  }
  /** @param {number} n @param {string} word */
  function count(n, word) {
    return `${n} ${word}${n === 1 ? "" : "s"}`;
  }
  /** @type {Record<NumberOrigin, string>} */
  const ORIGINS = { made_here: "made here", adopted: "adopted", org_twilio: "organisation's Twilio" };
  /** @param {NumberOrigin} origin */
  function originText(origin) {
    return ORIGINS[origin] || origin;
  }
  /** @param {string} text */
  function say(text) {
    ui.status.textContent = text;
  }
  /**
   * What went wrong, in words.
   * @param {unknown} error
   */
  function describe(error) {
    return error instanceof Error ? error.message || String(error) : String(error);
  }

  // ---- the token ---------------------------------------------------------------------------------------------
  function token() {
    return sessionStorage.getItem(KEY);
  }
  /** @param {string} [message] */
  function askForToken(message) {
    sessionStorage.removeItem(KEY);
    clearTimeout(timer);
    stopStream();
    ui.dashboard.hidden = true;
    ui.forget.hidden = true;
    ui.signin.hidden = false;
    say(""); // the refusal takes the place of "Loading the pool…"
    ui.signinError.textContent = message || "";
    ui.token.value = "";
    ui.token.focus();
  }
  ui.tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = ui.token.value.trim().replace(/^Bearer\s+/i, "");
    if (!value) return;
    sessionStorage.setItem(KEY, value);
    start();
  });
  ui.forget.addEventListener("click", () => askForToken("Token forgotten. Enter a token to continue."));

  // ---- the API -----------------------------------------------------------------------------------------------
  /** A refusal of the token itself (401, 403): the page asks for a token again. */
  class AuthError extends Error {}
  /**
   * The error for a refused request (the API's one error shape); 401 and 403 ask for a token again.
   * @param {Response} res
   * @param {ErrorBody | null} json
   */
  function refusal(res, json) {
    const error = json?.error || {};
    const requestId = res.headers.get("X-Request-Id"); // absent when the answer is not the Worker's (an edge error page)
    const text = `${error.message || `HTTP ${res.status}`} (${error.code || res.status}${requestId ? `, request ${requestId}` : ""})`;
    if (res.status === 401) return new AuthError(`The token was refused: ${text}. Enter a valid platform_admin token.`);
    if (res.status === 403) return new AuthError(`This token may not use the admin API: ${text}. Enter a platform_admin token.`);
    return new Error(text);
  }
  /**
   * Calls the admin API with the token; the JSON answer, typed by the functions below.
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @returns {Promise<any>}
   */
  function api(method, path, body) {
    /** @type {Record<string, string>} */
    const headers = { Authorization: `Bearer ${token()}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }).then((res) =>
      res
        .json()
        .catch(() => null)
        .then((json) => {
          if (res.ok) return json;
          throw refusal(res, json);
        }),
    );
  }
  /** @returns {Promise<PoolOverview>} */
  const readPool = () => api("GET", "/api/admin/phone-pool");
  /** @returns {Promise<HistoryPage>} */
  const readHistory = () => api("GET", "/api/admin/phone-pool/history?limit=20");
  /** @param {number} days @returns {Promise<PoolUsage>} */
  const readUsage = (days) => api("GET", `/api/admin/phone-pool/usage?days=${days}`);
  /** @param {string} id @returns {Promise<RefreshResult>} */
  const refreshNumber = (id) => api("POST", `/api/admin/phone-numbers/${encodeURIComponent(id)}/refresh`);
  /** @param {number} id @returns {Promise<Alert>} */
  const resolveAlert = (id) => api("POST", `/api/admin/alerts/${id}/resolve`);
  /** @param {PreProvisionRequest} body @returns {Promise<PreProvisionResult>} */
  const preProvision = (body) => api("POST", "/api/admin/phone-pool/pre-provision", body);
  /** @returns {Promise<CleanupReport>} */
  const cleanupDryRun = () => api("POST", "/api/admin/phone-pool/cleanup?dry_run=true");
  /** @returns {Promise<StoredImport>} */
  const readImport = () => api("GET", "/api/admin/vapi/import");

  /** @param {unknown} error */
  function failed(error) {
    if (error instanceof AuthError) askForToken(error.message);
    else say(`Error: ${describe(error)}`);
  }
  /**
   * Runs an action from a button: disabled while it runs, its outcome announced, then the data reloaded.
   * @param {HTMLButtonElement} button
   * @param {() => Promise<string | undefined>} run
   */
  function act(button, run) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    return run()
      .then((message) => {
        if (message) say(message);
        return load();
      }, failed)
      .then(() => {
        button.disabled = false;
        button.removeAttribute("aria-busy");
      });
  }
  /**
   * A button that runs `run` with act().
   * @param {string} text
   * @param {string} label its accessible name
   * @param {() => Promise<string | undefined>} run
   */
  function actionButton(text, label, run) {
    const button = h("button", { type: "button", text, "aria-label": label });
    button.addEventListener("click", () => act(button, run));
    return button;
  }

  // ---- rendering ---------------------------------------------------------------------------------------------
  /** @type {Record<string, string>} */
  let last = {};
  /** @param {string} name @param {unknown} data */
  function changed(name, data) {
    const json = JSON.stringify(data);
    if (last[name] === json) return false;
    last[name] = json;
    return true;
  }
  /** @param {string} sectionId @param {boolean} isEmpty */
  function showEmpty(sectionId, isEmpty) {
    const section = byId(sectionId, HTMLElement);
    find(section, ".empty", HTMLElement).hidden = !isEmpty;
    const list = section.querySelector("table, ul");
    if (list instanceof HTMLElement) list.hidden = isEmpty;
  }
  /**
   * Puts one row per item in the table's body; each cell is labelled with its column (a card on a phone).
   * @param {HTMLTableElement} table
   * @param {Child[][]} rows
   * @param {(string | null)[]} [classes] a class per row
   */
  function fillTable(table, rows, classes = []) {
    const labels = Array.from(table.querySelectorAll("thead th"), (th) => th.textContent);
    const body = find(table, "tbody", HTMLTableSectionElement);
    body.replaceChildren(
      ...rows.map((cells, r) => h("tr", { class: classes[r] }, ...cells.map((cell, i) => h("td", { "data-label": labels[i] }, cell)))),
    );
  }

  /** @param {PoolStats} stats */
  function renderPool(stats) {
    ui.gauge.value = Math.min(100, stats.percent_used);
    ui.gauge.textContent = `${stats.percent_used}%`;
    const outside = stats.free_numbers_outside > 0 ? `, incl. ${stats.free_numbers_outside} made outside Switchboard` : "";
    const text = `${stats.free_numbers} of ${stats.limit} free numbers used (${stats.percent_used}%)${outside}`;
    if (ui.gaugeText.textContent !== text) ui.gaugeText.textContent = text;
    const vapi = stats.providers.vapi; // the card counts free Vapi numbers; the organisations' Twilio numbers apart
    for (const [key, el] of counts) el.textContent = String(vapi[key]);
    const t = stats.providers.twilio;
    ui.poolTwilio.textContent = t.total
      ? `Not counted above: ${count(t.total, "Twilio number")} of organisations (${t.assigned} assigned, ${t.unassigned} unassigned).`
      : "";
    const o = stats.by_origin;
    ui.origins.textContent = `Where all ${count(stats.total, "number")} came from: ${o.made_here} ${ORIGINS.made_here}, ${o.adopted} ${ORIGINS.adopted}, ${o.org_twilio} on an ${ORIGINS.org_twilio}.`;
  }

  /** @param {number | null} n */
  const orUnknown = (n) => (n === null ? "unknown" : String(n));
  /** @param {CallsOverview} calls */
  function renderCalls(calls) {
    const how = calls.routing_mode === "edge" ? "enforced" : "measured, not enforced";
    ui.callsSummary.textContent = `Live calls: ${orUnknown(calls.live)} of ${calls.limit} (account total) · routing: ${calls.routing_mode}`;
    const orgs = calls.organizations;
    const full = orgs.map((o) => o.live !== null && o.max_concurrent_calls !== null && o.live >= o.max_concurrent_calls);
    fillTable(
      ui.callsTable,
      orgs.map((o, i) => [
        o.org_id,
        `${orUnknown(o.live)}${full[i] ? " (at or over its cap)" : ""}`,
        o.max_concurrent_calls === null ? "none" : `${o.max_concurrent_calls} (${how})`,
      ]),
      full.map((f) => (f ? "at-cap" : null)),
    );
    showEmpty("calls", orgs.length === 0);
  }

  /**
   * A provisioning card's parts, by phone number id.
   * @typedef {{ li: HTMLLIElement, title: HTMLHeadingElement, meta: HTMLParagraphElement, bar: HTMLProgressElement,
   *   progress: HTMLParagraphElement }} Card
   * @type {Map<string, Card>}
   */
  const cards = new Map();
  let shown = ""; // the cards drawn, as "id:status,…": a change means the counts and lists changed too
  /** @param {string} id */
  function newCard(id) {
    const barId = `progress-${id}`;
    /** @type {Card} */
    const card = {
      li: h("li", { "data-id": id }),
      title: h("h3", { text: "" }),
      meta: h("p", { class: "meta" }),
      bar: h("progress", { id: barId }),
      progress: h("p", { class: "progress-text" }),
    };
    const refresh = actionButton("Refresh", `Refresh number ${id} from Vapi`, () =>
      refreshNumber(id).then((r) => `Number ${r.phone_number.number || id}: Vapi says ${r.outcome}.`),
    );
    card.li.append(card.title, card.meta, h("label", { for: barId, text: "Checks in Vapi" }), card.bar, card.progress, refresh);
    return card;
  }
  /** @param {ProvisioningNumber[]} items */
  function renderProvisioning(items) {
    const seen = new Set();
    for (const p of items) {
      seen.add(p.phone_number_id);
      let card = cards.get(p.phone_number_id);
      if (!card) {
        card = newCard(p.phone_number_id);
        cards.set(p.phone_number_id, card);
        ui.provisioningList.append(card.li);
      }
      const state = p.status === "provisioning" ? "Provisioning" : p.status === "stuck" ? "Stuck" : "Failed";
      const area = p.area_code ? ` · area ${p.area_code}` : "";
      card.title.textContent = `${state}${area}${p.assistant_name ? ` · for ${p.assistant_name}` : " · for the pool"}`;
      card.meta.replaceChildren(
        `Number id ${p.phone_number_id} · origin: ${originText(p.origin)} · started `,
        when(p.started_at),
        " · deadline ",
        when(p.deadline),
      );
      card.bar.max = Math.max(1, p.max_attempts);
      card.bar.value = Math.min(p.attempts, card.bar.max);
      card.bar.textContent = `${p.attempts} of ${p.max_attempts}`;
      card.progress.textContent = `Check ${p.attempts} of ${p.max_attempts}`;
      card.li.className = p.status;
    }
    for (const [id, card] of cards) {
      if (seen.has(id)) continue;
      card.li.remove();
      cards.delete(id);
    }
    showEmpty("provisioning", items.length === 0);
    shown = items
      .map((p) => `${p.phone_number_id}:${p.status}`)
      .sort()
      .join(",");
  }

  /** @param {Alert[]} alerts */
  function renderAlerts(alerts) {
    ui.alertsList.replaceChildren(
      ...alerts.map((a) =>
        h(
          "li",
          { class: "alert" },
          h("h3", { text: `${a.kind.replace(/_/g, " ")} (${a.subject})` }),
          h("p", { text: a.message }),
          h("p", { class: "meta" }, "Since ", when(a.created_at)),
          actionButton("Resolve", `Resolve ${a.kind} (${a.subject})`, () => resolveAlert(a.id).then(() => `Alert ${a.kind} resolved.`)),
        ),
      ),
    );
    showEmpty("alerts", alerts.length === 0);
  }

  /** @param {UnassignedNumber[]} rows */
  function renderUnassigned(rows) {
    fillTable(
      ui.unassignedTable,
      rows.map((u) => [
        u.number || "(no number yet)",
        u.provider,
        originText(u.origin),
        u.area_code || "–",
        u.org_id ? `organisation ${u.org_id}` : "shared",
        when(u.since),
        when(u.cleanup_after),
      ]),
    );
    showEmpty("unassigned", rows.length === 0);
  }

  let importShown = ""; // the `at` of the import shown: an older answer of its report is not drawn
  /** @param {LastImport | null} imported */
  function renderImport(imported) {
    importShown = imported?.at ?? "";
    ui.importDetails.hidden = true;
    ui.importEntries.replaceChildren();
    ui.importNone.hidden = Boolean(imported);
    ui.importSummary.hidden = !imported;
    if (!imported) return;
    const s = imported.summary;
    const dry = imported.dry_run;
    const numbers = dry ? s.numbers_to_adopt : s.numbers_adopted;
    const assistants = dry ? s.assistants_to_adopt : s.assistants_adopted;
    const parts = [
      `listed ${count(s.numbers_listed, "number")} and ${count(s.assistants_listed, "assistant")} in Vapi`,
      `${dry ? "would adopt" : "adopted"} ${count(numbers, "number")} and ${count(assistants, "assistant")}`,
      `${s.left_alone} left as they are`,
      `${s.already_managed} already managed`,
      `${s.failed} failed`,
    ];
    if (s.remaining > 0) parts.push(`${s.remaining} still to do (run it again)`);
    const after = dry ? " Nothing was changed: ?dry_run=false adopts." : "";
    ui.importSummary.replaceChildren(dry ? "Dry run " : "Import ", when(imported.at), `: ${parts.join("; ")}.${after}`);
    if (s.left_alone + s.remaining > 0) {
      readImport().then(renderImportEntries, (error) => {
        delete last.import; // the next load tries again
        failed(error);
      });
    }
  }
  /** @param {ImportNumberEntry | ImportAssistantEntry} e */
  function notDone(e) {
    return e.action === "leave" || ["failed", "not_adopted", "deferred"].includes(e.outcome);
  }
  /**
   * One line of the report: what it is, what became of it, and why.
   * @param {string} what
   * @param {ImportNumberEntry | ImportAssistantEntry} e
   */
  function entryLine(what, e) {
    const done = e.action === "leave" ? "left as it is" : e.outcome.replace(/_/g, " ");
    return h("li", { text: `${what}: ${done}: ${e.reason}${e.error ? ` (${e.error})` : ""}` });
  }
  /** @param {StoredImport} stored */
  function renderImportEntries(stored) {
    if (!stored.report || stored.at !== importShown) return;
    const lines = [
      ...stored.report.numbers.filter(notDone).map((n) => entryLine(`Number ${n.number || n.vapi_phone_number_id}`, n)),
      ...stored.report.assistants.filter(notDone).map((a) => entryLine(`Assistant ${a.name ? `“${a.name}”` : a.vapi_assistant_id}`, a)),
    ];
    ui.importEntries.replaceChildren(...lines);
    ui.importDetailsTitle.textContent = `What was left alone or not done, and why (${lines.length})`;
    ui.importDetails.hidden = lines.length === 0;
  }

  /** @param {TwilioOverview} twilio */
  function renderTwilio(twilio) {
    ui.twilioSummary.textContent =
      `Bought this month: ${twilio.bought_this_month} (${money(twilio.bought_this_month_cost)}), ` +
      `at ${money(twilio.number_monthly_cost)} per number per month.`;
    fillTable(
      ui.twilioTable,
      twilio.organizations.map((o) => [
        o.org_id,
        o.configured ? "yes" : "no",
        o.auto_purchase ? `on${o.area_code ? ` (${o.area_code})` : ""}` : "off",
        `${o.numbers_total} (${o.numbers_assigned} assigned, ${o.numbers_unassigned} unassigned, ${o.numbers_listed} listed)`,
        `${o.bought_this_month} (${money(o.bought_this_month_cost)})`,
        `${o.purchased_held} (${money(o.purchased_monthly_cost)}/month)`,
      ]),
    );
    showEmpty("twilio", twilio.organizations.length === 0);
  }

  /**
   * A North American E.164 number as people write it (+1 512-555-0100); any other as it is.
   * @param {string} e164
   */
  function phoneText(e164) {
    const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
    return m ? `+1 ${m[1]}-${m[2]}-${m[3]}` : e164;
  }
  /** @param {HistoryEvent[]} events */
  function renderHistory(events) {
    fillTable(
      ui.historyTable,
      events.map((e) => [
        when(e.created_at),
        e.event,
        h("span", { title: `Number id ${e.phone_number_id}`, text: e.number ? phoneText(e.number) : "(no number yet)" }),
        e.org_id || "–",
        e.assistant_id ? h("span", { title: `Assistant id ${e.assistant_id}`, text: e.assistant_name || "(no name)" }) : "–",
      ]),
    );
    showEmpty("history", events.length === 0);
  }

  // ---- the pool over time: GET /api/admin/phone-pool/usage, drawn as SVG ------------------------------------
  const SVG_NS = "http://www.w3.org/2000/svg";
  /** The lines, in the legend's order (page.tsx); each is drawn with the class s-<key> (style.ts). */
  const LINES = /** @type {const} */ (["assigned", "unassigned", "provisioning", "free_numbers"]);
  const USAGE_FRESH_MS = 600000; // a chart older than this is read again (a new day) even if the counts did not move
  let usageDrawnAt = 0;
  /**
   * An SVG element with these attributes.
   * @param {string} tag
   * @param {Record<string, string | number>} attrs
   * @param {...(Node | string)} children
   */
  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
    el.append(...children);
    return el;
  }
  /** The top of the y axis and its step: 1, 2 or 5 × 10ⁿ, at most 5 steps. @param {number} max */
  function axisOf(max) {
    const raw = Math.max(1, max) / 5;
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    const step = Math.max(1, [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? magnitude * 10);
    return { top: Math.ceil(Math.max(1, max) / step) * step, step };
  }
  /** @param {UsageDay} d */
  const dayText = (d) =>
    `${d.assigned} assigned, ${d.unassigned} unassigned, ${d.provisioning} provisioning, ${count(d.free_numbers, "free Vapi number")} held`;
  /** "Nov 26" for a YYYY-MM-DD day (a UTC day: shown as such). @param {string} date */
  const shortDay = (date) =>
    new Date(`${date}T00:00:00Z`).toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
  /** @type {PoolUsage | null} */
  let usageShown = null;
  let chartWidth = 0;
  /**
   * The chart, as wide as its box (so its text stays 11 px on a phone): the four lines, the limit's line, the
   * axes, and a title and description for assistive technology.
   * @param {PoolUsage} usage
   */
  function drawChart(usage) {
    const days = usage.series;
    const last = days[days.length - 1];
    if (!last) return;
    chartWidth = ui.usageChart.clientWidth;
    const [W, H, L, R, T, B] = [Math.max(320, Math.round(chartWidth || 720)), 240, 34, 10, 16, 24]; // the view box, the margins
    const n = days.length;
    const { top, step } = axisOf(Math.max(usage.limit, ...days.flatMap((d) => LINES.map((key) => d[key]))));
    /** @param {number} i */
    const x = (i) => L + (n === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (n - 1));
    /** @param {number} v */
    const y = (v) => T + (H - T - B) * (1 - v / top);
    const peak = days.reduce((a, d) => (d.free_numbers > a.free_numbers ? d : a)); // the first day at the most
    const parts = [];
    for (let v = 0; v <= top; v += step) {
      parts.push(svg("line", { class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      parts.push(svg("text", { class: "axis", x: L - 6, y: y(v) + 4, "text-anchor": "end" }, String(v)));
    }
    const every = Math.ceil(n / Math.max(2, Math.floor(W / 110)));
    for (let i = n - 1; i >= 0; i -= every) {
      const anchor = i === n - 1 ? "end" : "middle";
      parts.push(svg("text", { class: "axis", x: x(i), y: H - 6, "text-anchor": anchor }, shortDay(days[i]?.date ?? "")));
    }
    parts.push(
      svg("line", { class: "line s-limit", x1: L, x2: W - R, y1: y(usage.limit), y2: y(usage.limit) }),
      svg("text", { class: "axis", x: W - R, y: y(usage.limit) - 5, "text-anchor": "end" }, `limit ${usage.limit}`),
      ...LINES.map((key) =>
        svg("polyline", { class: `line s-${key}`, points: days.map((d, i) => `${x(i).toFixed(1)},${y(d[key]).toFixed(1)}`).join(" ") }),
      ),
    );
    const summary =
      `From ${days[0]?.date} to ${last.date} (UTC days). Today: ${dayText(last)}, against a limit of ${usage.limit}. ` +
      `Most free numbers held: ${peak.free_numbers}, on ${peak.date}.`;
    ui.usageChart.replaceChildren(
      svg(
        "svg",
        { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "usage-title usage-desc" },
        svg("title", { id: "usage-title" }, `The pool per day over the last ${usage.days} days`),
        svg("desc", { id: "usage-desc" }, summary),
        ...parts,
      ),
    );
  }
  /** @param {PoolUsage} usage */
  function renderUsage(usage) {
    usageShown = usage;
    usageDrawnAt = Date.now();
    drawChart(usage);
    const outside = usage.free_numbers_outside
      ? ` Free numbers include ${usage.free_numbers_outside} made outside Switchboard (as counted now).`
      : "";
    ui.usageNote.textContent = `Each day as at its end (UTC); today as of now.${outside}`;
    const rows = usage.series.map((d) => [
      d.date,
      ...[d.assigned, d.unassigned, d.provisioning, d.stuck, d.free_numbers, usage.limit].map(String),
    ]);
    fillTable(ui.usageTable, rows.reverse());
  }
  window.addEventListener("resize", () => {
    if (usageShown && ui.usageChart.clientWidth !== chartWidth) drawChart(usageShown);
  });
  /** The period the switch shows (the browser may restore a choice made before a reload). */
  function usageDays() {
    const checked = document.querySelector('input[name="usage-days"]:checked');
    return checked instanceof HTMLInputElement ? Number(checked.value) : 30;
  }
  /** Reads and draws the chart for the period the switch shows; an answer for a period no longer shown is dropped. */
  function loadUsage() {
    const days = usageDays();
    return readUsage(days).then((usage) => {
      if (days === usageDays() && token()) renderUsage(usage);
    }, failed);
  }
  for (const radio of document.querySelectorAll('input[name="usage-days"]')) radio.addEventListener("change", loadUsage);

  // ---- loading -----------------------------------------------------------------------------------------------
  /** @type {number | undefined} */
  let timer;
  /** @type {Promise<void> | null} */
  let inflight = null;
  let reloadAfter = false;
  /**
   * Reads the pool and history and shows them; a call during a load gets a fresh load right after it.
   * @returns {Promise<void>}
   */
  function load() {
    if (inflight) {
      reloadAfter = true;
      return inflight;
    }
    clearTimeout(timer);
    inflight = Promise.all([readPool(), readHistory()])
      .then(([pool, history]) => {
        if (!token()) return; // the token was forgotten or refused meanwhile: the sign-in stays
        ui.signin.hidden = true;
        ui.dashboard.hidden = false;
        ui.forget.hidden = false;
        renderPool(pool.stats);
        if (changed("stats", pool.stats) || Date.now() - usageDrawnAt > USAGE_FRESH_MS) loadUsage(); // today's figures moved
        if (!stream?.live) renderProvisioning(pool.provisioning); // the live stream's is newer
        if (changed("calls", pool.calls)) renderCalls(pool.calls);
        if (changed("alerts", pool.alerts)) renderAlerts(pool.alerts);
        if (changed("unassigned", pool.unassigned)) renderUnassigned(pool.unassigned);
        if (changed("import", pool.last_import)) renderImport(pool.last_import);
        if (changed("twilio", pool.twilio)) renderTwilio(pool.twilio);
        if (changed("history", history.events)) renderHistory(history.events);
        ui.updated.textContent = `Updated ${new Date().toLocaleTimeString()}; again every 30 s.`;
      })
      .catch(failed)
      .then(() => {
        inflight = null;
        if (reloadAfter) {
          reloadAfter = false;
          return load();
        }
        if (token() && !hidden()) timer = setTimeout(load, SLOW_MS);
      });
    return inflight;
  }
  function start() {
    ui.signinError.textContent = "";
    say("Loading the pool…");
    last = {};
    load().then(() => {
      if (ui.dashboard.hidden) return;
      say("Pool loaded.");
      failures = 0;
      connectStream();
    });
  }

  // ---- live provisioning progress: server-sent events over fetch() -------------------------------------------
  /**
   * One connection to the event stream.
   * @typedef {{ controller: AbortController, live: boolean, opened: number, watchdog: number | undefined }} Stream
   */
  /** @type {Stream | null} */
  let stream = null;
  /** @type {number | undefined} */
  let retryTimer;
  let failures = 0;

  function hidden() {
    return document.visibilityState === "hidden";
  }
  /** @param {string} text */
  function showLive(text) {
    ui.live.textContent = text;
  }
  /** Ends the stream on purpose (hidden tab, token gone): no fallback, no reconnect. */
  function stopStream() {
    clearTimeout(retryTimer);
    const s = stream;
    stream = null;
    if (s) {
      clearTimeout(s.watchdog);
      s.controller.abort();
    }
  }
  /**
   * Restarts the silence watchdog: a connection quiet for SILENCE_MS is dropped and reconnected.
   * @param {Stream} s
   */
  function heard(s) {
    clearTimeout(s.watchdog);
    s.watchdog = setTimeout(() => s.controller.abort(), SILENCE_MS);
  }
  function connectStream() {
    clearTimeout(retryTimer);
    if (stream || hidden() || !token() || ui.dashboard.hidden) return;
    /** @type {Stream} */
    const s = { controller: new AbortController(), live: false, opened: Date.now(), watchdog: undefined };
    stream = s;
    showLive("Connecting to live progress…");
    heard(s);
    fetch(EVENTS, {
      headers: { Authorization: `Bearer ${token()}`, Accept: "text/event-stream" },
      cache: "no-store",
      signal: s.controller.signal,
    })
      .then((res) => {
        if (!res.ok || !res.body) {
          return res
            .json()
            .catch(() => null)
            .then((json) => {
              throw refusal(res, json);
            });
        }
        return readEvents(res.body.getReader(), s);
      })
      .then(
        () => streamEnded(s, null),
        (error) => streamEnded(s, error),
      );
  }
  /**
   * The stream ended (the server's time bound), failed or went silent: reload now, reconnect with backoff.
   * @param {Stream} s
   * @param {unknown} error null when the server ended it
   */
  function streamEnded(s, error) {
    clearTimeout(s.watchdog);
    if (stream !== s) return; // stopped on purpose
    stream = null;
    s.controller.abort();
    if (error instanceof AuthError) {
      askForToken(error.message);
      return;
    }
    failures = s.live && Date.now() - s.opened >= HEALTHY_MS ? 0 : failures + 1;
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, failures - 1) * (0.8 + 0.4 * Math.random()));
    const why = !error
      ? "Live progress ended"
      : error instanceof Error && error.name === "AbortError"
        ? "Live progress went silent"
        : `Live progress failed (${describe(error)})`;
    showLive(`${why}; reconnecting in ${Math.ceil(delay / 1000)} s.`);
    load();
    if (!hidden()) retryTimer = setTimeout(connectStream, delay);
  }
  /**
   * A small SSE parser: lines end with CRLF, LF or CR; a blank line dispatches; lines starting ":" are comments.
   * @param {ReadableStreamDefaultReader<Uint8Array>} reader
   * @param {Stream} s
   * @returns {Promise<void>}
   */
  function readEvents(reader, s) {
    const decoder = new TextDecoder();
    let buffer = "";
    let type = "";
    /** @type {string[]} */
    let data = [];
    /** @param {string} text */
    function line(text) {
      if (text === "") {
        if (data.length) onEvent(s, type || "message", data.join("\n"));
        type = "";
        data = [];
      } else if (text.charAt(0) !== ":") {
        // ":" starts a comment: the server's keepalive
        const colon = text.indexOf(":");
        const field = colon < 0 ? text : text.slice(0, colon);
        const value = colon < 0 ? "" : text.slice(colon + 1).replace(/^ /, "");
        if (field === "event") type = value;
        else if (field === "data") data.push(value);
      }
    }
    /** @returns {Promise<void>} */
    function pump() {
      return reader.read().then((chunk) => {
        if (chunk.done || stream !== s) return;
        heard(s);
        buffer += decoder.decode(chunk.value, { stream: true });
        const cut = buffer.charAt(buffer.length - 1) === "\r" ? buffer.length - 1 : buffer.length; // a CR may be half a CRLF
        const lines = buffer.slice(0, cut).split(/\r\n|\r|\n/);
        buffer = (lines.pop() ?? "") + buffer.slice(cut);
        lines.forEach(line);
        return pump();
      });
    }
    return pump();
  }
  /**
   * @param {Stream} s
   * @param {string} type
   * @param {string} data
   */
  function onEvent(s, type, data) {
    if (stream !== s) return;
    if (type === "error") {
      /** @type {ErrorBody | null} */
      let body = null;
      try {
        body = JSON.parse(data);
      } catch {
        // not JSON
      }
      throw new Error(body?.error?.message || "the server ended the stream");
    }
    if (type !== "provisioning") return;
    /** @type {ProvisioningNumber[]} */
    const items = JSON.parse(data);
    s.live = true;
    const before = shown;
    renderProvisioning(items);
    showLive(`Live: progress shows as it happens (last change ${new Date().toLocaleTimeString()}).`);
    if (shown !== before) load(); // a number appeared, left (it became active) or got stuck: counts and lists changed
  }
  document.addEventListener("visibilitychange", () => {
    if (!token() || ui.dashboard.hidden) return;
    if (hidden()) {
      stopStream();
      clearTimeout(timer);
      showLive("Live progress paused while this tab is hidden.");
    } else {
      failures = 0;
      load();
      connectStream();
    }
  });

  // ---- the actions -------------------------------------------------------------------------------------------
  ui.reload.addEventListener("click", () => {
    failures = 0;
    connectStream(); // when it was waiting to reconnect
    act(ui.reload, () => Promise.resolve("Reloaded."));
  });

  ui.preForm.addEventListener("submit", (event) => {
    event.preventDefault();
    /** @type {PreProvisionRequest} */
    const body = { count: Number(ui.preCount.value) };
    const area = ui.preArea.value.trim();
    if (area) body.area_code = area;
    act(preSubmit, () => preProvision(body).then((r) => r.message)); // its only button: whatever submitted the form
  });

  ui.cleanup.addEventListener("click", () => {
    act(ui.cleanup, () =>
      cleanupDryRun().then((r) => {
        const would = r.numbers.filter((n) => n.outcome === "would_release" || n.outcome === "would_retry").length;
        const summary =
          `Dry run: ${would} number${would === 1 ? "" : "s"} would be released (unassigned before ` +
          `${new Date(r.cutoff).toLocaleString()}, ${r.unused_number_days} days). Nothing was changed.`;
        say(""); // the report below is the answer (announced there): the status line does not repeat it
        ui.cleanupReport.replaceChildren(h("p", { text: summary }));
        if (r.numbers.length) {
          const lines = r.numbers.map((n) =>
            h("li", {
              text:
                `${n.number || n.phone_number_id} (${n.source}${n.org_id ? `, ${n.org_id}` : ""}): ` +
                `${n.outcome.replace(/_/g, " ")} — ${n.actions.join(", ").replace(/_/g, " ")}${n.error ? ` — ${n.error}` : ""}`,
            }),
          );
          ui.cleanupReport.append(h("ul", { class: "plain" }, ...lines));
        }
        return undefined;
      }),
    );
  });

  if (token()) start();
  else askForToken("");
})();
