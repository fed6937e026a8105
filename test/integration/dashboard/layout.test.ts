// The dashboard's layout in headless Chromium, with a busy cluster: an active lockdown and
// several threats, allowed and denied admissions, decided and pending requests. No raw JSON on
// the page, no word broken across lines, the lockdown as a banner, three SVG charts with one
// bar or point per datum, and on a phone-sized screen no sideways scrolling, 44px touch targets
// and a working approve. Screenshots (desktop and mobile) go to $TMPDIR/aegis-dashboard/.
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, BrowserContextOptions, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApprovalRequest, Decision } from "../../../src/api/v1alpha1/index.js";
import type { PolicyReport, ReportResult } from "../../../src/api/wgpolicyk8s/policy-report.js";
import { MemoryEvidence } from "../../fakes/memory-ports.js";
import { approvalRequest, harness, listen, type Harness } from "../http/harness.js";
import { launchChromium } from "./browser.js";

const MIN = 60_000;
const T = Date.now();
const at = (offsetMin: number): string => new Date(T + offsetMin * MIN).toISOString();
const PENDING = "deployment-payments-5e6f7a8b9c";
const LOCKDOWN_REASON = "denial burst: mallory made 12 denied privileged requests in 300s";

interface ThreatFixture {
  minutesAgo: number;
  severity: string;
  detector: string;
  source: { type: string; name: string };
  message: string;
}

const threat = ({ minutesAgo, severity, detector, source, message }: ThreatFixture): Record<string, unknown> => ({
  id: `threat:${detector}:${source.type}:${source.name}:${at(-minutesAgo)}`,
  at: at(-minutesAgo),
  detector,
  severity,
  source,
  message,
  data: { count: 12, namespace: "prod" },
});

const SECURITY_STATUS = {
  riskModel: { version: "v2-0123456789ab", trainedOn: 42 },
  riskShadow: { agreed: 9, missedRejections: 1, undecided: 3, precision: 0.9 },
  mode: "lockdown",
  lockdown: { since: at(-25), until: at(35), reason: LOCKDOWN_REASON, manual: false, scope: "cluster", stale: false },
  extraApprovals: 1,
  observed: 1234,
  counts: { low: 3, medium: 1, high: 2, critical: 1 },
  recent: [
    threat({
      minutesAgo: 24,
      severity: "critical",
      detector: "privileged-attempts",
      source: { type: "user", name: "mallory" },
      message: "mallory made 12 denied privileged requests in 300s (latest: DaemonSet in kube-system, PolicyViolation)",
    }),
    threat({
      minutesAgo: 30,
      severity: "high",
      detector: "denial-burst",
      source: { type: "user", name: "mallory" },
      message: "mallory made 9 denied requests in 60s (latest: Deployment in prod, PolicyViolation)",
    }),
    threat({
      minutesAgo: 41,
      severity: "high",
      detector: "new-registry",
      source: { type: "registry", name: "quay.io/unknown-org" },
      message: "first image from quay.io/unknown-org (mallory, Deployment in prod, denied)",
    }),
    threat({
      minutesAgo: 55,
      severity: "medium",
      detector: "namespace-rate",
      source: { type: "namespace", name: "staging" },
      message: "staging made 48 requests in a minute, 6.2 standard deviations above its usual rate",
    }),
    threat({
      minutesAgo: 70,
      severity: "low",
      detector: "off-hours",
      source: { type: "user", name: "dev" },
      message: "dev changed Deployment in prod at 2025-01-04T02:00Z, outside working hours",
    }),
  ],
  topSources: [
    { type: "user", name: "mallory", threats: 4, highest: "critical" },
    { type: "registry", name: "quay.io/unknown-org", threats: 1, highest: "high" },
  ],
  state: { store: "shared", healthy: true, degradedSince: null, lockdownReadAt: at(0) },
};

function decision(user: string, verdict: Decision["decision"], minute: number): Decision {
  return { user, decision: verdict, comment: "", at: at(minute), via: "web" };
}

/** A request created `created` minutes from T with `score` and `decisions`. */
function request(name: string, created: number, score: number, decisions: Decision[]): ApprovalRequest {
  const base = approvalRequest(name, { createdAt: new Date(T + created * MIN) });
  return { ...base, spec: { ...base.spec, decisions, risk: { ...base.spec.risk, score } } };
}

// Decided: 3 approved (two approvers each: lockdown asks for one more) and 1 rejected.
const DECIDED = [
  request("deployment-web-1a2b3c4d5e", -180, 15, [
    decision("bob", "Approve", -170),
    decision("carol", "Approve", -160),
  ]),
  request("deployment-api-2b3c4d5e6f", -120, 85, [decision("bob", "Reject", -115)]),
  request("deployment-db-3c4d5e6f7a", -90, 55, [decision("bob", "Approve", -80), decision("carol", "Approve", -30)]),
  request("deployment-cache-4d5e6f7a8b", -40, 30, [decision("bob", "Approve", -38), decision("carol", "Approve", -37)]),
];

// Admissions at four moments at least 15 minutes apart: 6 allowed, 3 denied, in 5-minute intervals.
const ADMISSIONS: [minute: number, allowed: boolean][] = [
  [-55, true],
  [-55, true],
  [-55, true],
  [-40, false],
  [-40, true],
  [-40, true],
  [-20, false],
  [-20, false],
  [-5, true],
];

// The audit: prod has a Deployment failing two checks, a drifted one and passing ones; staging
// passes everything.
const auditResult = (
  namespace: string,
  name: string,
  rule: string,
  result: "pass" | "fail",
  message = "",
): ReportResult => ({
  source: "aegis",
  policy: `${namespace}-gate`,
  rule,
  result,
  ...(result === "fail" ? { severity: "high" as const, message } : {}),
  timestamp: { seconds: Math.floor((T - 50 * MIN) / 1000), nanos: 0 },
  resources: [{ apiVersion: "apps/v1", kind: "Deployment", namespace, name, uid: `${namespace}-${name}` }],
});
const auditReport = (namespace: string, results: ReportResult[]): PolicyReport => ({
  apiVersion: "wgpolicyk8s.io/v1alpha2",
  kind: "PolicyReport",
  metadata: { name: "aegis-audit", namespace, labels: { "app.kubernetes.io/managed-by": "aegis" } },
  results,
});
const REPORTS = [
  auditReport("prod", [
    auditResult(
      "prod",
      "payments-api",
      "no-latest",
      "fail",
      "disallowLatestTag: image ghcr.io/acme/payments:latest uses the latest tag",
    ),
    auditResult(
      "prod",
      "payments-api",
      "pod-security",
      "fail",
      "podSecurity: container api runs as root (runAsNonRoot != true)",
    ),
    auditResult(
      "prod",
      "ledger-worker-with-a-rather-long-name",
      "unapproved-change",
      "fail",
      "no approval covers the spec that runs: it changed behind the gate (webhook bypassed, AEGIS down) or before the policy required approval",
    ),
    auditResult("prod", "web", "no-latest", "pass"),
  ]),
  auditReport("staging", [auditResult("staging", "api", "no-latest", "pass")]),
];

let browser: Browser;
let h: Harness;
let base: string;
let close: () => Promise<void>;

beforeAll(async () => {
  browser = await launchChromium();
  let clock = new Date(T);
  const evidence = new MemoryEvidence({ now: () => clock });
  h = harness({
    securityStatus: () => SECURITY_STATUS,
    extraApprovals: () => 1,
    evidence,
    reports: { listAll: () => Promise.resolve(REPORTS) },
  });
  h.auth.tokens.set("alice-token", { username: "alice", groups: ["sre-leads"] });
  h.auth.approvers.add("alice");
  h.auth.readers.set("alice", "all");
  h.auth.tokens.set("carol-token", { username: "carol", groups: ["staging-devs"] });
  h.auth.readers.set("carol", new Set(["staging"]));
  for (const item of DECIDED) h.approvals.put(item);
  h.approvals.put(request(PENDING, -10, 72, [decision("bob", "Approve", -5)]));
  for (const [minute, allowed] of ADMISSIONS) {
    clock = new Date(T + minute * MIN);
    await evidence.record({
      type: "admission.decision",
      subject: `Deployment/prod/web`,
      actor: allowed ? "dev" : "mallory",
      data: { allowed, reason: allowed ? "ChecksPassed" : "PolicyViolation", changeHash: `sha256:${"cd".repeat(32)}` },
    });
  }
  clock = new Date(T - 3 * MIN);
  await evidence.record({ type: "approval.decision", subject: "ApprovalRequest/prod/x", actor: "bob", data: {} });
  const running = await listen(h.deps);
  base = running.url;
  close = running.close;
});

afterAll(async () => {
  await browser?.close();
  await close?.();
});

interface Opened {
  page: Page;
  problems: string[];
}

async function openPage(options: BrowserContextOptions, user = "alice"): Promise<Opened> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  await page.addInitScript(signedInWatchingCsp(`${user}-token`));
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`${message.text()} (${message.location().url})`);
  });
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(`${base}/`);
  await page.locator("#whoami", { hasText: user }).waitFor();
  await page.locator("#threat .mode").waitFor();
  if (user !== "alice") return { page, problems };
  await page.locator("#threats tbody tr").first().waitFor();
  await page.locator("#chart-admissions svg").waitFor();
  await page.locator("#chart-risk svg").waitFor();
  await page.locator("#chart-decision-time svg").waitFor();
  await page.locator("#live.live").waitFor();
  await page.locator("#audit .audit-namespace").first().waitFor();
  return { page, problems };
}

// In-page scripts are strings: this project's TypeScript has no DOM library.
const signedInWatchingCsp = (token: string): string => `
  sessionStorage.setItem("aegis.token", ${JSON.stringify(token)});
  document.addEventListener("securitypolicyviolation", (event) => {
    console.error("CSP violation: " + event.violatedDirective + " " + event.blockedURI);
  });`;

/**
 * Words whose glyphs lie on two or more lines. A word is split at spaces and after "-" and "/"
 * (where a line may break); the client rects of each piece must all be on one line box.
 */
const BROKEN_WORDS = `(() => {
  const broken = [];
  for (const root of document.querySelectorAll("#lockdown, main .panel, #flash")) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest("svg")) continue;
      const text = node.textContent;
      for (const match of text.matchAll(/[^\\s/-]+[/-]?|[/-]/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const rects = Array.from(range.getClientRects()).filter((r) => r.width > 0 && r.height > 0);
        const tops = rects.map((r) => r.top).sort((a, b) => a - b);
        const lines = tops.filter((top, i) => i === 0 || top - tops[i - 1] > rects[0].height / 2).length;
        if (lines > 1) broken.push(match[0] + ' (in "' + text.slice(0, 60) + '")');
      }
    }
  }
  return broken;
})()`;

const FITS = "document.documentElement.scrollWidth <= innerWidth && document.body.scrollWidth <= innerWidth";
const TEXT = "document.body.innerText";

function brokenWords(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(BROKEN_WORDS);
}

async function attributes(locator: Locator, name: string): Promise<number[]> {
  return Promise.all((await locator.all()).map(async (item) => Number(await item.getAttribute(name))));
}

async function screenshot(page: Page, name: string): Promise<void> {
  const dir = path.join(tmpdir(), "aegis-dashboard");
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, name), await page.screenshot({ fullPage: true }));
}

const RAW = ['{"', '":', "[{", "null", "undefined", "NaN", "[object Object]"];

describe("dashboard layout", () => {
  it("shows threats, the lockdown and charts without raw JSON or broken words (desktop)", async () => {
    const { page, problems } = await openPage({ viewport: { width: 1280, height: 900 } });
    const text = await page.evaluate<string>(TEXT);
    for (const raw of RAW) expect(text, `page text contains ${raw}`).not.toContain(raw);

    const banner = page.locator("#lockdown");
    expect(await banner.isVisible()).toBe(true);
    expect(await banner.innerText()).toContain(LOCKDOWN_REASON);
    expect(await banner.innerText()).toContain("+1 approval required");
    expect(await banner.innerText()).toMatch(/Since .+ · until .+/);

    const rows = page.locator("#threats tbody tr");
    expect(await rows.count()).toBe(5);
    expect(await rows.first().locator(".sev").innerText()).toMatch(/critical/i);
    expect(await rows.first().innerText()).toContain("privileged-attempts");
    expect(await page.locator("#threat .sev-counts .sev").allInnerTexts()).toEqual([
      "CRITICAL 1",
      "HIGH 2",
      "MEDIUM 1",
      "LOW 3",
    ]);

    // Admissions: 4 intervals with data, 3 with allowed and 2 with denied admissions.
    const admissions = page.locator("#chart-admissions svg");
    expect(await admissions.locator("rect.bar.allowed").count()).toBe(3);
    expect(await admissions.locator("rect.bar.denied").count()).toBe(2);
    const sum = async (selector: string): Promise<number> =>
      (await attributes(admissions.locator(selector), "data-count")).reduce((a, b) => a + b, 0);
    expect(await sum("rect.bar.allowed")).toBe(6);
    expect(await sum("rect.bar.denied")).toBe(3);
    expect(await admissions.getAttribute("aria-label")).toContain("6 admissions allowed and 3 denied");
    // Decision time: one bar per decided request; risk: one point per request.
    const decisionBars = page.locator("#chart-decision-time svg rect.bar");
    expect(await decisionBars.count()).toBe(4);
    expect(await page.locator("#chart-decision-time svg rect.bar.rejected").count()).toBe(1);
    expect((await attributes(decisionBars, "data-ms")).map((ms) => ms / MIN)).toEqual([20, 5, 3, 60]);
    const points = page.locator("#chart-risk svg circle.point");
    expect(await attributes(points, "data-score")).toEqual([15, 85, 55, 30, 72]);
    for (const id of ["chart-admissions", "chart-decision-time", "chart-risk"]) {
      const chart = page.locator(`#${id}`);
      expect(await chart.locator("h3").innerText()).not.toBe("");
      expect(await chart.locator("svg > title").textContent()).not.toBe("");
      expect(await chart.locator("svg").getAttribute("role")).toBe("img");
      expect(await chart.locator("svg text.axis-label").count()).toBe(2);
    }

    // Risk scoring: the model in force and shadow mode's agreement with people.
    const risk = page.locator("#risk");
    expect(await risk.locator(".risk-model").innerText()).toBe(
      "Scoring with model v2-0123456789ab, learnt from 42 human decisions.",
    );
    expect(await risk.locator(".sev-counts .sev").allInnerTexts()).toEqual([
      "AGREED 9",
      "MISSED REJECTIONS 1",
      "UNDECIDED 3",
    ]);
    expect(await risk.locator(".shadow-precision").innerText()).toContain("they approved 90% (auto-approve precision)");

    // The audit: per namespace, its counts and the failures, worst first; passing objects unlisted.
    expect(await page.locator("#audit-count").innerText()).toBe("3");
    const prod = page.locator('#audit .audit-namespace[data-namespace="prod"]');
    expect(await prod.locator(".sev-counts .sev").allInnerTexts()).toEqual(["FAIL 3", "ERROR 0", "WARN 0", "PASS 1"]);
    const auditRows = prod.locator("table.audit tbody tr");
    expect(await auditRows.count()).toBe(3);
    expect(await auditRows.first().innerText()).toContain("Deployment/ledger-worker-with-a-rather-long-name");
    expect(await prod.innerText()).toContain("unapproved-change");
    expect(await prod.innerText()).not.toContain("Deployment/web");
    expect(await page.locator('#audit .audit-namespace[data-namespace="staging"]').innerText()).toContain(
      "Everything that runs here passes its policies.",
    );

    expect(await brokenWords(page)).toEqual([]);
    expect(await page.evaluate<boolean>(FITS)).toBe(true);
    await screenshot(page, "layout-desktop.png");
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("fits a phone: no sideways scroll, 44px buttons, stacked rows, and approving works", async () => {
    const { page, problems } = await openPage({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 3,
    });
    const card = page.locator(`article.request[data-key="prod/${PENDING}"]`);
    await card.waitFor();
    expect(await page.evaluate<boolean>(FITS)).toBe(true);
    const text = await page.evaluate<string>(TEXT);
    for (const raw of RAW) expect(text, `page text contains ${raw}`).not.toContain(raw);
    expect(await page.locator("#lockdown").isVisible()).toBe(true);
    expect(await brokenWords(page)).toEqual([]);
    // Every panel is full width (less the page's padding), every chart inside the screen.
    for (const panel of await page.locator("main > .panel").all()) {
      expect((await panel.boundingBox())?.width).toBeGreaterThan(360);
    }
    for (const chart of await page.locator(".chart-svg").all()) {
      const { x, width } = (await chart.boundingBox()) ?? { x: -1, width: 0 };
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x + width).toBeLessThanOrEqual(390);
    }
    // Tables collapse into stacked rows: the header row is hidden, each cell is labelled.
    expect((await page.locator("#threats thead").boundingBox())?.height).toBeLessThanOrEqual(1);
    expect(await page.evaluate<string>(`getComputedStyle(document.querySelector("#threats tbody tr")).display`)).toBe(
      "block",
    );
    expect(
      await page.evaluate<string>(`getComputedStyle(document.querySelector("#threats tbody td"), "::before").content`),
    ).toBe('"Time"');
    await screenshot(page, "layout-mobile.png");
    if (process.env.AEGIS_SLICES) {
      const height = await page.evaluate<number>("document.documentElement.scrollHeight");
      for (let y = 0, i = 0; y < height; y += 900, i += 1) {
        const clip = { x: 0, y, width: 390, height: Math.min(900, height - y) };
        await writeFile(
          path.join(tmpdir(), "aegis-dashboard", `slice-${i}.png`),
          await page.screenshot({ fullPage: true, clip }),
        );
      }
    }

    const approve = card.locator("button.approve");
    const box = await approve.boundingBox();
    expect(box?.height).toBeGreaterThanOrEqual(44);
    expect(box?.width).toBeGreaterThanOrEqual(44);
    expect((await card.locator("button.reject").boundingBox())?.height).toBeGreaterThanOrEqual(44);
    await approve.scrollIntoViewIfNeeded();
    await approve.tap();
    await page.locator("#flash", { hasText: `Approved prod/${PENDING}: now Approved.` }).waitFor();
    const row = page.locator(`#history tr[data-key="prod/${PENDING}"]`);
    await row.waitFor();
    expect(await row.locator(".phase").textContent()).toBe("Approved");
    expect(await row.textContent()).toContain("alice (Approve via web)");
    await page.locator("#chart-decision-time svg rect.bar").nth(4).waitFor();
    expect(await page.evaluate<boolean>(FITS)).toBe(true);
    await screenshot(page, "layout-mobile-approved.png");
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("shows a namespace-scoped user the lockdown but no threat details", async () => {
    const { page, problems } = await openPage({ viewport: { width: 1280, height: 900 } }, "carol");
    expect(await page.locator("#lockdown").isVisible()).toBe(true);
    // The server keeps an automatic lockdown's reason (who set it off) from namespace-scoped users.
    expect(await page.locator("#lockdown").innerText()).toMatch(/Lockdown active[\s\S]*\+1 approval required/);
    expect(await page.locator("#lockdown").innerText()).not.toContain("mallory");
    expect(await page.locator("#threat").innerText()).toContain("shown only to those who may read every namespace");
    expect(await page.locator("#threats").count()).toBe(0);
    const text = await page.evaluate<string>(TEXT);
    for (const raw of RAW) expect(text, `page text contains ${raw}`).not.toContain(raw);
    expect(text).not.toContain("unknown-org"); // threats and top sources are not shown
    // The audit of staging only: prod's failures are not carol's to read.
    await page.locator('#audit .audit-namespace[data-namespace="staging"]').waitFor();
    expect(await page.locator("#audit .audit-namespace").count()).toBe(1);
    expect(await page.locator("#audit").innerText()).not.toContain("payments");
    expect(await brokenWords(page)).toEqual([]);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
