// The dashboard's script, served as /dashboard/app.js. Plain ES2020 for the browser: no
// template literals (this file is itself one), DOM built with textContent only (never innerHTML),
// the token kept in sessionStorage and sent as `Authorization: Bearer` on every API call (reads
// too: the API shows each user only the namespaces RBAC lets them read). The live stream is read
// with fetch, not EventSource, because EventSource cannot send that header.
export const APP_JS = String.raw`"use strict";
(function () {
  var TOKEN_KEY = "aegis.token";
  var refreshTimer = null;
  var focusKey = null;
  var signedIn = false;
  var me = "";
  var stream = null;
  var viaSso = false;

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else if (name === "className") node.className = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

  function flash(message, isError) {
    var box = $("flash");
    box.textContent = message;
    box.className = isError ? "flash error" : "flash";
  }

  function api(path, options) {
    var opts = options || {};
    // The session cookie counts for a POST only with this header (or this origin): CSRF.
    var headers = { Accept: "application/json", "X-Requested-With": "aegis" };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    if (token()) headers.Authorization = "Bearer " + token();
    return fetch(path, { method: opts.method || "GET", headers: headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        return response.text().then(function (text) {
          var body = null;
          try { body = text ? JSON.parse(text) : null; } catch (e) { body = { message: text }; }
          return { status: response.status, ok: response.ok, body: body };
        });
      });
  }

  function showSession(username) {
    var changed = signedIn !== !!username;
    signedIn = !!username;
    me = username || "";
    $("login").classList.toggle("hidden", !!username);
    $("session").classList.toggle("hidden", !username);
    $("whoami").textContent = username || "";
    document.body.classList.toggle("signed-in", !!username);
    if (changed) { refresh(); connectEvents(); }
  }

  function signIn(event) {
    event.preventDefault();
    var value = $("login-token").value.trim();
    if (!value) { flash("Paste a Kubernetes bearer token first.", true); return; }
    sessionStorage.setItem(TOKEN_KEY, value);
    checkSession(true);
  }

  function checkSession(announce) {
    return api("/api/whoami").then(function (res) {
      if (res.ok) {
        viaSso = !token();
        showSession(res.body.username);
        $("login-token").value = "";
        if (announce) flash("Signed in as " + res.body.username + ".", false);
      } else {
        var hadToken = !!token();
        sessionStorage.removeItem(TOKEN_KEY);
        showSession("");
        if (hadToken) flash("Sign-in failed: " + ((res.body && res.body.message) || res.status), true);
      }
    }, function (err) { flash("Could not reach AEGIS: " + err, true); });
  }

  function signOut() {
    // An SSO session lives in an HttpOnly cookie: only the server can clear it.
    if (viaSso) { viaSso = false; api("/auth/logout", { method: "POST" }); }
    sessionStorage.removeItem(TOKEN_KEY);
    showSession("");
    if (stream) { stream.abort(); stream = null; }
    flash("Signed out.", false);
  }

  function riskClass(score) { return score >= 70 ? "high" : score >= 40 ? "medium" : "low"; }
  function keyOf(item) { return item.namespace + "/" + item.name; }
  function when(iso) { return iso ? new Date(iso).toLocaleString() : ""; }
  function targetText(t) { return t.kind + " " + t.namespace + "/" + t.name; }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
  function timeOnly(ms) { return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }); }
  function dayOnly(ms) { return new Date(ms).toLocaleDateString([], { month: "short", day: "numeric" }); }
  function duration(ms) {
    var s = ms / 1000;
    if (s < 90) return Math.round(s) + " s";
    if (s < 90 * 60) return Math.round(s / 60) + " min";
    if (s < 36 * 3600) return (Math.round(s / 360) / 10) + " h";
    return (Math.round(s / 8640) / 10) + " d";
  }

  // Charts: plain SVG built with createElementNS; geometry in attributes, colours in app.css.
  var SVG_NS = "http://www.w3.org/2000/svg";
  var CHART = { w: 360, h: 220, left: 46, right: 12, top: 14, bottom: 48 };
  function svgEl(tag, attrs, children) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else node.setAttribute(name === "className" ? "class" : name, String(attrs[name]));
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }
  function round1(v) { return Math.round(v * 10) / 10; }
  /** A "nice" axis: a max of 1, 2 or 5 times a power of ten, and its tick step. */
  function niceScale(max) {
    if (!(max > 0)) return { max: 1, step: 1 };
    var rough = max / 4;
    var power = Math.pow(10, Math.floor(Math.log10(rough)));
    var step = [1, 2, 5, 10].map(function (m) { return m * power; }).filter(function (s) { return s >= rough; })[0];
    if (step < 1 && max >= 1) step = 1;
    return { max: Math.ceil(max / step) * step, step: step };
  }
  /** Title, caption and the SVG frame (axes and their labels); alt is the chart's text alternative. */
  function chartFigure(id, title, caption, alt, height) {
    var fig = $(id);
    clear(fig);
    fig.appendChild(el("figcaption", {}, [el("h3", { text: title }), caption ? el("p", { className: "meta", text: caption }) : null]));
    var h = height || CHART.h;
    var root = svgEl("svg", { viewBox: "0 0 " + CHART.w + " " + h, role: "img", "aria-label": title + ". " + alt, className: "chart-svg", preserveAspectRatio: "xMidYMid meet" }, [
      svgEl("title", { text: title }), svgEl("desc", { text: alt }),
    ]);
    fig.appendChild(root);
    return root;
  }
  function chartEmpty(id, title, message) {
    var fig = $(id);
    clear(fig);
    fig.appendChild(el("figcaption", {}, [el("h3", { text: title })]));
    fig.appendChild(el("p", { className: "empty", text: message }));
  }
  function axisLabels(root, xLabel, yLabel, h) {
    var bottom = h - CHART.bottom;
    root.appendChild(svgEl("line", { className: "axis", x1: CHART.left, y1: bottom, x2: CHART.w - CHART.right, y2: bottom }));
    root.appendChild(svgEl("line", { className: "axis", x1: CHART.left, y1: CHART.top, x2: CHART.left, y2: bottom }));
    root.appendChild(svgEl("text", { className: "axis-label", x: CHART.left + (CHART.w - CHART.right - CHART.left) / 2, y: h - 6, "text-anchor": "middle", text: xLabel }));
    var cy = CHART.top + (bottom - CHART.top) / 2;
    root.appendChild(svgEl("text", { className: "axis-label", x: 12, y: cy, "text-anchor": "middle", transform: "rotate(-90 12 " + cy + ")", text: yLabel }));
  }
  /** Horizontal grid lines and tick labels of a vertical value axis from 0 to scale.max. */
  function valueAxis(root, scale, h, format) {
    var bottom = h - CHART.bottom;
    for (var v = 0; v <= scale.max + 1e-9; v += scale.step) {
      var y = round1(bottom - (v / scale.max) * (bottom - CHART.top));
      if (v > 0) root.appendChild(svgEl("line", { className: "grid", x1: CHART.left, y1: y, x2: CHART.w - CHART.right, y2: y }));
      root.appendChild(svgEl("text", { className: "tick", x: CHART.left - 5, y: y + 4, "text-anchor": "end", text: format ? format(v) : String(round1(v)) }));
    }
  }
  function legend(entries) {
    return el("ul", { className: "legend" }, entries.map(function (e) {
      return el("li", {}, [el("span", { className: "swatch " + e[0] }), document.createTextNode(e[1])]);
    }));
  }

  var BUCKETS = [60e3, 5 * 60e3, 15 * 60e3, 30 * 60e3, 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 86400e3, 7 * 86400e3];
  function bucketLabel(size) {
    return size < 3600e3 ? (size / 60e3) + "-minute" : size < 86400e3 ? (size / 3600e3) + "-hour" : (size / 86400e3) + "-day";
  }

  /** Allowed and denied admissions per time interval, stacked, from admission.decision records. */
  function renderAdmissionsChart(records) {
    var id = "chart-admissions";
    var title = "Admissions and denials over time";
    var items = records.filter(function (r) { return r.type === "admission.decision" && r.data && typeof r.data.allowed === "boolean" && !isNaN(Date.parse(r.time)); });
    if (!items.length) { chartEmpty(id, title, "No admission decisions recorded yet."); return; }
    var times = items.map(function (r) { return Date.parse(r.time); });
    var min = Math.min.apply(null, times), max = Math.max.apply(null, times);
    var size = BUCKETS.filter(function (s) { return Math.floor(max / s) - Math.floor(min / s) < 12; })[0] || BUCKETS[BUCKETS.length - 1];
    var first = Math.floor(min / size);
    var buckets = [];
    for (var b = first; b <= Math.floor(max / size); b += 1) buckets.push({ start: b * size, allowed: 0, denied: 0 });
    items.forEach(function (r, i) {
      var bucket = buckets[Math.floor(times[i] / size) - first];
      if (bucket) bucket[r.data.allowed ? "allowed" : "denied"] += 1;
    });
    var allowed = items.filter(function (r) { return r.data.allowed; }).length;
    var denied = items.length - allowed;
    var format = size < 86400e3 ? timeOnly : dayOnly;
    var alt = plural(allowed, "admission") + " allowed and " + denied + " denied in the latest " + plural(items.length, "admission decision") +
      ", " + format(min) + " to " + format(max) + ", in " + bucketLabel(size) + " intervals. " +
      buckets.filter(function (k) { return k.allowed + k.denied > 0; }).map(function (k) { return format(k.start) + ": " + k.allowed + " allowed, " + k.denied + " denied"; }).join("; ") + ".";
    var root = chartFigure(id, title, allowed + " allowed · " + denied + " denied · " + bucketLabel(size) + " intervals", alt);
    var h = CHART.h, bottom = h - CHART.bottom, plotH = bottom - CHART.top;
    var scale = niceScale(Math.max.apply(null, buckets.map(function (k) { return k.allowed + k.denied; })));
    valueAxis(root, scale, h);
    var slot = (CHART.w - CHART.right - CHART.left) / buckets.length;
    var labelEvery = Math.ceil(buckets.length / 5);
    buckets.forEach(function (k, i) {
      var x = CHART.left + i * slot + slot * 0.15, w = round1(slot * 0.7);
      var hAllowed = (k.allowed / scale.max) * plotH, hDenied = (k.denied / scale.max) * plotH;
      var label = format(k.start);
      if (k.allowed) root.appendChild(svgEl("rect", { className: "bar allowed", "data-count": k.allowed, x: round1(x), y: round1(bottom - hAllowed), width: w, height: round1(hAllowed) }, [svgEl("title", { text: label + ": " + k.allowed + " allowed" })]));
      if (k.denied) root.appendChild(svgEl("rect", { className: "bar denied", "data-count": k.denied, x: round1(x), y: round1(bottom - hAllowed - hDenied), width: w, height: round1(hDenied) }, [svgEl("title", { text: label + ": " + k.denied + " denied" })]));
      if (i % labelEvery === 0) root.appendChild(svgEl("text", { className: "tick", x: round1(x + w / 2), y: bottom + 14, "text-anchor": "middle", text: label }));
    });
    axisLabels(root, "time (interval start)", "admissions", h);
    $(id).appendChild(legend([["allowed", "Allowed (" + allowed + ")"], ["denied", "Denied (" + denied + ")"]]));
  }

  /** Time from request to decision of the latest decided requests, one horizontal bar each. */
  function renderDecisionTimeChart(items) {
    var id = "chart-decision-time";
    var title = "Time from request to decision";
    var rows = items.filter(function (i) { return (i.phase === "Approved" || i.phase === "Rejected") && i.decidedAt && i.createdAt; })
      .map(function (i) { return { item: i, ms: Math.max(0, Date.parse(i.decidedAt) - Date.parse(i.createdAt)) }; })
      .filter(function (r) { return !isNaN(r.ms); })
      .sort(function (a, b) { return a.item.decidedAt.localeCompare(b.item.decidedAt); })
      .slice(-10);
    if (!rows.length) { chartEmpty(id, title, "No request has been approved or rejected yet."); return; }
    var longest = Math.max.apply(null, rows.map(function (r) { return r.ms; }));
    var unit = longest < 120e3 ? [1e3, "seconds"] : longest < 120 * 60e3 ? [60e3, "minutes"] : longest < 48 * 3600e3 ? [3600e3, "hours"] : [86400e3, "days"];
    var sorted = rows.map(function (r) { return r.ms; }).sort(function (a, b) { return a - b; });
    var median = sorted[Math.floor((sorted.length - 1) / 2)];
    var alt = plural(rows.length, "decided request") + ", median " + duration(median) + ", longest " + duration(longest) + ". " +
      rows.map(function (r) { return keyOf(r.item) + " " + r.item.phase.toLowerCase() + " after " + duration(r.ms); }).join("; ") + ".";
    var rowH = 20, left = 120, top = CHART.top + 8;
    var h = top + rows.length * rowH + CHART.bottom;
    var root = chartFigure(id, title, "median " + duration(median) + " · longest " + duration(longest) + " · latest " + plural(rows.length, "decision"), alt, h);
    var bottom = h - CHART.bottom, right = CHART.w - CHART.right;
    var scale = niceScale(longest / unit[0]);
    for (var v = 0; v <= scale.max + 1e-9; v += scale.step) {
      var gx = round1(left + (v / scale.max) * (right - left));
      if (v > 0) root.appendChild(svgEl("line", { className: "grid", x1: gx, y1: top, x2: gx, y2: bottom }));
      root.appendChild(svgEl("text", { className: "tick", x: gx, y: bottom + 14, "text-anchor": "middle", text: String(round1(v)) }));
    }
    rows.forEach(function (r, i) {
      var y = top + i * rowH;
      var w = Math.max(1, (r.ms / unit[0] / scale.max) * (right - left));
      var name = r.item.target.namespace + "/" + r.item.target.name;
      if (name.length > 18) name = name.slice(0, 17) + "…";
      root.appendChild(svgEl("text", { className: "tick", x: left - 5, y: y + rowH / 2 + 4, "text-anchor": "end", text: name }));
      root.appendChild(svgEl("rect", { className: "bar " + r.item.phase.toLowerCase(), "data-ms": r.ms, x: left, y: y + 3, width: round1(w), height: rowH - 6 },
        [svgEl("title", { text: keyOf(r.item) + ": " + r.item.phase + " after " + duration(r.ms) })]));
    });
    root.appendChild(svgEl("line", { className: "axis", x1: left, y1: bottom, x2: right, y2: bottom }));
    root.appendChild(svgEl("line", { className: "axis", x1: left, y1: top, x2: left, y2: bottom }));
    root.appendChild(svgEl("text", { className: "axis-label", x: left + (right - left) / 2, y: h - 6, "text-anchor": "middle", text: "time to decision (" + unit[1] + ")" }));
    root.appendChild(svgEl("text", { className: "axis-label", x: left - 5, y: top - 6, "text-anchor": "end", text: "request (target)" }));
    $(id).appendChild(legend([["approved", "Approved"], ["rejected", "Rejected"]]));
  }

  /** Risk scores of the latest requests, oldest to newest, with the medium (40) and high (70) bands. */
  function renderRiskChart(items) {
    var id = "chart-risk";
    var title = "Risk scores of recent changes";
    var rows = items.filter(function (i) { return i.risk && typeof i.risk.score === "number"; })
      .sort(function (a, b) { return (a.createdAt || "").localeCompare(b.createdAt || ""); })
      .slice(-20);
    if (!rows.length) { chartEmpty(id, title, "No change has asked for approval yet."); return; }
    var scores = rows.map(function (r) { return r.risk.score; });
    var high = scores.filter(function (s) { return s >= 70; }).length;
    var medium = scores.filter(function (s) { return s >= 40 && s < 70; }).length;
    var mean = Math.round(scores.reduce(function (a, b) { return a + b; }, 0) / scores.length);
    var alt = "Risk of the latest " + plural(rows.length, "change") + ", oldest to newest: average " + mean + " of 100, " + high + " high (70 or more), " + medium + " medium (40 to 69). " +
      rows.map(function (r) { return keyOf(r) + " " + r.risk.score; }).join("; ") + ".";
    var root = chartFigure(id, title, "average " + mean + "/100 · " + high + " high · " + medium + " medium", alt);
    var h = CHART.h, bottom = h - CHART.bottom, plotH = bottom - CHART.top, right = CHART.w - CHART.right;
    valueAxis(root, { max: 100, step: 20 }, h);
    [[40, "medium"], [70, "high"]].forEach(function (band) {
      var y = round1(bottom - (band[0] / 100) * plotH);
      root.appendChild(svgEl("line", { className: "threshold " + band[1], x1: CHART.left, y1: y, x2: right, y2: y }));
      root.appendChild(svgEl("text", { className: "tick band", x: CHART.left + 4, y: y - 3, "text-anchor": "start", text: band[1] }));
    });
    var slot = (right - CHART.left) / rows.length;
    rows.forEach(function (r, i) {
      var cx = round1(CHART.left + slot * (i + 0.5)), cy = round1(bottom - (Math.max(0, Math.min(100, r.risk.score)) / 100) * plotH);
      root.appendChild(svgEl("circle", { className: "point " + riskClass(r.risk.score), "data-score": r.risk.score, cx: cx, cy: cy, r: 4.5 },
        [svgEl("title", { text: keyOf(r) + ": risk " + r.risk.score + "/100 (" + r.phase + ")" })]));
    });
    var firstAt = Date.parse(rows[0].createdAt), lastAt = Date.parse(rows[rows.length - 1].createdAt);
    if (!isNaN(firstAt)) root.appendChild(svgEl("text", { className: "tick", x: CHART.left, y: bottom + 14, "text-anchor": "start", text: dayOnly(firstAt) + " " + timeOnly(firstAt) }));
    if (!isNaN(lastAt) && rows.length > 1) root.appendChild(svgEl("text", { className: "tick", x: right, y: bottom + 14, "text-anchor": "end", text: dayOnly(lastAt) + " " + timeOnly(lastAt) }));
    axisLabels(root, "requests, oldest to newest", "risk score", h);
    $(id).appendChild(legend([["low", "Low (under 40)"], ["medium", "Medium (40–69)"], ["high", "High (70+)"]]));
  }


  function decide(item, action, card) {
    if (!signedIn) { flash("Sign in to approve or reject.", true); return; }
    var box = card.querySelector("textarea.comment");
    var comment = box ? box.value : "";
    card.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    var path = "/api/approvals/" + encodeURIComponent(item.namespace) + "/" + encodeURIComponent(item.name) + "/" + action;
    api(path, { method: "POST", body: { comment: comment, via: "web" } }).then(function (res) {
      if (res.ok) flash(({ approve: "Approved ", reject: "Rejected ", revoke: "Revoked your approval of " })[action] + keyOf(item) + ": now " + res.body.phase + ".", false);
      else flash("Could not " + action + " " + keyOf(item) + ": " + ((res.body && res.body.message) || res.status), true);
      card.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      refresh();
    }, function (err) {
      flash("Could not reach AEGIS: " + err, true);
      card.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
    });
  }

  function factorList(factors) {
    if (!factors.length) return null;
    return el("ul", { className: "factors" }, factors.map(function (f) {
      return el("li", { text: f.name + " +" + f.points + (f.detail ? " — " + f.detail : "") });
    }));
  }

  function pendingCard(item) {
    var card = el("article", { className: "card request", "data-key": keyOf(item) }, [
      el("h3", { text: keyOf(item) }),
      el("div", { className: "meta target", text: targetText(item.target) + " · requested by " + item.requester.username }),
      el("div", { className: "summary", text: item.summary || "(no summary)" }),
      item.reason ? el("div", { className: "meta reason", text: "Reason: " + item.reason }) : null,
      el("div", {}, [el("span", { className: "risk " + riskClass(item.risk.score), text: "Risk " + item.risk.score + "/100" })]),
      factorList(item.risk.factors),
      el("div", { className: "meta policies", text: "Policy: " + item.policies.join(", ") + " · approvals " + item.approvals + "/" + item.requiredApprovals + " · expires " + when(item.expiresAt) }),
      el("textarea", { className: "comment", placeholder: "comment (optional)", maxlength: "2000" }),
    ]);
    if (item.breakGlass) {
      card.classList.add("break-glass");
      card.insertBefore(el("div", { className: "meta break-glass" + (item.reviewOverdue ? " overdue" : ""), text: "BREAK-GLASS by " + item.breakGlass.user + ": " + item.breakGlass.reason + " · already admitted; review " + (item.reviewOverdue ? "OVERDUE since " : "by ") + when(item.reviewDueAt) }), card.querySelector("textarea.comment"));
    }
    if (item.missing && item.missing.length) card.insertBefore(el("div", { className: "meta missing", text: "Missing: " + item.missing.join(", ") }), card.querySelector("textarea.comment"));
    var approve = el("button", { className: "approve", type: "button", text: "Approve" });
    var reject = el("button", { className: "reject", type: "button", text: "Reject" });
    approve.addEventListener("click", function () { decide(item, "approve", card); });
    reject.addEventListener("click", function () { decide(item, "reject", card); });
    var buttons = [approve, reject];
    if (item.approvers && item.approvers.indexOf(me) >= 0) buttons.push(revokeButton(item, card));
    card.appendChild(el("div", { className: "actions" }, buttons));
    if (focusKey === keyOf(item)) card.classList.add("focus");
    return card;
  }

  function revokeButton(item, container) {
    var revoke = el("button", { className: "revoke", type: "button", text: "Revoke my approval" });
    revoke.addEventListener("click", function () { decide(item, "revoke", container); });
    return revoke;
  }

  function renderApprovals(items) {
    var waiting = function (i) { return i.phase === "Pending" || i.phase === "ReviewRequired"; };
    var pending = items.filter(waiting);
    var decided = items.filter(function (i) { return !waiting(i); })
      .sort(function (a, b) { return (b.decidedAt || "").localeCompare(a.decidedAt || ""); });
    var box = $("pending");
    clear(box);
    $("pending-count").textContent = String(pending.length);
    if (!pending.length) box.appendChild(el("p", { className: "empty", text: "Nothing waits for approval." }));
    pending.forEach(function (item) { box.appendChild(pendingCard(item)); });
    var body = $("history").querySelector("tbody");
    clear(body);
    if (!decided.length) body.appendChild(el("tr", { className: "empty-row" }, [el("td", { className: "empty", colspan: "5", text: "No decided requests yet." })]));
    decided.forEach(function (item) {
      var deciders = item.decisions.map(function (d) { return d.user + " (" + d.decision + " via " + d.via + ")"; }).join(", ");
      body.appendChild(el("tr", { "data-key": keyOf(item) }, [
        cell("Request", "", [el("code", { text: keyOf(item) })]), el("td", { "data-label": "Target", text: targetText(item.target) }),
        el("td", { "data-label": "Phase", className: "phase phase-" + item.phase, text: item.phase }),
        el("td", { "data-label": "Decided by", text: deciders || "—" }), el("td", { "data-label": "When", className: "time", text: when(item.decidedAt) }, item.phase === "Approved" && item.approvers && item.approvers.indexOf(me) >= 0 ? [revokeButton(item, body)] : []),
      ]));
    });
    renderDecisionTimeChart(items);
    renderRiskChart(items);
    if (focusKey) {
      var focused = document.querySelector('[data-key="' + focusKey.replace(/"/g, "") + '"]');
      if (focused && focused.scrollIntoView) focused.scrollIntoView({ block: "center" });
    }
  }

  function renderEvidence(res) {
    var list = $("evidence");
    clear(list);
    if (!res.ok) {
      list.appendChild(el("li", { className: "empty", text: "Evidence not available (" + res.status + ")." }));
      chartEmpty("chart-admissions", "Admissions and denials over time", "Evidence not available.");
      return;
    }
    if (!res.body.items.length) list.appendChild(el("li", { className: "empty", text: "No records yet." }));
    renderAdmissionsChart(res.body.items);
    res.body.items.slice(0, 50).forEach(function (r) {
      list.appendChild(el("li", { "data-seq": String(r.seq) }, [
        el("span", { className: "seq", text: "#" + r.seq }), el("span", { className: "time", text: when(r.time) }),
        el("strong", { text: r.type }), el("span", {}, [el("code", { text: r.subject }), document.createTextNode(" by " + r.actor)]),
      ]));
    });
  }

  var SEVERITY_ORDER = ["critical", "high", "medium", "low"];
  function sevBadge(severity) {
    var known = SEVERITY_ORDER.indexOf(severity) >= 0 ? severity : "low";
    return el("span", { className: "sev sev-" + known, text: String(severity || "unknown") });
  }
  function approvalsText(n) { return "+" + n + " approval" + (n === 1 ? "" : "s") + " required"; }
  function lockdownOf(status) { return status && status.lockdown && typeof status.lockdown === "object" ? status.lockdown : null; }

  /** The page-wide lockdown banner: hidden unless a lockdown is active. */
  function renderBanner(status) {
    var banner = $("lockdown");
    clear(banner);
    var lockdown = lockdownOf(status);
    banner.classList.toggle("hidden", !lockdown);
    if (!lockdown) return;
    var extra = Number(status.extraApprovals) || 0;
    var until = lockdown.until ? "until " + when(lockdown.until)
      : lockdown.manual ? "until an operator lifts it (manual lockdown)" : "until the threat level drops";
    banner.appendChild(el("div", { className: "banner-head" }, [
      el("strong", { className: "banner-title", text: "Lockdown active" }),
      extra > 0 ? el("span", { className: "banner-extra", text: approvalsText(extra) + " on every request" }) : null,
    ]));
    banner.appendChild(el("p", { className: "banner-reason", text: lockdown.reason || "no reason given" }));
    banner.appendChild(el("p", { className: "banner-when", text: "Since " + when(lockdown.since) + " · " + until +
      (lockdown.manual ? "" : lockdown.scope === "replica" ? " · this replica only" : "") +
      (lockdown.stale ? " · last read before the threat store stopped answering" : "") }));
  }

  function modeLine(status) {
    var lockdown = lockdownOf(status);
    var extra = Number(status.extraApprovals) || 0;
    if (lockdown) {
      return el("p", { className: "mode mode-lockdown" }, [
        el("strong", { text: "Lockdown" }),
        document.createTextNode(" since " + when(lockdown.since) + (extra > 0 ? " · " + approvalsText(extra) : "")),
      ]);
    }
    var observed = typeof status.observed === "number" ? " · " + plural(status.observed, "admission") + " observed" : "";
    return el("p", { className: "mode mode-normal", text: "Normal mode · no lockdown · " + (extra > 0 ? approvalsText(extra) : "no extra approvals required") + observed });
  }

  function countBadges(counts) {
    return el("div", { className: "sev-counts", "aria-label": "threats by severity" }, SEVERITY_ORDER.map(function (s) {
      var n = Number(counts[s]) || 0;
      return el("span", { className: "sev sev-" + s + (n ? "" : " zero"), "data-severity": s, text: s + " " + n });
    }));
  }

  function sourceText(source) {
    if (!source || typeof source !== "object") return [el("span", { text: String(source || "—") })];
    return [el("span", { className: "meta", text: (source.type || "source") + " " }), el("code", { text: String(source.name || "") })];
  }

  function cell(label, className, children) {
    // One child, so the stacked (phone) layout's label and value sit in two grid columns.
    return el("td", { "data-label": label, className: className || "" }, [el("span", { className: "cell" }, children)]);
  }

  function threatTable(threats) {
    if (!threats.length) return el("p", { className: "empty", text: "No threats detected recently." });
    var head = el("thead", {}, [el("tr", {}, ["Time", "Severity", "Detector", "Source", "Summary"].map(function (t) { return el("th", { scope: "col", text: t }); }))]);
    var body = el("tbody", {}, threats.map(function (t) {
      return el("tr", { className: "threat-row", "data-id": String(t.id || "") }, [
        cell("Time", "time", [document.createTextNode(when(t.at))]),
        cell("Severity", "nowrap", [sevBadge(t.severity)]),
        cell("Detector", "nowrap", [document.createTextNode(String(t.detector || ""))]),
        cell("Source", "", sourceText(t.source)),
        cell("Summary", "prose", [document.createTextNode(String(t.message || ""))]),
      ]);
    }));
    return el("div", { className: "table-scroll" }, [el("table", { id: "threats", className: "threats stack" }, [head, body])]);
  }

  function topSourcesList(sources) {
    return el("div", { className: "top-sources" }, [
      el("h3", { text: "Top sources" }),
      el("ul", { className: "plain sources" }, sources.map(function (s) {
        return el("li", {}, [sevBadge(s.highest), document.createTextNode(" " + (s.type || "") + " "), el("code", { text: String(s.name || "") }),
          document.createTextNode(" · " + plural(Number(s.threats) || 0, "threat"))]);
      })),
    ]);
  }

  function renderThreat(res) {
    var box = $("threat");
    clear(box);
    if (!res.ok || !res.body || typeof res.body !== "object") {
      renderBanner(null);
      box.appendChild(el("p", { className: "empty", text: "Threat status not available." }));
      return;
    }
    var status = res.body;
    renderBanner(status);
    box.appendChild(modeLine(status));
    if (status.breakGlass && status.breakGlass.unreviewed) {
      box.appendChild(el("p", { className: "warn-line break-glass-status", text: "Break-glass: " + status.breakGlass.unreviewed + " change(s) awaiting review, " + status.breakGlass.overdue + " overdue." }));
    }
    if (status.scoped) {
      box.appendChild(el("p", { className: "meta", text: "Threat details name users and namespaces, so they are shown only to those who may read every namespace." }));
      return;
    }
    if (status.state && status.state.healthy === false) {
      box.appendChild(el("p", { className: "warn-line", text: "The shared threat store is not answering" + (status.state.degradedSince ? " since " + when(status.state.degradedSince) : "") + ": these figures are this replica's own." }));
    }
    if (status.counts && typeof status.counts === "object") box.appendChild(countBadges(status.counts));
    if (Array.isArray(status.recent)) box.appendChild(threatTable(status.recent));
    if (Array.isArray(status.topSources) && status.topSources.length) box.appendChild(topSourcesList(status.topSources));
  }

  function renderRisk(res) {
    var box = $("risk");
    clear(box);
    var status = res.ok && res.body && typeof res.body === "object" ? res.body : null;
    if (!status || (!status.riskModel && !status.riskShadow)) {
      box.appendChild(el("p", { className: "empty", text: "Risk figures not available." }));
      return;
    }
    if (status.riskModel) {
      var trained = Number(status.riskModel.trainedOn) || 0;
      box.appendChild(el("p", { className: "risk-model" }, [
        document.createTextNode("Scoring with model "),
        el("code", { text: String(status.riskModel.version) }),
        document.createTextNode(trained ? ", learnt from " + plural(trained, "human decision") + "." : ", not trained yet: the fixed v1 points."),
      ]));
    }
    var shadow = status.riskShadow;
    if (!shadow) return;
    var decided = (Number(shadow.agreed) || 0) + (Number(shadow.missedRejections) || 0);
    box.appendChild(el("div", { className: "sev-counts", "aria-label": "shadow mode" }, [
      el("span", { className: "sev sev-ok", "data-shadow": "agreed", text: "agreed " + (Number(shadow.agreed) || 0) }),
      el("span", { className: "sev sev-high", "data-shadow": "missed-rejection", text: "missed rejections " + (Number(shadow.missedRejections) || 0) }),
      el("span", { className: "sev sev-low", "data-shadow": "undecided", text: "undecided " + (Number(shadow.undecided) || 0) }),
    ]));
    box.appendChild(el("p", { className: "meta shadow-precision", text: decided
      ? "Shadow mode: of " + plural(decided, "change") + " the score would have auto-approved and people decided, they approved " + Math.round(Number(shadow.precision) * 100) + "% (auto-approve precision)."
      : "Shadow mode: no change it would have auto-approved has been decided by a person yet." }));
  }

  var RESULT_SEVERITY = { fail: "high", error: "critical", warn: "medium", pass: "ok", skip: "low" };
  function resultBadge(result) {
    return el("span", { className: "sev sev-" + (RESULT_SEVERITY[result] || "low"), text: String(result || "") });
  }

  function auditCounts(summary) {
    return el("div", { className: "sev-counts", "aria-label": "audit results" }, ["fail", "error", "warn", "pass"].map(function (r) {
      var n = Number(summary[r]) || 0;
      return el("span", { className: "sev sev-" + RESULT_SEVERITY[r] + (n ? "" : " zero"), "data-result": r, text: r + " " + n });
    }));
  }

  function auditTable(view) {
    var head = el("thead", {}, [el("tr", {}, ["Object", "Policy", "Check", "Result", "Message", "Since"].map(function (t) { return el("th", { scope: "col", text: t }); }))]);
    var body = el("tbody", {}, view.findings.map(function (f) {
      return el("tr", { className: "audit-row", "data-result": f.result }, [
        cell("Object", "", [el("code", { text: f.kind + "/" + f.name })]),
        cell("Policy", "nowrap", [document.createTextNode(f.policy)]),
        cell("Check", "nowrap", [document.createTextNode(f.rule)]),
        cell("Result", "nowrap", [resultBadge(f.result)]),
        cell("Message", "prose", [document.createTextNode(f.message)]),
        cell("Since", "time", [document.createTextNode(when(f.since))]),
      ]);
    }));
    return el("div", { className: "table-scroll" }, [el("table", { className: "audit stack" }, [head, body])]);
  }

  function renderAudit(res) {
    var box = $("audit");
    clear(box);
    $("audit-count").textContent = "0";
    if (!res.ok) {
      box.appendChild(el("p", { className: "empty", text: res.status === 404 ? "The audit is not available on this server." : "Audit results not available (" + ((res.body && res.body.message) || res.status) + ")." }));
      return;
    }
    var items = res.body.items;
    var failing = items.reduce(function (n, v) { return n + (Number(v.summary.fail) || 0); }, 0);
    $("audit-count").textContent = String(failing);
    if (!items.length) {
      box.appendChild(el("p", { className: "empty", text: "No audit results yet in the namespaces you may read." }));
      return;
    }
    items.forEach(function (view) {
      var section = el("section", { className: "audit-namespace", "data-namespace": view.namespace }, [
        el("h3", {}, [el("code", { text: view.namespace }), document.createTextNode(" · " + plural(view.reports, "report"))]),
        auditCounts(view.summary),
      ]);
      if (view.findings.length) section.appendChild(auditTable(view));
      else section.appendChild(el("p", { className: "meta", text: "Everything that runs here passes its policies." }));
      if (view.truncated) section.appendChild(el("p", { className: "meta", text: plural(view.truncated, "more result") + " not shown: kubectl aegis report -n " + view.namespace + " lists them all." }));
      box.appendChild(section);
    });
  }

  function renderPolicies(res) {
    var list = $("policies");
    clear(list);
    if (!res.ok) return;
    res.body.items.forEach(function (p) {
      list.appendChild(el("li", { text: p.name + " — " + p.enforcement + ", approval " + p.approval + (p.ready ? "" : " (not ready: " + p.message + ")") }));
    });
  }

  function showSignedOut() {
    clear($("pending"));
    $("pending").appendChild(el("p", { className: "empty", text: "Sign in to see the requests of the namespaces you may read." }));
    $("pending-count").textContent = "0";
    clear($("history").querySelector("tbody"));
    clear($("evidence"));
    clear($("threat"));
    clear($("risk"));
    clear($("policies"));
    clear($("audit"));
    $("audit-count").textContent = "0";
    renderBanner(null);
    ["chart-admissions", "chart-decision-time", "chart-risk"].forEach(function (id) { clear($(id)); });
  }

  function refresh() {
    if (!signedIn) { showSignedOut(); return; }
    api("/api/approvals").then(function (res) {
      if (res.ok) renderApprovals(res.body.items);
      else flash("Could not list requests: " + ((res.body && res.body.message) || res.status), true);
    });
    api("/api/evidence?limit=200").then(renderEvidence);
    api("/api/security/status").then(function (res) { renderThreat(res); renderRisk(res); }, function () { renderThreat({ ok: false }); renderRisk({ ok: false }); });
    api("/api/policies").then(renderPolicies);
    api("/api/reports").then(renderAudit, function () { renderAudit({ ok: false, status: "unreachable" }); });
  }

  function scheduleRefresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(function () { refreshTimer = null; refresh(); }, 150);
  }

  function setLive(live) {
    var badge = $("live");
    badge.textContent = live ? "live" : "offline";
    badge.className = live ? "badge live" : "badge offline";
  }

  // Server-sent events over fetch: frames are separated by a blank line; the event name is all
  // the dashboard needs (it re-reads the API on any hint).
  function connectEvents() {
    if (stream) { stream.abort(); stream = null; }
    setLive(false);
    if (!signedIn || !window.fetch || !window.AbortController || !window.TextDecoder) return;
    var controller = new AbortController();
    stream = controller;
    var headers = { Accept: "text/event-stream", "X-Requested-With": "aegis" };
    if (token()) headers.Authorization = "Bearer " + token();
    fetch("/api/events", { headers: headers, signal: controller.signal, cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok || !response.body) throw new Error("event stream answered " + response.status);
        setLive(true);
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done) throw new Error("event stream ended");
            buffer += decoder.decode(chunk.value, { stream: true });
            var frames = buffer.split("\n\n");
            buffer = frames.pop();
            frames.forEach(function (frame) { if (/^event: /m.test(frame)) scheduleRefresh(); });
            return pump();
          });
        }
        return pump();
      })
      .catch(function () {
        if (stream !== controller) return;
        setLive(false);
        stream = null;
        setTimeout(function () { if (!stream && signedIn) connectEvents(); }, 3000);
      });
  }

  function readHash() {
    var match = /^#\/approvals\/([^/]+)\/([^/]+)$/.exec(location.hash);
    focusKey = match ? decodeURIComponent(match[1]) + "/" + decodeURIComponent(match[2]) : null;
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("login").addEventListener("submit", signIn);
    $("logout-button").addEventListener("click", signOut);
    window.addEventListener("hashchange", function () { readHash(); refresh(); });
    readHash();
    showSignedOut();
    api("/auth/config").then(function (res) {
      if (res.ok && res.body && res.body.enabled) $("sso-login").classList.remove("hidden");
    }, function () {});
    checkSession(false);
    setInterval(refresh, 30000);
  });
})();
`;
