// The dashboard against `aegis serve` and a real kube-apiserver, in headless Chromium: an
// approver signs in with a service-account token, sees the pending request the gate created,
// approves it, sees it Approved; the decision lands on the ApprovalRequest as `via: web` in
// that identity's name, and the change is then admitted. A screenshot is checked and kept.
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, pngSize } from "../test/integration/dashboard/browser.js";
import { removeWebhookConfiguration, startAegisProcess, type RunningAegisProcess } from "./helpers/aegis.js";
import { eventually, kubectl } from "./helpers/kube.js";

const ns = `dash-${randomBytes(3).toString("hex")}`;
const policyName = `${ns}-gate`;
const approver = `system:serviceaccount:${ns}:approver`;
let aegis: RunningAegisProcess | undefined;
let browser: Browser | undefined;

function deployment(name: string, image: string): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns, labels: { app: name }, annotations: { "aegis.valina.ai/reason": "dashboard e2e" } },
    spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "web", image }] } } },
  });
}

const applyAsDev = (name: string, image: string): ReturnType<typeof kubectl> =>
  kubectl(["apply", "-f", "-"], { as: "dev", asGroups: ["developers"], input: deployment(name, image), allowFail: true });

beforeAll(async () => {
  await kubectl(["create", "namespace", ns]);
  await kubectl(["create", "rolebinding", "dev-edit", "--clusterrole=edit", "--user=dev", "-n", ns]);
  await kubectl(["create", "serviceaccount", "approver", "-n", ns]);
  await kubectl(["create", "rolebinding", "approvers", "--clusterrole=aegis-approver", `--serviceaccount=${ns}:approver`, "-n", ns]);
  const policy = {
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "AegisPolicy",
    metadata: { name: policyName },
    spec: { enforcement: "Enforce", match: { kinds: ["Deployment"], namespaces: [ns] }, approval: { mode: "Always", approvers: { users: [approver] }, expiresAfter: "1h" } },
  };
  await kubectl(["apply", "-f", "-"], { input: JSON.stringify(policy) });
  aegis = await startAegisProcess();
  await eventually(async () => ((await kubectl(["get", "apol", policyName, "-o", "jsonpath={.status.conditions[0].status}"])).stdout === "True" ? true : undefined), "the policy to be Ready");
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await removeWebhookConfiguration();
  await aegis?.stop();
  await kubectl(["delete", "apol", policyName, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
});

describe("dashboard on aegis serve", () => {
  it("an approver signs in with a token, approves the pending request and sees it Approved", async () => {
    const denied = await applyAsDev("web", "ghcr.io/acme/web:2.0");
    expect(denied.code).not.toBe(0);
    const requestName = /ApprovalRequest [^/]+\/(\S+) is/.exec(denied.stderr)?.[1];
    if (!requestName) throw new Error(`no ApprovalRequest in the denial: ${denied.stderr}`);
    const token = (await kubectl(["create", "token", "approver", "-n", ns, "--duration=1h"])).stdout.trim();
    if (!browser || !aegis) throw new Error("set-up failed");

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error" && /Content Security Policy|Refused/.test(message.text())) problems.push(message.text());
    });
    await page.goto(`${aegis.apiUrl}/#/approvals/${ns}/${requestName}`);
    const card = page.locator(`article.request[data-key="${ns}/${requestName}"]`);
    await card.waitFor({ timeout: 30_000 });
    expect(await card.locator(".target").textContent()).toContain(`Deployment ${ns}/web · requested by dev`);
    expect(await card.locator(".reason").textContent()).toBe("Reason: dashboard e2e");

    await page.fill("#login-token", token);
    await page.click("#login-button");
    await page.locator("#whoami", { hasText: approver }).waitFor();
    await card.locator("textarea.comment").fill("approved from the dashboard");
    await card.locator("button.approve").click();
    await page.locator("#flash", { hasText: `Approved ${ns}/${requestName}: now Approved.` }).waitFor();
    const row = page.locator(`#history tr[data-key="${ns}/${requestName}"]`);
    await row.waitFor();
    expect(await row.locator(".phase").textContent()).toBe("Approved");
    expect(await row.textContent()).toContain(`${approver} (Approve via web)`);

    const png = await page.screenshot({ fullPage: true });
    const dir = path.join(tmpdir(), "aegis-e2e");
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "dashboard-approved.png"), png);
    expect(pngSize(png).width).toBe(1280);
    expect(png.length).toBeGreaterThan(20_000);
    expect(await page.locator("body").innerText()).toContain(`Signed in as ${approver}`);
    expect(problems).toEqual([]);
    await page.close();

    const stored = JSON.parse((await kubectl(["get", "areq", requestName, "-n", ns, "-o", "json"])).stdout) as { spec: { decisions: unknown[] } };
    expect(stored.spec.decisions).toMatchObject([{ user: approver, decision: "Approve", via: "web", comment: "approved from the dashboard" }]);
    await eventually(async () => ((await applyAsDev("web", "ghcr.io/acme/web:2.0")).code === 0 ? true : undefined), "the approved change to be admitted");
  });
});
