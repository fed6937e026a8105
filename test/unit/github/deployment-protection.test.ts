// Which callback URLs AEGIS calls with its GitHub token, and what ApprovalRequests answer a
// deployment (the verdict, without HTTP: the integration test drives the webhook).
import { describe, expect, it } from "vitest";
import { callbackOfUrl } from "../../../src/adapters/github/deployment-reviews.js";
import { MemoryReplayGuard } from "../../../src/adapters/slack/replay-guard.js";
import { GIT_COMMIT_ANNOTATION, GIT_REPOSITORY_ANNOTATION } from "../../../src/api/git-reference.js";
import type { ApprovalRequest, Decision } from "../../../src/api/v1alpha1/index.js";
import { DeploymentGate, GITHUB_ENVIRONMENT_LABEL } from "../../../src/http/github-webhook.js";
import { silentLogger } from "../../../src/ports/logger.js";
import type { DeploymentReviews } from "../../../src/ports/deployment-reviews.js";
import { MemoryApprovalRequests, MemoryPolicySource } from "../../fakes/memory-ports.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const PATH = "/repos/acme/web/actions/runs/4242/deployment_protection_rule";

describe("callback URLs", () => {
  it("accepts exactly the review endpoint under the base, and names the run", () => {
    expect(callbackOfUrl("https://api.github.com", `https://api.github.com${PATH}`)).toEqual({
      ok: true,
      callback: { owner: "acme", repo: "web", runId: 4242 },
    });
    expect(callbackOfUrl("https://api.github.com/", `https://API.github.com:443${PATH}`)).toMatchObject({ ok: true });
    expect(callbackOfUrl("https://ghe.example.com/api/v3", `https://ghe.example.com/api/v3${PATH}`)).toMatchObject({
      ok: true,
      callback: { runId: 4242 },
    });
  });

  it.each([
    ["another host", `https://evil.example${PATH}`],
    ["a look-alike host", `https://api.github.com.evil.example${PATH}`],
    ["credentials before another host", `https://api.github.com@evil.example${PATH}`],
    ["another port", `https://api.github.com:8443${PATH}`],
    ["plain http", `http://api.github.com${PATH}`],
    ["a query", `https://api.github.com${PATH}?next=https://evil.example`],
    ["a fragment", `https://api.github.com${PATH}#x`],
    ["another endpoint", `https://api.github.com/repos/acme/web/statuses/${SHA}`],
    ["a trailing segment", `https://api.github.com${PATH}/x`],
    ["an encoded slash", "https://api.github.com/repos/acme%2Fweb/x/actions/runs/1/deployment_protection_rule"],
    [
      "dot segments out of the base",
      "https://ghe.example.com/api/v3/../../repos/acme/web/actions/runs/1/deployment_protection_rule",
    ],
    [
      "a run id that is not a number",
      "https://api.github.com/repos/acme/web/actions/runs/1e3/deployment_protection_rule",
    ],
    ["a relative URL", PATH],
    ["not a URL", "::"],
  ])("refuses %s", (_what, url) => {
    const base = url.includes("ghe.example.com") ? "https://ghe.example.com/api/v3" : "https://api.github.com";
    expect(callbackOfUrl(base, url)).toMatchObject({ ok: false });
  });
});

const neverCalled: DeploymentReviews = {
  callbackOf: () => ({ ok: false, reason: "unused" }),
  review: () => Promise.reject(new Error("the verdict must not call GitHub")),
};

function gate(
  requests: ApprovalRequest[] | MemoryApprovalRequests,
  labels: Record<string, Record<string, string>> = {},
  reviews: DeploymentReviews = neverCalled,
): DeploymentGate {
  const policies = new MemoryPolicySource([
    {
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "AegisPolicy",
      metadata: { name: "prod-gate" },
      spec: {
        enforcement: "Enforce",
        match: { kinds: ["Deployment"] },
        approval: { mode: "Always", minApprovals: 1, approvers: { users: [], groups: ["sre-leads"] } },
        notifications: { github: { repository: "acme/web" } },
      },
    },
  ]);
  return new DeploymentGate({
    approvals: requests instanceof MemoryApprovalRequests ? requests : new MemoryApprovalRequests(requests),
    policies,
    namespaceLabels: (namespace) => labels[namespace] ?? {},
    extraApprovals: () => 0,
    now: () => new Date(),
    logger: silentLogger,
    reviews,
    replay: new MemoryReplayGuard(),
    sweepMs: 60_000,
  });
}

function request(
  name: string,
  namespace: string,
  options: { annotations?: Record<string, string>; decisions?: Decision[]; createdAt?: Date; target?: string } = {},
): ApprovalRequest {
  return {
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "ApprovalRequest",
    metadata: {
      name,
      namespace,
      uid: `uid-${name}`,
      creationTimestamp: (options.createdAt ?? new Date()).toISOString(),
      annotations: { [GIT_COMMIT_ANNOTATION]: SHA, ...options.annotations },
    },
    spec: {
      target: { apiVersion: "apps/v1", kind: "Deployment", namespace, name: options.target ?? name },
      changeHash: `sha256:${"ab".repeat(32)}`,
      policies: ["prod-gate"],
      requester: { username: "dev", groups: [] },
      risk: { score: 10, factors: [] },
      summary: "",
      reason: "",
      decisions: options.decisions ?? [],
    },
  };
}

const approve = (user = "alice"): Decision => ({
  user,
  decision: "Approve",
  comment: "",
  at: new Date().toISOString(),
  via: "kubectl",
});
const reject = (comment: string): Decision => ({ ...approve("bob"), decision: "Reject", comment });
const deployment = { repository: "acme/web", sha: SHA, environment: "production" };

describe("the verdict for a deployment", () => {
  it("approves only when every target's newest request of that commit is Approved", () => {
    expect(gate([request("web", "production", { decisions: [approve()] })]).verdict(deployment)).toMatchObject({
      state: "approved",
      requests: ["production/web"],
    });
    const two = gate([
      request("web", "production", { decisions: [approve()] }),
      request("worker", "production"),
    ]).verdict(deployment);
    expect(two).toMatchObject({ state: "waiting", requests: ["production/web", "production/worker"] });
  });

  it("rejects when any target's newest request is Rejected or Expired", () => {
    const rejected = gate([
      request("web", "production", { decisions: [approve()] }),
      request("worker", "production", { decisions: [reject("too risky")] }),
    ]).verdict(deployment);
    expect(rejected).toMatchObject({ state: "rejected" });
    expect(rejected.state === "rejected" && rejected.comment).toContain("production/worker Rejected by bob: too risky");
    const expired = gate([request("web", "production", { createdAt: new Date(Date.now() - 3 * 86_400_000) })]);
    expect(expired.verdict(deployment)).toMatchObject({ state: "rejected" });
  });

  it("counts the newest request per target: an older rejection replaced by an approval does not reject", () => {
    const verdict = gate([
      request("web-old", "production", {
        target: "web",
        decisions: [reject("no")],
        createdAt: new Date(Date.now() - 3_600_000),
      }),
      request("web-new", "production", { target: "web", decisions: [approve()] }),
    ]).verdict(deployment);
    expect(verdict).toMatchObject({ state: "approved", requests: ["production/web-new"] });
  });

  it("matches repository (case-insensitively) and commit, from the annotation or the policy's repository", () => {
    const other = gate([
      request("web", "production", {
        decisions: [approve()],
        annotations: { [GIT_REPOSITORY_ANNOTATION]: "acme/api" },
      }),
    ]);
    expect(other.verdict(deployment)).toMatchObject({ state: "waiting", requests: [] });
    expect(other.verdict({ ...deployment, repository: "ACME/Api" })).toMatchObject({ state: "approved" });
    expect(
      gate([request("web", "production", { decisions: [approve()] })]).verdict({ ...deployment, sha: "f".repeat(40) }),
    ).toMatchObject({
      state: "waiting",
      requests: [],
    });
  });

  it("maps an environment to the namespace of its name, or to namespaces labelled for it", () => {
    const labels = {
      "web-prod": { [GITHUB_ENVIRONMENT_LABEL]: "production" },
      production: { [GITHUB_ENVIRONMENT_LABEL]: "dr" },
    };
    const requests = [
      request("web", "web-prod", { decisions: [approve()] }),
      request("api", "production"), // labelled for "dr": does not serve production
    ];
    expect(gate(requests, labels).verdict(deployment)).toMatchObject({ state: "approved", requests: ["web-prod/web"] });
    expect(gate(requests, labels).verdict({ ...deployment, environment: "DR" })).toMatchObject({
      state: "waiting",
      requests: ["production/api"],
    });
    expect(gate(requests).verdict(deployment)).toMatchObject({ state: "waiting", requests: ["production/api"] });
  });
});

describe("answering waiting deployments", () => {
  it("answers each deployment once when sweeps and pokes overlap a slow GitHub", async () => {
    const calls: number[] = [];
    const slow: DeploymentReviews = {
      callbackOf: () => ({ ok: false, reason: "unused" }),
      review: async (callback) => {
        calls.push(callback.runId);
        await new Promise((resolve) => setTimeout(resolve, 30));
        return { ok: true };
      },
    };
    const store = new MemoryApprovalRequests([request("web", "production"), request("api", "production")]);
    const g = gate(store, {}, slow);
    const waiting = (runId: number) => ({
      delivery: `d-${runId}`,
      repository: "acme/web",
      sha: SHA,
      environment: "production",
      callback: { owner: "acme", repo: "web", runId },
    });
    expect(await g.receive(waiting(1))).toMatchObject({ state: "waiting", answered: false });
    expect(await g.receive(waiting(2))).toMatchObject({ state: "waiting" });
    expect(g.waitingCount).toBe(2);
    // Both requests approved behind the gate's back (the cache changed).
    for (const stored of store.list()) store.put({ ...stored, spec: { ...stored.spec, decisions: [approve()] } });
    await Promise.all([g.reconcile(), g.reconcile(), g.reconcile()]);
    expect(calls.sort()).toEqual([1, 2]);
    expect(g.waitingCount).toBe(0);
    g.stop();
  });
});
