// The dashboard's one HTML page. No inline script or style: the Content-Security-Policy allows
// only /dashboard/app.js and /dashboard/app.css from this origin.
export const INDEX_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>AEGIS approvals</title>
<link rel="stylesheet" href="/dashboard/app.css">
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<header class="top">
  <h1>AEGIS</h1>
  <span id="live" class="badge offline" title="live updates">offline</span>
  <form id="login" class="login" autocomplete="off">
    <label for="login-token">Kubernetes token</label>
    <input id="login-token" type="password" placeholder="paste a bearer token (kubectl create token …)" spellcheck="false">
    <button id="login-button" type="submit">Sign in</button>
    <a id="sso-login" class="hidden" href="/auth/login">Sign in with SSO</a>
  </form>
  <div id="session" class="session hidden">
    <span>Signed in as <strong id="whoami"></strong></span>
    <button id="logout-button" type="button">Sign out</button>
  </div>
</header>
<div id="flash" class="flash hidden" role="status"></div>
<section id="lockdown" class="banner hidden" aria-live="polite" aria-label="Lockdown"></section>
<main>
  <section class="panel wide">
    <h2>Pending requests <span id="pending-count" class="count">0</span></h2>
    <div id="pending" class="cards"><p class="empty">Nothing waits for approval.</p></div>
  </section>
  <section class="panel wide" aria-labelledby="charts-title">
    <h2 id="charts-title">Activity</h2>
    <div class="charts">
      <figure id="chart-admissions" class="chart"></figure>
      <figure id="chart-decision-time" class="chart"></figure>
      <figure id="chart-risk" class="chart"></figure>
    </div>
  </section>
  <section class="panel wide">
    <h2>Threat status</h2>
    <div id="threat"><p class="empty">loading…</p></div>
  </section>
  <section class="panel wide" aria-labelledby="risk-title">
    <h2 id="risk-title">Risk scoring</h2>
    <div id="risk"><p class="empty">loading…</p></div>
  </section>
  <section class="panel wide" aria-labelledby="audit-title">
    <h2 id="audit-title">Audit of what runs <span id="audit-count" class="count">0</span></h2>
    <div id="audit"><p class="empty">loading…</p></div>
  </section>
  <section class="panel wide">
    <h2>History</h2>
    <div class="table-scroll">
      <table id="history" class="stack"><thead><tr><th>Request</th><th>Target</th><th>Phase</th><th>Decided by</th><th>When</th></tr></thead><tbody></tbody></table>
    </div>
  </section>
  <section class="panel wide">
    <h2>Policies</h2>
    <ul id="policies" class="plain"></ul>
  </section>
  <section class="panel wide">
    <h2>Evidence timeline</h2>
    <ol id="evidence" class="timeline"></ol>
  </section>
</main>
<footer>AEGIS · decisions are recorded as <code>via: web</code> under the token's identity</footer>
</body>
</html>
`;
