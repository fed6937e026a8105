// The dashboard's script, served as /dashboard/app.js. Plain ES2020 for the browser: no
// template literals (this file is itself one), DOM built with textContent only (never innerHTML),
// the token kept in sessionStorage and sent as `Authorization: Bearer` to the mutating API.
export const APP_JS = String.raw`"use strict";
(function () {
  var TOKEN_KEY = "aegis.token";
  var refreshTimer = null;
  var focusKey = null;

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
    var headers = { Accept: "application/json" };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    if (opts.auth && token()) headers.Authorization = "Bearer " + token();
    return fetch(path, { method: opts.method || "GET", headers: headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), cache: "no-store" })
      .then(function (response) {
        return response.text().then(function (text) {
          var body = null;
          try { body = text ? JSON.parse(text) : null; } catch (e) { body = { message: text }; }
          return { status: response.status, ok: response.ok, body: body };
        });
      });
  }

  function showSession(username) {
    $("login").classList.toggle("hidden", !!username);
    $("session").classList.toggle("hidden", !username);
    $("whoami").textContent = username || "";
    document.body.classList.toggle("signed-in", !!username);
  }

  function signIn(event) {
    event.preventDefault();
    var value = $("login-token").value.trim();
    if (!value) { flash("Paste a Kubernetes bearer token first.", true); return; }
    sessionStorage.setItem(TOKEN_KEY, value);
    checkSession(true);
  }

  function checkSession(announce) {
    if (!token()) { showSession(""); return Promise.resolve(); }
    return api("/api/whoami", { auth: true }).then(function (res) {
      if (res.ok) {
        showSession(res.body.username);
        $("login-token").value = "";
        if (announce) flash("Signed in as " + res.body.username + ".", false);
      } else {
        sessionStorage.removeItem(TOKEN_KEY);
        showSession("");
        flash("Sign-in failed: " + ((res.body && res.body.message) || res.status), true);
      }
    });
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    showSession("");
    flash("Signed out.", false);
  }

  function riskClass(score) { return score >= 70 ? "high" : score >= 40 ? "medium" : "low"; }
  function keyOf(item) { return item.namespace + "/" + item.name; }
  function when(iso) { return iso ? new Date(iso).toLocaleString() : ""; }
  function targetText(t) { return t.kind + " " + t.namespace + "/" + t.name; }

  function decide(item, action, card) {
    if (!token()) { flash("Sign in with a Kubernetes token to approve or reject.", true); return; }
    var comment = card.querySelector("textarea.comment").value;
    card.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    var path = "/api/approvals/" + encodeURIComponent(item.namespace) + "/" + encodeURIComponent(item.name) + "/" + action;
    api(path, { method: "POST", auth: true, body: { comment: comment, via: "web" } }).then(function (res) {
      if (res.ok) flash((action === "approve" ? "Approved " : "Rejected ") + keyOf(item) + ": now " + res.body.phase + ".", false);
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
    var approve = el("button", { className: "approve", type: "button", text: "Approve" });
    var reject = el("button", { className: "reject", type: "button", text: "Reject" });
    approve.addEventListener("click", function () { decide(item, "approve", card); });
    reject.addEventListener("click", function () { decide(item, "reject", card); });
    card.appendChild(el("div", { className: "actions" }, [approve, reject]));
    if (focusKey === keyOf(item)) card.classList.add("focus");
    return card;
  }

  function renderApprovals(items) {
    var pending = items.filter(function (i) { return i.phase === "Pending"; });
    var decided = items.filter(function (i) { return i.phase !== "Pending"; })
      .sort(function (a, b) { return (b.decidedAt || "").localeCompare(a.decidedAt || ""); });
    var box = $("pending");
    clear(box);
    $("pending-count").textContent = String(pending.length);
    if (!pending.length) box.appendChild(el("p", { className: "empty", text: "Nothing waits for approval." }));
    pending.forEach(function (item) { box.appendChild(pendingCard(item)); });
    var body = $("history").querySelector("tbody");
    clear(body);
    if (!decided.length) body.appendChild(el("tr", {}, [el("td", { className: "empty", colspan: "5", text: "No decided requests yet." })]));
    decided.forEach(function (item) {
      var deciders = item.decisions.map(function (d) { return d.user + " (" + d.decision + " via " + d.via + ")"; }).join(", ");
      body.appendChild(el("tr", { "data-key": keyOf(item) }, [
        el("td", { text: keyOf(item) }), el("td", { text: targetText(item.target) }),
        el("td", { className: "phase phase-" + item.phase, text: item.phase }),
        el("td", { text: deciders || "—" }), el("td", { text: when(item.decidedAt) }),
      ]));
    });
    if (focusKey) {
      var focused = document.querySelector('[data-key="' + focusKey.replace(/"/g, "") + '"]');
      if (focused && focused.scrollIntoView) focused.scrollIntoView({ block: "center" });
    }
  }

  function renderEvidence(res) {
    var list = $("evidence");
    clear(list);
    if (!res.ok) { list.appendChild(el("li", { className: "empty", text: "Evidence not available (" + res.status + ")." })); return; }
    if (!res.body.items.length) list.appendChild(el("li", { className: "empty", text: "No records yet." }));
    res.body.items.forEach(function (r) {
      list.appendChild(el("li", { "data-seq": String(r.seq) }, [
        el("span", { text: "#" + r.seq }), el("span", { text: when(r.time) }),
        el("strong", { text: r.type }), el("span", {}, [el("code", { text: r.subject }), document.createTextNode(" by " + r.actor)]),
      ]));
    });
  }

  function renderThreat(res) {
    var box = $("threat");
    clear(box);
    if (!res.ok || !res.body) { box.appendChild(el("p", { className: "empty", text: "Threat status not available." })); return; }
    var rows = Object.keys(res.body).map(function (k) {
      var v = res.body[k];
      return el("tr", {}, [el("th", { text: k }), el("td", { text: typeof v === "object" ? JSON.stringify(v) : String(v) })]);
    });
    box.appendChild(el("table", {}, [el("tbody", {}, rows)]));
  }

  function renderPolicies(res) {
    var list = $("policies");
    clear(list);
    if (!res.ok) return;
    res.body.items.forEach(function (p) {
      list.appendChild(el("li", { text: p.name + " — " + p.enforcement + ", approval " + p.approval + (p.ready ? "" : " (not ready: " + p.message + ")") }));
    });
  }

  function refresh() {
    api("/api/approvals").then(function (res) {
      if (res.ok) renderApprovals(res.body.items);
      else flash("Could not list requests: " + ((res.body && res.body.message) || res.status), true);
    });
    api("/api/evidence?limit=50").then(renderEvidence);
    api("/api/security/status").then(renderThreat, function () { renderThreat({ ok: false }); });
    api("/api/policies").then(renderPolicies);
  }

  function scheduleRefresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(function () { refreshTimer = null; refresh(); }, 150);
  }

  function connectEvents() {
    if (!window.EventSource) return;
    var source = new EventSource("/api/events");
    var badge = $("live");
    source.onopen = function () { badge.textContent = "live"; badge.className = "badge live"; };
    source.onerror = function () { badge.textContent = "offline"; badge.className = "badge offline"; };
    ["approval", "policy", "evidence", "threat", "selfhealing"].forEach(function (topic) {
      source.addEventListener(topic, scheduleRefresh);
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
    checkSession(false);
    refresh();
    connectEvents();
    setInterval(refresh, 30000);
  });
})();
`;
