// Single sign-on for the dashboard against a real OpenID provider (node-oidc-provider, certified,
// on loopback; test/fakes/oidc-provider.ts) in headless Chromium: "Sign in with SSO", the
// provider's login form, back to the dashboard signed in as the OIDC user with the prefixes
// kube-apiserver would give, approve a request, and the decision and evidence name that user.
// Then what must be refused: a callback whose state is not the one sent, a tampered, expired or
// doubled session cookie, a cookie-only POST without the dashboard's header (CSRF), an ID token
// signed with a key the provider never published, and a session after sign-out.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiApp } from "../../../src/http/api-server.js";
import { createSso, loadSsoSettings } from "../../../src/http/oidc/index.js";
import { startTestProvider, type TestProvider } from "../../fakes/oidc-provider.js";
import { launchChromium } from "../dashboard/browser.js";
import {
  aegisPolicy,
  approvalRequest,
  DEFAULT_POLICY_SPEC,
  harness,
  listen,
  silentLogger,
  type Harness,
} from "../http/harness.js";

const USER = "oidc:alice@example.com";
const PASSWORD = "correct horse battery staple";
const TTL_SECONDS = 8 * 3600;
const FIRST = "deployment-web-3f2a9c1b0d";

let browser: Browser;
let provider: TestProvider;
let h: Harness;
let server: Server;
let base: string;
let clockOffsetMs = 0;

beforeAll(async () => {
  browser = await launchChromium();
  // AEGIS's port first: the provider must know the redirect URL, AEGIS the issuer.
  const aegis: { app?: ReturnType<typeof createApiApp> } = {};
  server = createServer((req, res) => {
    if (aegis.app) aegis.app(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  provider = await startTestProvider({
    redirectUri: `${base}/auth/callback`,
    accounts: {
      "alice@example.com": {
        password: PASSWORD,
        claims: { email: "alice@example.com", email_verified: true, groups: ["sre-leads", "developers"] },
      },
    },
  });
  const settings = loadSsoSettings(
    {
      oidcIssuer: provider.issuer,
      oidcClientId: provider.clientId,
      oidcUsernameClaim: "email",
      oidcUsernamePrefix: "oidc:",
      oidcGroupsClaim: "groups",
      oidcGroupsPrefix: "oidc:",
      oidcScopes: "openid email groups",
      oidcSessionTtl: TTL_SECONDS,
    },
    { AEGIS_SESSION_SECRET: "x".repeat(48), AEGIS_OIDC_CLIENT_SECRET: provider.clientSecret },
    base,
  );
  if (!settings) throw new Error("SSO settings expected");
  const sso = createSso(settings, { logger: silentLogger, now: () => Date.now() + clockOffsetMs });
  h = harness({ sso: sso.router, sessionIdentity: sso.sessionIdentity });
  // The approvers are the provider's group as RBAC sees it: with the groups prefix.
  h.policies.add(
    aegisPolicy("prod-gate", {
      ...DEFAULT_POLICY_SPEC,
      approval: { mode: "Always", minApprovals: 1, approvers: { users: [], groups: ["oidc:sre-leads"] } },
    }),
  );
  h.auth.approvers.add(USER);
  h.auth.readers.set(USER, "all");
  h.approvals.put(approvalRequest(FIRST));
  aegis.app = createApiApp(h.deps);
});

afterAll(async () => {
  await browser?.close();
  await provider?.close();
  await new Promise<void>((resolve) => {
    server?.closeAllConnections();
    server?.close(() => resolve());
  });
});

/** Clicks "Sign in with SSO" and signs in at the provider; resolves at the page AEGIS sent back. */
async function ssoSignIn(page: Page, password = PASSWORD): Promise<void> {
  await page.goto(`${base}/`);
  await page.locator("#sso-login").click();
  await page.waitForURL(`${provider.issuer}/interaction/**`);
  await page.fill("#username", "alice@example.com");
  await page.fill("#password", password);
  await page.click("#sign-in");
}

async function sessionCookie(context: BrowserContext): Promise<string | undefined> {
  return (await context.cookies(base)).find((cookie) => cookie.name === "aegis_session")?.value;
}

let signedInCookie: string | undefined;
/** A valid session cookie, from a real sign-in in the browser (once). */
async function validCookie(): Promise<string> {
  if (signedInCookie) return signedInCookie;
  const context = await browser.newContext();
  const page = await context.newPage();
  await ssoSignIn(page);
  await page.locator("#whoami", { hasText: USER }).waitFor();
  signedInCookie = await sessionCookie(context);
  await context.close();
  if (!signedInCookie) throw new Error("no session cookie after sign-in");
  return signedInCookie;
}

/** The sealed cookie `v1.BASE64URL` with one bit of byte `at` (negative: from the end) flipped. */
function flipByte(sealed: string, at: number): string {
  const [version, data] = sealed.split(".");
  const bytes = Buffer.from(data ?? "", "base64url");
  const index = at < 0 ? bytes.length + at : at;
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  return `${version ?? ""}.${bytes.toString("base64url")}`;
}

/**
 * The sign-in over plain HTTP, with a cookie jar for the provider: /auth/login, the provider's
 * authorization endpoint, its login form, up to the redirect back to /auth/callback (not followed).
 */
async function signInOverHttp(): Promise<{ callback: URL; loginCookie: string }> {
  const start = await api("/auth/login");
  expect(start.status).toBe(302);
  const loginCookie = /^aegis_oidc=([^;]+)/.exec(
    start.headers.getSetCookie().find((c) => c.startsWith("aegis_oidc=")) ?? "",
  )?.[1];
  if (!loginCookie) throw new Error("no aegis_oidc cookie from /auth/login");
  const jar = new Map<string, string>();
  const go = async (url: URL, init: RequestInit = {}): Promise<Response> => {
    const response = await fetch(url, {
      ...init,
      redirect: "manual",
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; "),
      },
    });
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(";")[0] ?? "";
      const name = pair.slice(0, pair.indexOf("="));
      const value = pair.slice(pair.indexOf("=") + 1);
      if (value === "" || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    return response;
  };
  let url = new URL(start.headers.get("location") ?? "");
  for (let step = 0; step < 10; step++) {
    if (url.href.startsWith(`${base}/auth/callback`)) return { callback: url, loginCookie };
    let response = await go(url);
    if (response.status === 200 && url.pathname.startsWith("/interaction/")) {
      response = await go(new URL(`${url.pathname}/login`, provider.issuer), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ username: "alice@example.com", password: PASSWORD }).toString(),
      });
    }
    const location = response.headers.get("location");
    if (!location)
      throw new Error(`${url.href} answered ${response.status} without a redirect: ${await response.text()}`);
    url = new URL(location, url);
  }
  throw new Error("the sign-in did not come back to /auth/callback in 10 redirects");
}

function api(path: string, init: { cookie?: string; method?: string; headers?: Record<string, string> } = {}) {
  return fetch(`${base}${path}`, {
    method: init.method ?? "GET",
    redirect: "manual",
    headers: {
      ...(init.cookie === undefined ? {} : { cookie: init.cookie }),
      ...(init.method === "POST" ? { "content-type": "application/json" } : {}),
      ...init.headers,
    },
    ...(init.method === "POST" ? { body: JSON.stringify({ comment: "", via: "web" }) } : {}),
  });
}

describe("dashboard single sign-on (OpenID Connect)", () => {
  it("signs in with SSO at the provider, approves a request, and the decision and evidence name the OIDC user", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    await page.goto(`${base}/`);
    await page.locator("#pending .empty", { hasText: "Sign in to see" }).waitFor();
    expect(await page.locator("#sso-login").isVisible()).toBe(true);

    // The provider checks the password: a wrong one stays at its form.
    await ssoSignIn(page, "wrong");
    await page.locator("#error", { hasText: "Wrong username or password" }).waitFor();
    await page.fill("#username", "alice@example.com");
    await page.fill("#password", PASSWORD);
    await page.click("#sign-in");
    await page.waitForURL(`${base}/`);
    await page.locator("#whoami", { hasText: USER }).waitFor();
    expect(await page.locator("#sso-login").isVisible()).toBe(false);

    const cookie = (await context.cookies(base)).find((c) => c.name === "aegis_session");
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: "Lax", path: "/" });
    expect(cookie?.expires ?? 0).toBeGreaterThan(Date.now() / 1000 + TTL_SECONDS - 120);
    expect(cookie?.expires ?? 0).toBeLessThan(Date.now() / 1000 + TTL_SECONDS + 120);
    expect(
      await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie),
    ).not.toContain("aegis_session");

    const card = page.locator(`article.request[data-key="prod/${FIRST}"]`);
    await card.waitFor();
    await card.locator("textarea.comment").fill("via SSO");
    await card.locator("button.approve").click();
    await page.locator("#flash", { hasText: `Approved prod/${FIRST}: now Approved.` }).waitFor();
    expect(h.approvals.get(FIRST, "prod")?.spec.decisions).toMatchObject([
      { user: USER, comment: "via SSO", via: "web", decision: "Approve" },
    ]);
    const evidence = await h.evidence.latest(10);
    expect(evidence.find((record) => record.type === "approval.decision")).toMatchObject({
      actor: USER,
      subject: `ApprovalRequest/prod/${FIRST}`,
    });
    await page.locator(`#history tr[data-key="prod/${FIRST}"]`, { hasText: `${USER} (Approve via web)` }).waitFor();

    // Sign out clears the cookie on the server's word; a reload is signed out.
    await page.click("#logout-button");
    await page.locator("#login").waitFor();
    await expect.poll(() => sessionCookie(context)).toBeUndefined();
    await page.reload();
    await page.locator("#pending .empty", { hasText: "Sign in to see" }).waitFor();
    expect(await page.locator("#session").isVisible()).toBe(false);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("refuses a callback whose state is not the one it sent (400, no session); the right state signs in", async () => {
    const { callback, loginCookie } = await signInOverHttp();
    const cookie = `aegis_oidc=${loginCookie}`;
    const query = new URLSearchParams(callback.search);
    expect(query.get("code")).toBeTruthy();

    const forged = new URLSearchParams(query);
    forged.set("state", "not-the-state-aegis-sent");
    const refused = await api(`/auth/callback?${forged.toString()}`, { cookie });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("Sign-in failed");
    expect(refused.headers.getSetCookie().some((c) => c.startsWith("aegis_session="))).toBe(false);

    const noLogin = await api(`/auth/callback?${query.toString()}`);
    expect(noLogin.status).toBe(400);
    expect(noLogin.headers.getSetCookie().some((c) => c.startsWith("aegis_session="))).toBe(false);

    const accepted = await api(`/auth/callback?${query.toString()}`, { cookie });
    expect(accepted.status).toBe(303);
    const session = accepted.headers.getSetCookie().find((c) => c.startsWith("aegis_session="));
    expect(session).toMatch(/; HttpOnly; Secure; SameSite=Lax/);
    const who = await api("/api/whoami", { cookie: session?.split(";")[0] ?? "" });
    expect(await who.json()).toMatchObject({ username: USER, groups: ["oidc:sre-leads", "oidc:developers"] });
  });

  it("refuses a tampered, an expired and a doubled session cookie with 401", async () => {
    const value = await validCookie();
    expect((await api("/api/whoami", { cookie: `aegis_session=${value}` })).status).toBe(200);

    // Any byte of the sealed box changed: the ciphertext, the tag (its last bytes), the nonce.
    for (const at of [20, -1, 3]) {
      const tampered = flipByte(value, at);
      expect((await api("/api/whoami", { cookie: `aegis_session=${tampered}` })).status, String(at)).toBe(401);
    }
    expect((await api("/api/whoami", { cookie: `aegis_session=${value}; aegis_session=${value}` })).status).toBe(401);

    clockOffsetMs = (TTL_SECONDS - 60) * 1000;
    expect((await api("/api/whoami", { cookie: `aegis_session=${value}` })).status).toBe(200);
    clockOffsetMs = (TTL_SECONDS + 1) * 1000;
    try {
      const expired = await api("/api/whoami", { cookie: `aegis_session=${value}` });
      expect(expired.status).toBe(401);
    } finally {
      clockOffsetMs = 0;
    }
  });

  it("refuses a cookie-only approve without the dashboard's header or from another origin (CSRF)", async () => {
    const name = "deployment-api-0a1b2c3d4e";
    h.approvals.put(approvalRequest(name));
    const cookie = `aegis_session=${await validCookie()}`;
    const path = `/api/approvals/prod/${name}/approve`;

    const bare = await api(path, { cookie, method: "POST" });
    expect(bare.status).toBe(401);
    const otherSite = await api(path, {
      cookie,
      method: "POST",
      headers: { origin: "https://evil.example", "x-requested-with": "aegis" },
    });
    expect(otherSite.status).toBe(401);
    const wrongValue = await api(path, { cookie, method: "POST", headers: { "x-requested-with": "XMLHttpRequest" } });
    expect(wrongValue.status).toBe(401);
    expect(h.approvals.get(name, "prod")?.spec.decisions).toEqual([]);

    const fromDashboard = await api(path, { cookie, method: "POST", headers: { "x-requested-with": "aegis" } });
    expect(fromDashboard.status).toBe(200);
    expect(h.approvals.get(name, "prod")?.spec.decisions).toMatchObject([{ user: USER }]);
  });

  it("refuses an ID token signed with a key the provider never published", async () => {
    for (const mode of ["same-kid", "new-kid"] as const) {
      provider.tamper(mode);
      const context = await browser.newContext();
      const page = await context.newPage();
      try {
        const answer = page.waitForResponse((response) => response.url().startsWith(`${base}/auth/callback`));
        await ssoSignIn(page);
        const response = await answer;
        expect(response.status(), mode).toBe(400);
        expect(await page.locator("body").innerText()).toMatch(
          mode === "same-kid"
            ? /Sign-in failed: .*JWT signature verification failed/
            : /Sign-in failed: .*no applicable keys/,
        );
        expect(await sessionCookie(context), mode).toBeUndefined();
      } finally {
        provider.tamper("genuine");
        await context.close();
      }
    }
    // The same flow with the provider's own token signs in.
    const context = await browser.newContext();
    const page = await context.newPage();
    await ssoSignIn(page);
    await page.locator("#whoami", { hasText: USER }).waitFor();
    expect(await sessionCookie(context)).toBeDefined();
    await context.close();
  });

  it("signs out only from the dashboard: POST /auth/logout needs its header or origin, and clears the cookie", async () => {
    const cookie = `aegis_session=${await validCookie()}`;
    const bare = await api("/auth/logout", { cookie, method: "POST" });
    expect(bare.status).toBe(403);
    expect(bare.headers.getSetCookie()).toEqual([]);
    const ok = await api("/auth/logout", { cookie, method: "POST", headers: { origin: base } });
    expect(ok.status).toBe(204);
    expect(ok.headers.getSetCookie()).toEqual([
      expect.stringMatching(/^aegis_session=; Path=\/; Max-Age=0; HttpOnly; Secure/),
    ]);
    const config = await api("/auth/config");
    expect(await config.json()).toMatchObject({ enabled: true, loginUrl: "/auth/login" });
  });

  it("says SSO is off, and has no /auth routes, when it is not configured", async () => {
    const plain = await listen(harness().deps);
    try {
      const config = await fetch(`${plain.url}/auth/config`);
      expect(await config.json()).toEqual({ enabled: false });
      expect((await fetch(`${plain.url}/auth/login`, { redirect: "manual" })).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
