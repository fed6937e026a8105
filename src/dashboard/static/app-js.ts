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
  var stream = null;

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
    sessionStorage.removeItem(TOKEN_KEY);
    showSession("");
    if (stream) { stream.abort(); stream = null; }
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
    api(path, { method: "POST", body: { comment: comment, via: "web" } }).then(function (res) {
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

  function showSignedOut() {
    clear($("pending"));
    $("pending").appendChild(el("p", { className: "empty", text: "Sign in to see the requests of the namespaces you may read." }));
    $("pending-count").textContent = "0";
    clear($("history").querySelector("tbody"));
    clear($("evidence"));
    clear($("threat"));
    clear($("policies"));
  }

  function refresh() {
    if (!signedIn) { showSignedOut(); return; }
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
    var headers = { Accept: "text/event-stream" };
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
    checkSession(false);
    setInterval(refresh, 30000);
  });
})();
`;
