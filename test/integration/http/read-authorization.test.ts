// Every /api read is authenticated and scoped by RBAC, as an attacker with a token for one
// namespace (or none) would probe it: nothing about another namespace may leak through the
// lists, the single-object reads, the evidence, the threat status or the event stream.
import { afterEach, describe, expect, it } from "vitest";
import { FailedAuthThrottle } from "../../../src/http/auth-throttle.js";
import type { PolicyReport } from "../../../src/api/wgpolicyk8s/policy-report.js";
import { approvalRequest, harness, listen, type Harness } from "./harness.js";

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** AEGIS's audit report in a namespace: one failing Deployment, one passing. */
function auditReport(namespace: string, name = "aegis-audit"): PolicyReport {
  const resource = (object: string) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespace,
    name: object,
    uid: `${namespace}-${object}`,
  });
  return {
    apiVersion: "wgpolicyk8s.io/v1alpha2",
    kind: "PolicyReport",
    metadata: { name, namespace, labels: { "app.kubernetes.io/managed-by": "aegis" } },
    summary: { pass: 1, fail: 1 },
    results: [
      {
        source: "aegis",
        policy: `${namespace}-gate`,
        rule: "no-latest",
        result: "fail",
        severity: "high",
        message: `image ${namespace}/web:latest`,
        timestamp: { seconds: 1_796_000_000, nanos: 0 },
        resources: [resource("web")],
      },
      { source: "aegis", policy: `${namespace}-gate`, rule: "no-latest", result: "pass", resources: [resource("api")] },
    ],
  };
}

const FULL_STATUS = {
  mode: "lockdown",
  lockdown: { since: "2026-12-01T10:00:00.000Z", until: null, reason: "denial burst by user mallory", manual: false },
  extraApprovals: 1,
  counts: { low: 0, medium: 0, high: 1, critical: 0 },
  recent: [{ id: "threat:denial-burst:user/mallory", source: { type: "user", name: "mallory" } }],
  topSources: [{ type: "user", name: "mallory", threats: 1, highest: "high" }],
};

/** alice reads every namespace (ClusterRoleBinding), carol only staging (RoleBinding), eve nothing. */
async function scene(overrides: Parameters<typeof harness>[0] = {}): Promise<{ h: Harness; base: string }> {
  const h = harness({
    securityStatus: () => FULL_STATUS,
    reports: { listAll: () => Promise.resolve([auditReport("prod"), auditReport("staging")]) },
    ...overrides,
  });
  h.auth.tokens.set("alice-token", { username: "alice", groups: ["sre"] });
  h.auth.tokens.set("carol-token", { username: "carol", groups: ["staging-devs"] });
  h.auth.tokens.set("eve-token", { username: "eve", groups: [] });
  h.auth.readers.set("alice", "all");
  h.auth.readers.set("carol", new Set(["staging"]));
  h.approvals.put(approvalRequest("deployment-web-3f2a9c1b0d", { namespace: "prod" }));
  h.approvals.put(approvalRequest("deployment-api-0a1b2c3d4e", { namespace: "staging" }));
  for (const subject of ["Deployment/prod/web", "Deployment/staging/api", "AegisPolicy/prod-gate", "user/mallory"])
    await h.evidence.record({ type: "admission.decision", subject, actor: "dev", data: {} });
  const running = await listen(h.deps);
  close = running.close;
  return { h, base: running.url };
}

const as = (token: string, extra: Record<string, string> = {}): RequestInit => ({
  headers: { authorization: `Bearer ${token}`, ...extra },
});
const json = async (response: Response): Promise<Record<string, unknown>> =>
  (await response.json()) as Record<string, unknown>;

describe("reads without credentials", () => {
  it("answer 401 with a JSON body and a Bearer challenge on every /api read; health, readiness, metrics and the document stay open", async () => {
    const { base } = await scene({ throttle: new FailedAuthThrottle(1000) });
    const reads = [
      "/api/policies",
      "/api/approvals",
      "/api/approvals/prod/deployment-web-3f2a9c1b0d",
      "/api/evidence",
      "/api/security/status",
      "/api/reports",
      "/api/events",
      "/api/whoami",
    ];
    for (const path of reads) {
      for (const init of [{}, as("forged-token"), { headers: { authorization: "Basic YWxpY2U6eA==" } }]) {
        const response = await fetch(`${base}${path}`, init);
        expect(response.status, path).toBe(401);
        expect(response.headers.get("www-authenticate"), path).toBe('Bearer realm="aegis"');
        const body = await json(response);
        expect(body["error"], path).toBe("Unauthenticated");
        expect(String(body["message"]), path).toContain("--audience aegis");
      }
    }
    for (const path of ["/health", "/readyz", "/metrics", "/api/v1/openapi.json"])
      expect((await fetch(`${base}${path}`)).status, path).toBe(200);
  });
});

describe("reads scoped by RBAC", () => {
  it("lists only the namespaces the caller may get ApprovalRequests in", async () => {
    const { base } = await scene();
    const names = async (token: string): Promise<string[]> =>
      ((await json(await fetch(`${base}/api/approvals`, as(token))))["items"] as { namespace: string }[]).map(
        (item) => item.namespace,
      );
    expect((await names("alice-token")).sort()).toEqual(["prod", "staging"]);
    expect(await names("carol-token")).toEqual(["staging"]);
    expect(await names("eve-token")).toEqual([]);
  });

  it("refuses a single read outside the caller's namespaces with 403, whether or not the request exists", async () => {
    const { base } = await scene();
    const existing = await fetch(`${base}/api/approvals/prod/deployment-web-3f2a9c1b0d`, as("carol-token"));
    const missing = await fetch(`${base}/api/approvals/prod/deployment-nope-0000000000`, as("carol-token"));
    expect([existing.status, missing.status]).toEqual([403, 403]);
    expect(await json(existing)).toMatchObject({ error: "Forbidden" });
    expect((await fetch(`${base}/api/approvals/staging/deployment-api-0a1b2c3d4e`, as("carol-token"))).status).toBe(
      200,
    );
    expect((await fetch(`${base}/api/approvals/prod/deployment-web-3f2a9c1b0d`, as("alice-token"))).status).toBe(200);
  });

  it("shows evidence of readable namespaces only; cluster-scoped subjects need every namespace", async () => {
    const { base, h } = await scene();
    const subjects = async (token: string): Promise<string[]> =>
      ((await json(await fetch(`${base}/api/evidence?limit=50`, as(token))))["items"] as { subject: string }[]).map(
        (record) => record.subject,
      );
    expect(await subjects("alice-token")).toEqual([
      "user/mallory",
      "AegisPolicy/prod-gate",
      "Deployment/staging/api",
      "Deployment/prod/web",
    ]);
    expect(await subjects("carol-token")).toEqual(["Deployment/staging/api"]);
    expect(await subjects("eve-token")).toEqual([]);
    // Past a page of other namespaces' records, the scoped read still finds the caller's.
    for (let i = 0; i < 600; i++)
      await h.evidence.record({
        type: "admission.decision",
        subject: `Deployment/prod/web-${i}`,
        actor: "dev",
        data: {},
      });
    expect(await subjects("carol-token")).toEqual(["Deployment/staging/api"]);
  });

  it("gives threat details to those who read every namespace, and only the mode and lockdown to others", async () => {
    const { base, h } = await scene();
    // An overdue break-glass review in prod: alice (every namespace) sees it, carol (staging) does not.
    const breakGlass = approvalRequest("breakglass-deployment-web-3f2a9c1b0d", { namespace: "prod" });
    breakGlass.spec.breakGlass = { user: "olga", reason: "INC-9", at: "2026-11-26T10:00:00Z", reviewWithin: "1h" };
    breakGlass.status = { phase: "ReviewRequired", reviewDueAt: "2026-11-26T11:00:00Z", reviewOverdue: true };
    h.approvals.put(breakGlass);
    const full = await json(await fetch(`${base}/api/security/status`, as("alice-token")));
    expect(full).toMatchObject({ ...FULL_STATUS, breakGlass: { unreviewed: 1, overdue: 1 } });
    expect(full["breakGlass"]).toMatchObject({
      requests: [{ namespace: "prod", user: "olga", reason: "INC-9", overdue: true }],
    });
    const scoped = await json(await fetch(`${base}/api/security/status`, as("carol-token")));
    expect(scoped).toEqual({
      mode: "lockdown",
      lockdown: { ...FULL_STATUS.lockdown, reason: expect.stringContaining("a threat was detected") as unknown },
      extraApprovals: 1,
      breakGlass: { unreviewed: 0, overdue: 0, requests: [] },
      scoped: true,
    });
    expect(JSON.stringify(scoped)).not.toContain("mallory");
  });

  it("shows audit results of readable namespaces only, worst first, and refuses a bad namespace query", async () => {
    const { base } = await scene();
    const reports = async (
      token: string,
      query = "",
    ): Promise<
      {
        namespace: string;
        summary: Record<string, number>;
        findings: { name: string; result: string; message: string; since: string | null }[];
      }[]
    > => (await json(await fetch(`${base}/api/reports${query}`, as(token))))["items"] as never;
    expect((await reports("alice-token")).map((item) => item.namespace)).toEqual(["prod", "staging"]);
    const carol = await reports("carol-token");
    expect(carol).toEqual([
      expect.objectContaining({
        namespace: "staging",
        summary: { pass: 1, fail: 1, warn: 0, error: 0, skip: 0 },
        findings: [
          expect.objectContaining({
            name: "web",
            result: "fail",
            message: "image staging/web:latest",
            since: "2026-11-30T00:53:20.000Z",
          }),
        ],
      }),
    ]);
    expect(JSON.stringify(carol)).not.toContain("prod");
    expect(await reports("carol-token", "?namespace=prod")).toEqual([]);
    expect(await reports("eve-token")).toEqual([]);
    expect((await reports("alice-token", "?namespace=staging")).map((item) => item.namespace)).toEqual(["staging"]);
    const bad = await fetch(`${base}/api/reports?namespace=..%2Fkube-system`, as("alice-token"));
    expect(bad.status).toBe(400);
  });

  it("answers 503 naming the cause when the API server does not list reports, and asks again on the next read", async () => {
    let calls = 0;
    const { base } = await scene({
      reports: {
        listAll: () => {
          calls += 1;
          return calls === 1
            ? Promise.reject(new Error("connect ECONNREFUSED"))
            : Promise.resolve([auditReport("prod")]);
        },
      },
    });
    const failed = await fetch(`${base}/api/reports`, as("alice-token"));
    expect(failed.status).toBe(503);
    expect(String((await json(failed))["message"])).toContain("ECONNREFUSED");
    const ok = await fetch(`${base}/api/reports`, as("alice-token"));
    expect(ok.status).toBe(200);
    expect(calls).toBe(2);
  });

  it("streams only hints the caller may see", async () => {
    const { base, h } = await scene();
    const controller = new AbortController();
    try {
      const response = await fetch(`${base}/api/events`, {
        ...as("carol-token", { accept: "text/event-stream" }),
        signal: controller.signal,
      });
      expect(response.status).toBe(200);
      const reader = response.body?.getReader();
      if (!reader) throw new Error("no body");
      const decoder = new TextDecoder();
      let text = "";
      const done = (async () => {
        while (!text.includes("last-one")) {
          const chunk: { value?: Uint8Array } = await reader.read();
          text += decoder.decode(chunk.value);
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 50));
      await h.bus.publish({ topic: "approval", key: "prod/deployment-web-3f2a9c1b0d", data: { phase: "Approved" } });
      await h.bus.publish({ topic: "selfhealing", key: "prod/web", data: { action: "rollback" } });
      await h.bus.publish({ topic: "threat", key: "threat:denial-burst:user/mallory", data: { severity: "high" } });
      await h.bus.publish({ topic: "approval", key: "staging/last-one", data: { phase: "Pending" } });
      await done;
      expect(text).not.toContain("prod/");
      expect(text).not.toContain("mallory");
      expect(text).toContain('data: {"topic":"threat","key":"","data":{}}');
      expect(text).toContain('"key":"staging/last-one"');
    } finally {
      controller.abort();
    }
  });

  it("bounds event streams per user (429) before the global bound", async () => {
    const { base } = await scene();
    const controllers: AbortController[] = [];
    try {
      const open = async (token: string): Promise<number> => {
        const controller = new AbortController();
        controllers.push(controller);
        return (
          await fetch(`${base}/api/events`, {
            ...as(token, { accept: "text/event-stream" }),
            signal: controller.signal,
          })
        ).status;
      };
      const statuses: number[] = [];
      for (let i = 0; i < 9; i++) statuses.push(await open("eve-token"));
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 429]);
      expect(await open("carol-token")).toBe(200);
    } finally {
      for (const controller of controllers) controller.abort();
    }
  });
});

describe("the failed-authentication throttle", () => {
  it("blocks unknown tokens from an address after ten failures, but not a user whose token passed before", async () => {
    const { base } = await scene();
    expect((await fetch(`${base}/api/whoami`, as("carol-token"))).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await fetch(`${base}/api/whoami`, as(`guess-${i}`))).status).toBe(401);
    const blocked = await fetch(`${base}/api/whoami`, as("guess-10"));
    expect(blocked.status).toBe(429);
    expect(await json(blocked)).toMatchObject({ error: "TooManyFailedAuthentications" });
    // carol sits behind the same address; her token is known good.
    expect((await fetch(`${base}/api/whoami`, as("carol-token"))).status).toBe(200);
    // A valid token never seen before from a blocked address waits like a guess would.
    expect((await fetch(`${base}/api/whoami`, as("alice-token"))).status).toBe(429);
  });

  it("ignores X-Forwarded-For unless the peer is a trusted proxy", async () => {
    const untrusted = await scene();
    for (let i = 0; i < 10; i++)
      await fetch(`${untrusted.base}/api/whoami`, as(`guess-${i}`, { "x-forwarded-for": `192.0.2.${i}` }));
    expect(
      (await fetch(`${untrusted.base}/api/whoami`, as("guess", { "x-forwarded-for": "192.0.2.200" }))).status,
    ).toBe(429);
    await close?.();
    const trusted = await scene({ trustedProxies: ["loopback"] });
    for (let i = 0; i < 10; i++)
      await fetch(`${trusted.base}/api/whoami`, as(`guess-${i}`, { "x-forwarded-for": "192.0.2.1" }));
    expect((await fetch(`${trusted.base}/api/whoami`, as("guess", { "x-forwarded-for": "192.0.2.1" }))).status).toBe(
      429,
    );
    // Another user behind the proxy is a different client.
    expect(
      (await fetch(`${trusted.base}/api/whoami`, as("alice-token", { "x-forwarded-for": "192.0.2.2" }))).status,
    ).toBe(200);
  });
});
