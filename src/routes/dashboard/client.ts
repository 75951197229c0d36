/**
 * The dashboard's inline script: plain browser JavaScript, sent as is (no build step). Everything it shows comes
 * from the admin API and is put in the page with textContent, never as HTML. Kept free of backticks and "${" so
 * it can live in this String.raw literal.
 */
export const DASHBOARD_SCRIPT = String.raw`
"use strict";
(function () {
  var KEY = "switchboard.adminToken";
  var FAST_MS = 2000, SLOW_MS = 30000;
  var $ = function (id) { return document.getElementById(id); };
  var timer = null, inflight = null, reloadAfter = false, last = {};

  function h(tag, props) {
    var el = document.createElement(tag);
    for (var k in props || {}) {
      if (k === "text") el.textContent = props[k];
      else if (k === "on") el.addEventListener("click", props[k]);
      else if (props[k] !== null && props[k] !== undefined) el.setAttribute(k, props[k]);
    }
    for (var i = 2; i < arguments.length; i++) if (arguments[i] != null) el.append(arguments[i]);
    return el;
  }
  function when(iso) {
    if (!iso) return "–";
    return h("time", { datetime: iso, text: new Date(iso).toLocaleString() });
  }
  function money(n) { return "$" + Number(n).toFixed(2); }
  function say(text) { $("status").textContent = text; }

  // ---- the token -------------------------------------------------------------------------------------------
  function token() { return sessionStorage.getItem(KEY); }
  function askForToken(message) {
    sessionStorage.removeItem(KEY);
    clearTimeout(timer);
    $("dashboard").hidden = true;
    $("forget").hidden = true;
    $("signin").hidden = false;
    $("signin-error").textContent = message || "";
    $("token").value = "";
    $("token").focus();
  }
  $("token-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var value = $("token").value.trim().replace(/^Bearer\s+/i, "");
    if (!value) return;
    sessionStorage.setItem(KEY, value);
    start();
  });
  $("forget").addEventListener("click", function () { askForToken("Token forgotten. Enter a token to continue."); });

  // ---- the API ---------------------------------------------------------------------------------------------
  function AuthError(message) { this.message = message; }
  function api(method, path, body) {
    var headers = { Authorization: "Bearer " + token() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (res) {
        return res.json().catch(function () { return null; }).then(function (json) {
          if (res.ok) return json;
          var error = (json && json.error) || {};
          var text = (error.message || "HTTP " + res.status) + " (" + (error.code || res.status) + ", request " + res.headers.get("X-Request-Id") + ")";
          if (res.status === 401) throw new AuthError("The token was refused: " + text + ". Enter a valid platform_admin token.");
          if (res.status === 403) throw new AuthError("This token may not use the admin API: " + text + ". Enter a platform_admin token.");
          throw new Error(text);
        });
      });
  }
  function failed(error) {
    if (error instanceof AuthError) askForToken(error.message);
    else say("Error: " + (error.message || error));
  }
  /** Runs an action from a button: disabled while it runs, its outcome announced, then the data reloaded. */
  function act(button, run) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    return run().then(function (message) { if (message) say(message); return load(); }, failed).then(function () {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    });
  }

  // ---- rendering -------------------------------------------------------------------------------------------
  function changed(name, data) {
    var json = JSON.stringify(data);
    if (last[name] === json) return false;
    last[name] = json;
    return true;
  }
  function showEmpty(sectionId, isEmpty) {
    var section = $(sectionId);
    section.querySelector(".empty").hidden = !isEmpty;
    var list = section.querySelector("table, ul");
    if (list) list.hidden = isEmpty;
  }
  function fillTable(id, rows) {
    var table = $(id);
    var labels = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) { return th.textContent; });
    table.tBodies[0].replaceChildren.apply(table.tBodies[0], rows.map(function (cells) {
      return h.apply(null, ["tr", null].concat(cells.map(function (cell, i) { return h("td", { "data-label": labels[i] }, cell); })));
    }));
  }

  function renderPool(stats) {
    var gauge = $("gauge");
    gauge.value = Math.min(100, stats.percent_used);
    gauge.textContent = stats.percent_used + "%";
    var text = stats.free_numbers + " of " + stats.limit + " free numbers used (" + stats.percent_used + "%)";
    if ($("gauge-text").textContent !== text) $("gauge-text").textContent = text;
    ["assigned", "unassigned", "provisioning", "stuck", "total"].forEach(function (key) { $("count-" + key).textContent = String(stats[key]); });
  }

  function renderProvisioning(items) {
    var list = $("provisioning-list");
    var seen = {};
    items.forEach(function (p) {
      seen[p.phone_number_id] = true;
      var li = list.querySelector('[data-id="' + CSS.escape(p.phone_number_id) + '"]');
      if (!li) {
        var barId = "progress-" + p.phone_number_id;
        li = h("li", { "data-id": p.phone_number_id },
          h("h3", { text: "" }),
          h("p", { class: "meta" }),
          h("label", { for: barId, text: "Checks in Vapi" }),
          h("progress", { id: barId }),
          h("p", { class: "progress-text" }),
          h("button", { type: "button", text: "Refresh", "aria-label": "Refresh number " + p.phone_number_id + " from Vapi", on: function (event) {
            var id = p.phone_number_id;
            act(event.currentTarget, function () {
              return api("POST", "/api/admin/phone-numbers/" + encodeURIComponent(id) + "/refresh").then(function (r) {
                return "Number " + (r.phone_number.number || id) + ": Vapi says " + r.outcome + ".";
              });
            });
          } }));
        list.append(li);
      }
      li.querySelector("h3").textContent = (p.status === "provisioning" ? "Provisioning" : p.status === "stuck" ? "Stuck" : "Failed") +
        (p.area_code ? " · area " + p.area_code : "") + (p.assistant_name ? " · for " + p.assistant_name : " · for the pool");
      li.querySelector(".meta").replaceChildren("Number id " + p.phone_number_id + " · started ", when(p.started_at), " · deadline ", when(p.deadline));
      var bar = li.querySelector("progress");
      bar.max = Math.max(1, p.max_attempts);
      bar.value = Math.min(p.attempts, bar.max);
      bar.textContent = p.attempts + " of " + p.max_attempts;
      li.querySelector(".progress-text").textContent = "Check " + p.attempts + " of " + p.max_attempts;
      li.className = p.status;
    });
    Array.from(list.children).forEach(function (li) { if (!seen[li.dataset.id]) li.remove(); });
    showEmpty("provisioning", items.length === 0);
  }

  function renderAlerts(alerts) {
    $("alerts-list").replaceChildren.apply($("alerts-list"), alerts.map(function (a) {
      return h("li", { class: "alert" },
        h("h3", { text: a.kind.replace(/_/g, " ") + " (" + a.subject + ")" }),
        h("p", { text: a.message }),
        h("p", { class: "meta" }, "Since ", when(a.created_at)),
        h("button", { type: "button", text: "Resolve", "aria-label": "Resolve " + a.kind + " (" + a.subject + ")", on: function (event) {
          act(event.currentTarget, function () {
            return api("POST", "/api/admin/alerts/" + a.id + "/resolve").then(function () { return "Alert " + a.kind + " resolved."; });
          });
        } }));
    }));
    showEmpty("alerts", alerts.length === 0);
  }

  function renderUnassigned(rows) {
    fillTable("unassigned-table", rows.map(function (u) {
      return [u.number || "(no number yet)", u.provider, u.area_code || "–", u.org_id ? "organisation " + u.org_id : "shared", when(u.since), when(u.cleanup_after)];
    }));
    showEmpty("unassigned", rows.length === 0);
  }

  function renderTwilio(twilio) {
    $("twilio-summary").textContent = "Bought this month: " + twilio.bought_this_month + " (" + money(twilio.bought_this_month_cost) +
      "), at " + money(twilio.number_monthly_cost) + " per number per month.";
    fillTable("twilio-table", twilio.organizations.map(function (o) {
      return [o.org_id, o.configured ? "yes" : "no", o.auto_purchase ? "on" + (o.area_code ? " (" + o.area_code + ")" : "") : "off",
        o.numbers_total + " (" + o.numbers_assigned + " assigned, " + o.numbers_unassigned + " unassigned, " + o.numbers_listed + " listed)",
        o.bought_this_month + " (" + money(o.bought_this_month_cost) + ")",
        o.purchased_held + " (" + money(o.purchased_monthly_cost) + "/month)"];
    }));
    showEmpty("twilio", twilio.organizations.length === 0);
  }

  function renderHistory(events) {
    fillTable("history-table", events.map(function (e) {
      return [when(e.created_at), e.event, e.number || e.phone_number_id, e.org_id || "–", e.assistant_id || "–"];
    }));
    showEmpty("history", events.length === 0);
  }

  // ---- loading ---------------------------------------------------------------------------------------------
  /** Reads the pool and history and shows them; a call during a load gets a fresh load right after it. */
  function load() {
    if (inflight) { reloadAfter = true; return inflight; }
    clearTimeout(timer);
    var busy = false;
    inflight = Promise.all([api("GET", "/api/admin/phone-pool"), api("GET", "/api/admin/phone-pool/history?limit=20")])
      .then(function (answers) {
        var pool = answers[0], history = answers[1];
        $("signin").hidden = true;
        $("dashboard").hidden = false;
        $("forget").hidden = false;
        renderPool(pool.stats);
        renderProvisioning(pool.provisioning);
        if (changed("alerts", pool.alerts)) renderAlerts(pool.alerts);
        if (changed("unassigned", pool.unassigned)) renderUnassigned(pool.unassigned);
        if (changed("twilio", pool.twilio)) renderTwilio(pool.twilio);
        if (changed("history", history.events)) renderHistory(history.events);
        busy = pool.provisioning.some(function (p) { return p.status === "provisioning"; });
        $("updated").textContent = "Updated " + new Date().toLocaleTimeString() + (busy ? "; every 2 s while numbers provision." : ".");
      })
      .catch(failed)
      .then(function () {
        inflight = null;
        if (reloadAfter) { reloadAfter = false; return load(); }
        if (token()) timer = setTimeout(load, busy ? FAST_MS : SLOW_MS);
      });
    return inflight;
  }
  function start() {
    $("signin-error").textContent = "";
    say("Loading the pool…");
    last = {};
    load().then(function () { if (!$("dashboard").hidden) say("Pool loaded."); });
  }

  $("reload").addEventListener("click", function (event) { act(event.currentTarget, function () { return Promise.resolve("Reloaded."); }); });

  $("pre-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var body = { count: Number($("pre-count").value) };
    var area = $("pre-area").value.trim();
    if (area) body.area_code = area;
    act(event.submitter || $("pre-form").querySelector("button"), function () {
      return api("POST", "/api/admin/phone-pool/pre-provision", body).then(function (r) { return r.message; });
    });
  });

  $("cleanup").addEventListener("click", function (event) {
    act(event.currentTarget, function () {
      return api("POST", "/api/admin/phone-pool/cleanup?dry_run=true").then(function (r) {
        var would = r.numbers.filter(function (n) { return n.outcome === "would_release" || n.outcome === "would_retry"; }).length;
        var summary = "Dry run: " + would + " number" + (would === 1 ? "" : "s") + " would be released (unassigned before " +
          new Date(r.cutoff).toLocaleString() + ", " + r.unused_number_days + " days). Nothing was changed.";
        var report = $("cleanup-report");
        report.replaceChildren(h("p", { text: summary }));
        if (r.numbers.length) {
          report.append(h.apply(null, ["ul", { class: "plain" }].concat(r.numbers.map(function (n) {
            return h("li", { text: (n.number || n.phone_number_id) + " (" + n.source + (n.org_id ? ", " + n.org_id : "") + "): " +
              n.outcome.replace(/_/g, " ") + " — " + n.actions.join(", ").replace(/_/g, " ") + (n.error ? " — " + n.error : "") });
          }))));
        }
        return summary;
      });
    });
  });

  if (token()) start();
  else askForToken("");
})();
`;
