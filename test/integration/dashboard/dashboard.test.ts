// The dashboard in headless Chromium against `createApiApp` with in-memory ports: sign in with
// a token, see the pending request with its risk factors and policy, approve it with a comment,
// see it Approved in the history and the evidence timeline, get live updates over SSE, and
// stay within the Content-Security-Policy. Ends with a screenshot that must look like a page.
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approvalRequest, harness, listen, type Harness } from "../http/harness.js";
import { launchChromium, pngSize } from "./browser.js";

const NAME = "deployment-web-3f2a9c1b0d";
let browser: Browser;
let h: Harness;
let base: string;
let close: () => Promise<void>;

beforeAll(async () => {
  browser = await launchChromium();
  h = harness({ securityStatus: () => ({ level: "normal", lockdown: false, detections: 0 }) });
  h.auth.tokens.set("alice-token", { username: "alice", groups: ["sre-leads"] });
  h.auth.tokens.set("carol-token", { username: "carol", groups: ["staging-devs"] });
  h.auth.approvers.add("alice");
  h.auth.readers.set("alice", "all");
  h.auth.readers.set("carol", new Set(["staging"]));
  h.approvals.put(approvalRequest(NAME));
  await h.evidence.record({
    type: "admission.decision",
    subject: "Deployment/prod/web",
    actor: "dev",
    data: { allowed: false },
  });
  const running = await listen(h.deps);
  base = running.url;
  close = running.close;
});

afterAll(async () => {
  await browser?.close();
  await close?.();
});

async function openPage(token?: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  if (token) await page.addInitScript((value) => sessionStorage.setItem("aegis.token", value), token);
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(`${base}/`);
  return { page, problems };
}

describe("dashboard", () => {
  it("shows a user only the namespaces RBAC lets them read", async () => {
    const { page, problems } = await openPage("carol-token");
    await page.locator("#whoami", { hasText: "carol" }).waitFor();
    await page.locator("#pending .empty", { hasText: "Nothing waits" }).waitFor();
    await page.locator("#evidence li").first().waitFor();
    const text = await page.locator("body").innerText();
    expect(text).not.toContain(`prod/${NAME}`);
    expect(text).not.toContain("Deployment/prod/web");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("signs in, shows the pending request, approves it, shows it Approved, and takes a screenshot", async () => {
    const { page, problems } = await openPage();
    // Nothing is shown before sign-in: every read needs a token.
    await page.locator("#pending .empty", { hasText: "Sign in to see" }).waitFor();
    expect(await page.locator("article.request").count()).toBe(0);

    await page.fill("#login-token", "forged");
    await page.click("#login-button");
    await page.locator("#flash.error").filter({ hasText: "Sign-in failed" }).waitFor();
    await page.fill("#login-token", "alice-token");
    await page.click("#login-button");
    await page.locator("#whoami", { hasText: "alice" }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("aegis.token"))).toBe("alice-token");

    const card = page.locator(`article.request[data-key="prod/${NAME}"]`);
    await card.waitFor();
    expect(await card.locator(".target").textContent()).toContain("Deployment prod/web · requested by dev");
    expect(await card.locator(".summary").textContent()).toBe("image ghcr.io/acme/web:1.2 -> ghcr.io/acme/web:1.3");
    expect(await card.locator(".factors").textContent()).toContain(
      "new-registry +20 — quay.io is new to this namespace",
    );
    expect(await card.locator(".policies").textContent()).toContain("Policy: prod-gate · approvals 0/1");
    await page.locator("#live.live").waitFor();
    expect(await page.locator("#threat").textContent()).toContain("lockdown");

    await card.locator("textarea.comment").fill("ship it");
    await card.locator("button.approve").click();
    await page.locator("#flash", { hasText: `Approved prod/${NAME}: now Approved.` }).waitFor();
    const row = page.locator(`#history tr[data-key="prod/${NAME}"]`);
    await row.waitFor();
    expect(await row.locator(".phase").textContent()).toBe("Approved");
    expect(await row.textContent()).toContain("alice (Approve via web)");
    expect(await page.locator(`article.request[data-key="prod/${NAME}"]`).count()).toBe(0);
    await page.locator("#evidence li strong", { hasText: "approval.decision" }).waitFor();
    expect(h.approvals.get(NAME, "prod")?.spec.decisions).toMatchObject([
      { user: "alice", comment: "ship it", via: "web" },
    ]);

    const png = await page.screenshot({ fullPage: true });
    const dir = path.join(tmpdir(), "aegis-dashboard");
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "approved.png"), png);
    const size = pngSize(png);
    expect(size.width).toBe(1280);
    expect(size.height).toBeGreaterThanOrEqual(600);
    expect(png.length).toBeGreaterThan(20_000);
    expect(await page.locator("body").innerText()).toMatch(/Signed in as alice[\s\S]*History[\s\S]*Approved/);
    // The forged sign-in's 401 is expected; nothing else (no CSP violation, no script error).
    expect(problems.filter((problem) => !problem.includes("status of 401"))).toEqual([]);
    await page.close();
  });

  it("shows a new request live, over server-sent events, without a reload", async () => {
    const { page, problems } = await openPage("alice-token");
    await page.locator("#live.live").waitFor();
    const name = "deployment-api-0a1b2c3d4e";
    h.approvals.put(approvalRequest(name, { namespace: "staging" }));
    await h.bus.publish({ topic: "approval", key: `staging/${name}` });
    await page.locator(`article.request[data-key="staging/${name}"]`).waitFor({ timeout: 5_000 });
    expect(await page.locator("#pending-count").textContent()).toBe("1");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("opens a request's page from a #/approvals/NS/NAME link and keeps hostile text as text", async () => {
    const name = "deployment-evil-0000000000";
    const evil = approvalRequest(name);
    h.approvals.put({
      ...evil,
      spec: {
        ...evil.spec,
        summary: '<img src=x onerror="window.pwned=1">',
        reason: "<script>window.pwned=2</script>",
      },
    });
    const page = await browser.newPage();
    await page.addInitScript(() => sessionStorage.setItem("aegis.token", "alice-token"));
    await page.goto(`${base}/#/approvals/prod/${name}`);
    const card = page.locator(`article.request.focus[data-key="prod/${name}"]`);
    await card.waitFor();
    expect(await card.locator(".summary").textContent()).toBe('<img src=x onerror="window.pwned=1">');
    expect(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.locator("article.request img").count()).toBe(0);
    await page.close();
  });
});
