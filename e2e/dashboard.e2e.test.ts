// The dashboard, Slack and GitHub against `aegis serve` and a real kube-apiserver. AEGIS runs as
// its own service account with Slack and GitHub pointed at local stand-ins that check what the
// real services check (test/integration/{slack,github}/fake-*.ts).
// 1. In headless Chromium an approver signs in with a service-account token, sees the pending
//    request the gate created, approves it and sees it Approved (`via: web` in their name).
// 2. Wired integrations (main.ts: bus, evidence reader, notifier, Slack/GitHub routes): a new
//    request appears live over SSE and is posted to Slack with buttons and a pending commit
//    status; a signed Slack click from a mapped user approves it; the message is updated, the
//    status turns success, and the dashboard shows the decision and its evidence live.
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { githubSignature } from "../src/http/github-webhook.js";
import { slackSignature } from "../src/http/slack-signature.js";
import { launchChromium, pngSize } from "../test/integration/dashboard/browser.js";
import { startFakeGitHub, type FakeGitHub } from "../test/integration/github/fake-github.js";
import { startFakeSlack, type FakeSlack } from "../test/integration/slack/fake-slack.js";
import {
  AEGIS_NAMESPACE,
  removeWebhookConfiguration,
  startAegisProcess,
  type RunningAegisProcess,
} from "./helpers/aegis.js";
import { eventually, kubectl, policyReady } from "./helpers/kube.js";

const ns = `dash-${randomBytes(3).toString("hex")}`;
const policyName = `${ns}-gate`;
const approver = `system:serviceaccount:${ns}:approver`;
const SLACK_SECRET = "e2e-slack-signing-secret";
const GITHUB_SECRET = "e2e-github-webhook-secret";
const SHA = randomBytes(20).toString("hex");
let aegis: RunningAegisProcess | undefined;
let browser: Browser | undefined;
let slack: FakeSlack;
let github: FakeGitHub;
let approverToken = "";

function deployment(name: string, image: string, annotations: Record<string, string> = {}): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name,
      namespace: ns,
      labels: { app: name },
      annotations: { "aegis.valina.ai/reason": "dashboard e2e", ...annotations },
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "web", image }] } },
    },
  });
}

const applyAsDev = (name: string, image: string, annotations?: Record<string, string>): ReturnType<typeof kubectl> =>
  kubectl(["apply", "-f", "-"], {
    as: "dev",
    asGroups: ["developers"],
    input: deployment(name, image, annotations),
    allowFail: true,
  });

/** Waits until something the fake Slack or GitHub recorded shows up. */
const waitUntil = (condition: () => boolean, what: string): Promise<true> =>
  eventually(() => Promise.resolve(condition() ? true : undefined), what);

function requestNameOf(stderr: string): string {
  const name = /ApprovalRequest [^/]+\/(\S+) is/.exec(stderr)?.[1];
  if (!name) throw new Error(`no ApprovalRequest in the denial: ${stderr}`);
  return name;
}

async function setUpCluster(): Promise<void> {
  await kubectl(["create", "namespace", ns]);
  await kubectl(["create", "rolebinding", "dev-edit", "--clusterrole=edit", "--user=dev", "-n", ns]);
  await kubectl(["create", "serviceaccount", "approver", "-n", ns]);
  await kubectl([
    "create",
    "rolebinding",
    "approvers",
    "--clusterrole=aegis-approver",
    `--serviceaccount=${ns}:approver`,
    "-n",
    ns,
  ]);
  await kubectl(["create", "namespace", AEGIS_NAMESPACE], { allowFail: true });
  await kubectl([
    "create",
    "configmap",
    "aegis-slack-users",
    "-n",
    AEGIS_NAMESPACE,
    `--from-literal=U0APPROVER=${approver}`,
    "--dry-run=client",
    "-o",
    "yaml",
  ]).then((out) => kubectl(["apply", "-f", "-"], { input: out.stdout }));
  const policy = {
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "AegisPolicy",
    metadata: { name: policyName },
    spec: {
      enforcement: "Enforce",
      match: { kinds: ["Deployment"], namespaces: [ns] },
      approval: { mode: "Always", approvers: { users: [approver] }, expiresAfter: "1h" },
      notifications: { slack: { channel: "#deploys" }, github: { repository: "acme/web" } },
    },
  };
  await kubectl(["apply", "-f", "-"], { input: JSON.stringify(policy) });
}

beforeAll(async () => {
  slack = await startFakeSlack("xoxb-test-token");
  github = await startFakeGitHub("ghp_testtoken");
  await setUpCluster();
  aegis = await startAegisProcess({
    env: {
      SLACK_BOT_TOKEN: "xoxb-test-token",
      SLACK_API_URL: slack.apiUrl,
      SLACK_SIGNING_SECRET: SLACK_SECRET,
      AEGIS_SLACK_RESPONSE_URL_PREFIX: slack.responseUrl(""),
      GITHUB_TOKEN: "ghp_testtoken",
      GITHUB_API_URL: github.baseUrl,
      GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
      AEGIS_DASHBOARD_URL: "http://127.0.0.1:18750/",
    },
  });
  await policyReady(policyName);
  approverToken = (
    await kubectl(["create", "token", "approver", "-n", ns, "--duration=1h", "--audience", "aegis"])
  ).stdout.trim();
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await removeWebhookConfiguration();
  await aegis?.stop();
  await slack?.close();
  await github?.close();
  await kubectl(["delete", "apol", policyName, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "configmap", "aegis-slack-users", "-n", AEGIS_NAMESPACE, "--ignore-not-found"], {
    allowFail: true,
  });
  await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
});

async function signedInPage(hash = ""): Promise<{ page: Page; problems: string[] }> {
  if (!browser || !aegis) throw new Error("set-up failed");
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy|Refused/.test(message.text()))
      problems.push(message.text());
  });
  await page.goto(`${aegis.apiUrl}/${hash}`);
  await page.fill("#login-token", approverToken);
  await page.click("#login-button");
  await page.locator("#whoami", { hasText: approver }).waitFor();
  return { page, problems };
}

async function screenshot(page: Page, name: string): Promise<Buffer> {
  const png = await page.screenshot({ fullPage: true });
  const dir = path.join(tmpdir(), "aegis-e2e");
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, name), png);
  expect(pngSize(png).width).toBe(1280);
  expect(png.length).toBeGreaterThan(20_000);
  return png;
}

function slackClick(requestName: string): { body: string; timestamp: string; signature: string } {
  const payload = {
    type: "block_actions",
    trigger_id: `${Date.now()}.${randomBytes(4).toString("hex")}`,
    response_url: slack.responseUrl(randomBytes(4).toString("hex")),
    user: { id: "U0APPROVER", username: "approver" },
    container: { type: "message", message_ts: "1700000000.000001", channel_id: "C0DEPLOYS" },
    actions: [{ action_id: "aegis_approve", value: `${ns}/${requestName}`, action_ts: `${Date.now() / 1000}` }],
  };
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const timestamp = String(Math.floor(Date.now() / 1000));
  return { body, timestamp, signature: slackSignature(SLACK_SECRET, timestamp, body) };
}

describe("dashboard on aegis serve", () => {
  it("an approver signs in with a token, approves the pending request and sees it Approved", async () => {
    const requestName = requestNameOf((await applyAsDev("web", "ghcr.io/acme/web:2.0")).stderr);
    const { page, problems } = await signedInPage(`#/approvals/${ns}/${requestName}`);
    const card = page.locator(`article.request[data-key="${ns}/${requestName}"]`);
    await card.waitFor({ timeout: 30_000 });
    expect(await card.locator(".target").textContent()).toContain(`Deployment ${ns}/web · requested by dev`);
    expect(await card.locator(".reason").textContent()).toBe("Reason: dashboard e2e");
    await card.locator("textarea.comment").fill("approved from the dashboard");
    await card.locator("button.approve").click();
    await page.locator("#flash", { hasText: `Approved ${ns}/${requestName}: now Approved.` }).waitFor();
    const row = page.locator(`#history tr[data-key="${ns}/${requestName}"]`);
    await row.waitFor();
    expect(await row.locator(".phase").textContent()).toBe("Approved");
    expect(await row.textContent()).toContain(`${approver} (Approve via web)`);
    await screenshot(page, "dashboard-approved.png");
    expect(await page.locator("body").innerText()).toContain(`Signed in as ${approver}`);
    expect(problems).toEqual([]);
    await page.close();

    const stored = JSON.parse((await kubectl(["get", "areq", requestName, "-n", ns, "-o", "json"])).stdout) as {
      spec: { decisions: unknown[] };
    };
    expect(stored.spec.decisions).toMatchObject([
      { user: approver, decision: "Approve", via: "web", comment: "approved from the dashboard" },
    ]);
    await eventually(
      async () => ((await applyAsDev("web", "ghcr.io/acme/web:2.0")).code === 0 ? true : undefined),
      "the approved change to be admitted",
    );
  });
});

describe("live updates, Slack and GitHub", () => {
  it("shows a new request live, posts it to Slack and GitHub, approves it from a signed Slack click", async () => {
    const api = aegis?.apiUrl ?? "";
    const { page, problems } = await signedInPage();
    await page.locator("#live.live").waitFor({ timeout: 10_000 });

    const requestName = requestNameOf(
      (await applyAsDev("api", "ghcr.io/acme/api:1.0", { "aegis.valina.ai/git-commit": SHA })).stderr,
    );
    const key = `${ns}/${requestName}`;
    await page.locator(`article.request[data-key="${key}"]`).waitFor({ timeout: 15_000 });

    await waitUntil(
      () =>
        slack.calls.some(
          (call) =>
            call.path === "/api/chat.postMessage" && JSON.stringify(call.body.blocks).includes(`"value":"${key}"`),
        ),
      "the Slack message",
    );
    expect(slack.calls.find((call) => call.path === "/api/chat.postMessage")).toMatchObject({
      authorization: "Bearer xoxb-test-token",
      body: { channel: "#deploys" },
    });
    await waitUntil(
      () => github.statuses.some((status) => status.sha === SHA && status.body.state === "pending"),
      "the pending commit status",
    );
    expect(github.statuses[0]).toMatchObject({
      owner: "acme",
      repo: "web",
      body: { context: "aegis/approval", target_url: `http://127.0.0.1:18750/#/approvals/${ns}/${requestName}` },
    });

    const replayed = slackClick(requestName);
    const bad = await fetch(`${api}/slack/interactions`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": replayed.timestamp,
        "x-slack-signature": `v0=${"0".repeat(64)}`,
      },
      body: replayed.body,
    });
    expect(bad.status).toBe(401);
    const click = await fetch(`${api}/slack/interactions`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": replayed.timestamp,
        "x-slack-signature": replayed.signature,
      },
      body: replayed.body,
    });
    expect(click.status, await click.clone().text()).toBe(200);
    expect(((await click.json()) as { text: string }).text).toMatch(/approved .* it is now Approved/);
    const replay = await fetch(`${api}/slack/interactions`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": replayed.timestamp,
        "x-slack-signature": replayed.signature,
      },
      body: replayed.body,
    });
    expect(replay.status).toBe(409);

    const row = page.locator(`#history tr[data-key="${key}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.textContent()).toContain(`${approver} (Approve via slack)`);
    await page
      .locator("#evidence li", { hasText: `ApprovalRequest/${key}` })
      .first()
      .waitFor({ timeout: 15_000 });
    await waitUntil(
      () => slack.calls.some((call) => call.path === "/api/chat.update" && call.body.channel === "C0DEPLOYS"),
      "the Slack message update",
    );
    await waitUntil(
      () => github.statuses.some((status) => status.sha === SHA && status.body.state === "success"),
      "the success commit status",
    );
    const marks = (
      await kubectl([
        "get",
        "areq",
        requestName,
        "-n",
        ns,
        "-o",
        "jsonpath={.metadata.annotations.aegis\\.valina\\.ai/notifications}",
      ])
    ).stdout;
    expect(JSON.parse(marks)).toMatchObject({
      slack: { "#deploys": { channel: "C0DEPLOYS", phase: "Approved" } },
      github: { sha: SHA, phase: "Approved" },
    });
    await screenshot(page, "dashboard-live.png");
    expect(problems).toEqual([]);
    await page.close();

    const ping = JSON.stringify({ zen: "Design for failure.", hook_id: 7 });
    const hook = await fetch(`${api}/github/webhook`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "ping",
        "x-hub-signature-256": githubSignature(GITHUB_SECRET, ping),
      },
      body: ping,
    });
    expect(hook.status).toBe(200);
    const forged = await fetch(`${api}/github/webhook`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "ping",
        "x-hub-signature-256": githubSignature("guess", ping),
      },
      body: ping,
    });
    expect(forged.status).toBe(401);
  });
});
