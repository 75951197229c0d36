/**
 * The dashboard's inline script: plain browser JavaScript, sent as is (no build step). Everything it shows comes
 * from the admin API and is put in the page with textContent, never as HTML. Kept free of backticks and "${" so
 * it can live in this String.raw literal.
 *
 * Two sources: a full reload (GET /api/admin/phone-pool and the history) every 30 s, and the provisioning
 * progress live from GET /api/admin/phone-pool/provisioning/events, read with fetch() (EventSource cannot send
 * the Authorization header) and a small server-sent-events parser. While the stream is live it alone draws the
 * progress cards; when a number appears, leaves (it became active) or changes state, the rest is reloaded at once.
 * When the stream ends or fails: a reload, then a reconnect after 1 s, 2 s, 4 s… at most 30 s. A hidden tab
 * holds no stream and does not reload.
 */
export const DASHBOARD_SCRIPT = String.raw`
"use strict";
(function () {
  var KEY = "switchboard.adminToken";
  var SLOW_MS = 30000;
  var EVENTS = "/api/admin/phone-pool/provisioning/events";
  var RETRY_BASE_MS = 1000, RETRY_MAX_MS = 30000;
  var HEALTHY_MS = 30000; // a stream that delivered events for this long ended normally: reconnect at once
  var SILENCE_MS = 45000; // the server writes at least every 15 s (a keepalive): longer silence is a dead connection
  var $ = function (id) { return document.getElementById(id); };
  var timer = null, inflight = null, reloadAfter = false, last = {};
  var stream = null, retryTimer = null, failures = 0, shown = "";

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
    stopStream();
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
  /** The error for a refused request (the API's one error shape); 401 and 403 ask for a token again. */
  function refusal(res, json) {
    var error = (json && json.error) || {};
    var text = (error.message || "HTTP " + res.status) + " (" + (error.code || res.status) + ", request " + res.headers.get("X-Request-Id") + ")";
    if (res.status === 401) return new AuthError("The token was refused: " + text + ". Enter a valid platform_admin token.");
    if (res.status === 403) return new AuthError("This token may not use the admin API: " + text + ". Enter a platform_admin token.");
    return new Error(text);
  }
  function api(method, path, body) {
    var headers = { Authorization: "Bearer " + token() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (res) {
        return res.json().catch(function () { return null; }).then(function (json) {
          if (res.ok) return json;
          throw refusal(res, json);
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
    shown = items.map(function (p) { return p.phone_number_id + ":" + p.status; }).sort().join(",");
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
    inflight = Promise.all([api("GET", "/api/admin/phone-pool"), api("GET", "/api/admin/phone-pool/history?limit=20")])
      .then(function (answers) {
        var pool = answers[0], history = answers[1];
        $("signin").hidden = true;
        $("dashboard").hidden = false;
        $("forget").hidden = false;
        renderPool(pool.stats);
        if (!(stream && stream.live)) renderProvisioning(pool.provisioning); // the live stream's is newer
        if (changed("alerts", pool.alerts)) renderAlerts(pool.alerts);
        if (changed("unassigned", pool.unassigned)) renderUnassigned(pool.unassigned);
        if (changed("twilio", pool.twilio)) renderTwilio(pool.twilio);
        if (changed("history", history.events)) renderHistory(history.events);
        $("updated").textContent = "Updated " + new Date().toLocaleTimeString() + "; again every 30 s.";
      })
      .catch(failed)
      .then(function () {
        inflight = null;
        if (reloadAfter) { reloadAfter = false; return load(); }
        if (token() && !hidden()) timer = setTimeout(load, SLOW_MS);
      });
    return inflight;
  }
  function start() {
    $("signin-error").textContent = "";
    say("Loading the pool…");
    last = {};
    load().then(function () {
      if ($("dashboard").hidden) return;
      say("Pool loaded.");
      failures = 0;
      connectStream();
    });
  }

  // ---- live provisioning progress: server-sent events over fetch() -----------------------------------------
  function hidden() { return document.visibilityState === "hidden"; }
  function showLive(text) { $("live").textContent = text; }
  /** Ends the stream on purpose (hidden tab, token gone): no fallback, no reconnect. */
  function stopStream() {
    clearTimeout(retryTimer);
    var s = stream;
    stream = null;
    if (s) { clearTimeout(s.watchdog); s.controller.abort(); }
  }
  /** Restarts the silence watchdog: a connection quiet for SILENCE_MS is dropped and reconnected. */
  function heard(s) {
    clearTimeout(s.watchdog);
    s.watchdog = setTimeout(function () { s.controller.abort(); }, SILENCE_MS);
  }
  function connectStream() {
    clearTimeout(retryTimer);
    if (stream || hidden() || !token() || $("dashboard").hidden) return;
    var s = { controller: new AbortController(), live: false, opened: Date.now(), watchdog: null };
    stream = s;
    showLive("Connecting to live progress…");
    heard(s);
    fetch(EVENTS, { headers: { Authorization: "Bearer " + token(), Accept: "text/event-stream" }, cache: "no-store", signal: s.controller.signal })
      .then(function (res) {
        if (!res.ok || !res.body) return res.json().catch(function () { return null; }).then(function (json) { throw refusal(res, json); });
        return readEvents(res.body.getReader(), s);
      })
      .then(function () { streamEnded(s, null); }, function (error) { streamEnded(s, error); });
  }
  /** The stream ended (the server's time bound), failed or went silent: reload now, reconnect with backoff. */
  function streamEnded(s, error) {
    clearTimeout(s.watchdog);
    if (stream !== s) return; // stopped on purpose
    stream = null;
    s.controller.abort();
    if (error instanceof AuthError) { askForToken(error.message); return; }
    failures = s.live && Date.now() - s.opened >= HEALTHY_MS ? 0 : failures + 1;
    var delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * Math.pow(2, Math.max(0, failures - 1)) * (0.8 + 0.4 * Math.random()));
    var why = !error ? "Live progress ended" : error.name === "AbortError" ? "Live progress went silent" : "Live progress failed (" + (error.message || error) + ")";
    showLive(why + "; reconnecting in " + Math.ceil(delay / 1000) + " s.");
    load();
    if (!hidden()) retryTimer = setTimeout(connectStream, delay);
  }
  /** A small SSE parser: lines end with CRLF, LF or CR; a blank line dispatches; lines starting ":" are comments. */
  function readEvents(reader, s) {
    var decoder = new TextDecoder(), buffer = "", type = "", data = [];
    function line(text) {
      if (text === "") {
        if (data.length) onEvent(s, type || "message", data.join("\n"));
        type = "";
        data = [];
      } else if (text.charAt(0) !== ":") { // ":" starts a comment: the server's keepalive
        var colon = text.indexOf(":");
        var field = colon < 0 ? text : text.slice(0, colon);
        var value = colon < 0 ? "" : text.slice(colon + 1).replace(/^ /, "");
        if (field === "event") type = value;
        else if (field === "data") data.push(value);
      }
    }
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done || stream !== s) return;
        heard(s);
        buffer += decoder.decode(chunk.value, { stream: true });
        var cut = buffer.charAt(buffer.length - 1) === "\r" ? buffer.length - 1 : buffer.length; // a CR may be half a CRLF
        var lines = buffer.slice(0, cut).split(/\r\n|\r|\n/);
        buffer = lines.pop() + buffer.slice(cut);
        lines.forEach(line);
        return pump();
      });
    }
    return pump();
  }
  function onEvent(s, type, data) {
    if (stream !== s) return;
    if (type === "error") {
      var body = null;
      try { body = JSON.parse(data); } catch (e) { /* not JSON */ }
      throw new Error((body && body.error && body.error.message) || "the server ended the stream");
    }
    if (type !== "provisioning") return;
    var items = JSON.parse(data);
    s.live = true;
    var before = shown;
    renderProvisioning(items);
    showLive("Live: progress shows as it happens (last change " + new Date().toLocaleTimeString() + ").");
    if (shown !== before) load(); // a number appeared, left (it became active) or got stuck: counts and lists changed
  }
  document.addEventListener("visibilitychange", function () {
    if (!token() || $("dashboard").hidden) return;
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

  $("reload").addEventListener("click", function (event) {
    failures = 0;
    connectStream(); // when it was waiting to reconnect
    act(event.currentTarget, function () { return Promise.resolve("Reloaded."); });
  });

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
