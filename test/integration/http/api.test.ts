// The REST API over HTTP with in-memory ports: authentication and authorisation of decisions,
// the evidence and event-stream endpoints, the dashboard's assets and headers, the GitHub hook.
import { generateSigningKey, keyIdOf, parsePublicKeyPem } from "../../../src/evidence/chain/signing.js";
import { afterEach, describe, expect, it } from "vitest";
import { githubSignature } from "../../../src/http/github-webhook.js";
import { DASHBOARD_CSP } from "../../../src/dashboard/routes.js";
import { approvalRequest, harness, listen, type Harness } from "./harness.js";

const ALICE = { username: "alice", groups: ["sre-leads"] };
const BOB = { username: "bob", groups: ["qa"] };
let close: (() => Promise<void>) | undefined;

afterEach(async () => {
  await close?.();
  close = undefined;
});

async function start(h: Harness): Promise<string> {
  const running = await listen(h.deps);
  close = running.close;
  return running.url;
}

function setup(): Harness {
  const h = harness();
  h.auth.tokens.set("alice-token", ALICE);
  h.auth.tokens.set("bob-token", BOB);
  h.auth.tokens.set("dev-token", { username: "dev", groups: ["sre-leads"] });
  h.auth.approvers.add("alice");
  h.auth.approvers.add("dev");
  h.auth.readers.set("alice", "all");
  h.auth.readers.set("dev", new Set(["prod"]));
  h.approvals.put(approvalRequest("deployment-web-3f2a9c1b0d"));
  return h;
}

const asAlice = { headers: { authorization: "Bearer alice-token" } };

const post = (url: string, token?: string, body: unknown = { comment: "ok" }): Promise<Response> =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

describe("decisions through the API", () => {
  it("answers 401 without a token or with a token TokenReview refuses, 403 without the approve verb", async () => {
    const h = setup();
    const url = `${await start(h)}/api/approvals/prod/deployment-web-3f2a9c1b0d/approve`;
    expect((await post(url)).status).toBe(401);
    expect((await post(url, "forged")).status).toBe(401);
    const forbidden = await post(url, "bob-token");
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { message: string }).message).toMatch(
      /bob may not approve .*needs verb "approve"/,
    );
    expect(h.approvals.get("deployment-web-3f2a9c1b0d", "prod")?.spec.decisions).toEqual([]);
  });

  it("refuses the requester (self-approval) with 403 NotAnApprover", async () => {
    const h = setup();
    const response = await post(`${await start(h)}/api/approvals/prod/deployment-web-3f2a9c1b0d/approve`, "dev-token");
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({
      error: "NotAnApprover",
      message: expect.stringMatching(/requested this change/) as unknown,
    });
  });

  it("approves for an allowed approver, records via web when the dashboard says so, and then refuses more decisions", async () => {
    const h = setup();
    const base = await start(h);
    const response = await post(`${base}/api/approvals/prod/deployment-web-3f2a9c1b0d/approve`, "alice-token", {
      comment: "lgtm",
      via: "web",
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      phase: "Approved",
      approvals: 1,
      decisions: [{ user: "alice", decision: "Approve", comment: "lgtm", via: "web" }],
    });
    expect(h.evidence.records.at(-1)).toMatchObject({ type: "approval.decision", actor: "alice" });
    const again = await post(`${base}/api/approvals/prod/deployment-web-3f2a9c1b0d/reject`, "alice-token");
    expect(again.status).toBe(409);
  });

  it("revokes the caller's own approval, records the token's groups, and refuses a second revoke", async () => {
    const h = setup();
    const base = await start(h);
    const url = (action: string): string => `${base}/api/approvals/prod/deployment-web-3f2a9c1b0d/${action}`;
    expect(await (await post(url("approve"), "alice-token")).json()).toMatchObject({
      phase: "Approved",
      approvers: ["alice"],
      decisions: [{ user: "alice", decision: "Approve", groups: ["sre-leads"] }],
    });
    const revoked = await post(url("revoke"), "alice-token", { comment: "wrong image" });
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toMatchObject({ phase: "Pending", approvals: 0, approvers: [] });
    expect(h.evidence.records.at(-1)).toMatchObject({
      type: "approval.decision",
      actor: "alice",
      data: { decision: "Revoke", via: "api" },
    });
    expect(h.approvals.get("deployment-web-3f2a9c1b0d", "prod")?.spec.decisions.at(-1)).toMatchObject({
      user: "alice",
      decision: "Revoke",
      comment: "wrong image",
    });
    const again = await post(url("revoke"), "alice-token");
    expect(again.status).toBe(409);
    expect(((await again.json()) as { message: string }).message).toMatch(/alice has no standing approval to revoke/);
  });

  it("refuses a via other than api or web, and unknown body fields", async () => {
    const h = setup();
    const base = await start(h);
    expect(
      (await post(`${base}/api/approvals/prod/deployment-web-3f2a9c1b0d/approve`, "alice-token", { via: "slack" }))
        .status,
    ).toBe(400);
    expect(
      (await post(`${base}/api/approvals/prod/deployment-web-3f2a9c1b0d/approve`, "alice-token", { user: "carol" }))
        .status,
    ).toBe(400);
  });

  it("retries once against the newer version when the cached one lost a race (a notification annotation)", async () => {
    const h = setup();
    const stale = h.approvals.get("deployment-web-3f2a9c1b0d", "prod");
    if (!stale) throw new Error("fixture missing");
    let first = true;
    h.deps.appendDecision = async (request, decision) => {
      if (first) {
        first = false;
        h.approvals.put({
          ...request,
          metadata: { ...request.metadata, annotations: { "aegis.valina.ai/notifications": "{}" } },
        });
      }
      await h.approvals.appendDecision(request, decision);
    };
    const response = await post(
      `${await start(h)}/api/approvals/prod/deployment-web-3f2a9c1b0d/approve`,
      "alice-token",
    );
    expect(response.status).toBe(200);
    expect(h.approvals.get("deployment-web-3f2a9c1b0d", "prod")?.spec.decisions).toHaveLength(1);
  });

  it("tells the dashboard who a token belongs to", async () => {
    const h = setup();
    const base = await start(h);
    expect(await (await fetch(`${base}/api/whoami`, asAlice)).json()).toEqual({ ...ALICE, readsEveryNamespace: true });
    expect((await fetch(`${base}/api/whoami`)).status).toBe(401);
  });
});

describe("read endpoints", () => {
  it("lists the newest evidence first, bounded by limit", async () => {
    const h = setup();
    for (let i = 0; i < 5; i++)
      await h.evidence.record({
        type: "admission.decision",
        subject: `Deployment/prod/web-${i}`,
        actor: "dev",
        data: {},
      });
    const base = await start(h);
    const body = (await (await fetch(`${base}/api/evidence?limit=3`, asAlice)).json()) as { items: { seq: number }[] };
    expect(body.items.map((record) => record.seq)).toEqual([4, 3, 2]);
    expect((await fetch(`${base}/api/evidence?limit=0`, asAlice)).status).toBe(400);
  });

  it("serves the checkpoint signing key and its id, the one aegis evidence verify pins", async () => {
    const key = generateSigningKey();
    const h = harness({ evidenceKey: { publicKeyPem: key.publicKeyPem, keyId: key.keyId } });
    h.auth.tokens.set("alice-token", ALICE);
    const base = await start(h);
    const body = (await (await fetch(`${base}/api/evidence/key`, asAlice)).json()) as {
      publicKey: string;
      keyId: string;
    };
    expect(body).toEqual({ publicKey: key.publicKeyPem, keyId: key.keyId });
    expect(keyIdOf(parsePublicKeyPem(body.publicKey))).toBe(body.keyId);
  });

  it("answers 404 for the security status until something provides it, then serves it", async () => {
    const h = setup();
    expect((await fetch(`${await start(h)}/api/security/status`, asAlice)).status).toBe(404);
    await close?.();
    const withStatus = harness({ securityStatus: () => ({ mode: "normal", lockdown: null, extraApprovals: 0 }) });
    withStatus.auth.tokens.set("alice-token", ALICE);
    withStatus.auth.readers.set("alice", "all");
    expect(await (await fetch(`${await start(withStatus)}/api/security/status`, asAlice)).json()).toEqual({
      mode: "normal",
      lockdown: null,
      extraApprovals: 0,
      breakGlass: { unreviewed: 0, overdue: 0, requests: [] },
    });
  });

  it("streams bus messages as server-sent events", async () => {
    const h = setup();
    const base = await start(h);
    const controller = new AbortController();
    expect((await fetch(`${base}/api/events`, asAlice)).status).toBe(406);
    const response = await fetch(`${base}/api/events`, {
      signal: controller.signal,
      headers: { accept: "text/event-stream", authorization: "Bearer alice-token" },
    });
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = response.body?.getReader();
    if (!reader) throw new Error("no body");
    const decoder = new TextDecoder();
    let text = "";
    const received = (async () => {
      while (!text.includes("event: approval")) {
        const chunk: { value?: Uint8Array } = await reader.read();
        text += decoder.decode(chunk.value);
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await h.bus.publish({ topic: "approval", key: "prod/deployment-web-3f2a9c1b0d", data: { phase: "Approved" } });
    await received;
    controller.abort();
    expect(text).toContain(
      'data: {"topic":"approval","key":"prod/deployment-web-3f2a9c1b0d","data":{"phase":"Approved"}}',
    );
  });
});

describe("OpenAPI document", () => {
  it("lists the optional endpoints this server mounted, and only those", async () => {
    const paths = async (h: Harness): Promise<string[]> =>
      Object.keys(
        ((await (await fetch(`${await start(h)}/api/v1/openapi.json`)).json()) as { paths: Record<string, unknown> })
          .paths,
      );
    const plain = await paths(setup());
    expect(plain).toEqual(expect.arrayContaining(["/api/whoami", "/api/evidence", "/api/events"]));
    expect(plain).not.toContain("/slack/interactions");
    expect(plain).not.toContain("/api/security/status");
    await close?.();
    const full = harness({ github: { webhookSecret: "s" }, securityStatus: () => ({}) });
    expect(await paths(full)).toEqual(expect.arrayContaining(["/api/security/status", "/github/webhook"]));
  });
});

describe("dashboard assets", () => {
  it("serves the page, script and stylesheet with their content types and a strict CSP", async () => {
    const base = await start(setup());
    const page = await fetch(`${base}/`);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toBe(DASHBOARD_CSP);
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await page.text();
    expect(html).toContain('<script src="/dashboard/app.js" defer></script>');
    expect(html).not.toMatch(/<script>|style=|onclick=/);
    const script = await fetch(`${base}/dashboard/app.js`);
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await script.text()).toContain("/api/events");
    expect((await fetch(`${base}/dashboard/app.css`)).headers.get("content-type")).toBe("text/css; charset=utf-8");
  });
});

describe("GitHub webhook", () => {
  const secret = "gh-secret";
  const send = (base: string, body: string, signature: string | undefined, event = "ping"): Promise<Response> =>
    fetch(`${base}/github/webhook`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": event,
        "x-github-delivery": "d-1",
        ...(signature ? { "x-hub-signature-256": signature } : {}),
      },
      body,
    });

  it("accepts a correctly signed ping and other events, refuses a bad or missing signature with 401", async () => {
    const h = harness({ github: { webhookSecret: secret } });
    const base = await start(h);
    const ping = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
    const ok = await send(base, ping, githubSignature(secret, ping));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ ok: true, event: "ping", zen: "Keep it logically awesome." });
    const push = JSON.stringify({ ref: "refs/heads/main" });
    expect((await send(base, push, githubSignature(secret, push), "push")).status).toBe(202);
    expect((await send(base, ping, githubSignature("wrong", ping))).status).toBe(401);
    expect((await send(base, ping, undefined)).status).toBe(401);
    expect((await send(base, `${ping} `, githubSignature(secret, ping))).status).toBe(401);
  });

  it("is not mounted without a secret", async () => {
    const base = await start(harness());
    expect((await send(base, "{}", githubSignature(secret, "{}"))).status).toBe(404);
  });
});
