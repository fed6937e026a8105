import { describe, expect, it } from "vitest";
import { generateSigningKey } from "../../../src/evidence/chain/signing.js";
import type { ApprovalRequest } from "../../../src/api/v1alpha1/index.js";
import type { AdmissionRequest } from "../../../src/webhook/admission-review.js";
import { computeChangeHash } from "../../../src/changehash/index.js";
import { scoreRisk } from "../../../src/risk/index.js";
import { initialModel, modelVersion } from "../../../src/risk/learning/index.js";
import { createAdmissionHandler, type HandlerDependencies } from "../../../src/webhook/handler.js";
import { MemoryApprovalRequests, MemoryEvidence, MemoryPolicySource } from "../../fakes/memory-ports.js";

const AEGIS = "system:serviceaccount:aegis-system:aegis-sa";

function deployment(image: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "prod", labels: { team: "a" } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image }] } },
      ...extra,
    },
  };
}

function admission(object: Record<string, unknown>, overrides: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    uid: "uid-1",
    kind: { group: "apps", version: "v1", kind: "Deployment" },
    resource: { group: "apps", version: "v1", resource: "deployments" },
    name: "web",
    namespace: "prod",
    operation: "CREATE",
    userInfo: { username: "dev", groups: ["developers"] },
    object,
    oldObject: null,
    dryRun: false,
    ...overrides,
  };
}

function setup(spec: Record<string, unknown>, extra: Partial<HandlerDependencies> = {}) {
  const policies = new MemoryPolicySource([
    { apiVersion: "aegis.valina.ai/v1alpha1", kind: "AegisPolicy", metadata: { name: "prod-gate" }, spec },
  ]);
  const requests = new MemoryApprovalRequests();
  const evidence = new MemoryEvidence();
  const decisions: string[] = [];
  const handler = createAdmissionHandler({
    policies,
    evidencePublicKey: generateSigningKey().publicKey,
    namespaceLabels: (namespace) => ({ "kubernetes.io/metadata.name": namespace }),
    approvalRequests: requests,
    requestWriter: requests,
    slackMappingReviewer: { mayActAs: () => Promise.resolve(false) },
    evidence,
    now: () => new Date("2026-11-26T12:00:00Z"),
    aegisUsername: AEGIS,
    aegisNamespace: "aegis-system",
    extraApprovals: () => 0,
    onDecision: (decision) => decisions.push(`${decision.reason}:${decision.allowed}`),
    ...extra,
  });
  return { handler, requests, evidence, decisions, policies };
}

/** Alice's Approve, appended as the approval guard would have let her. */
function approveAsAlice(request: ApprovalRequest | undefined): void {
  if (!request) throw new Error("no request created");
  request.spec.decisions.push({
    user: "alice",
    decision: "Approve",
    comment: "",
    at: "2026-11-26T12:00:00Z",
    via: "kubectl",
  });
}

const approvalSpec = {
  match: { kinds: ["Deployment"], namespaces: ["prod"] },
  approval: { mode: "Always", approvers: { groups: ["sre-leads"] } },
};

describe("the gate", () => {
  it("denies with every violation of an Enforce policy and records the decision", async () => {
    const { handler, evidence } = setup({
      match: { kinds: ["Deployment"] },
      checks: [
        { name: "registries", allowedRegistries: ["ghcr.io/acme/"] },
        { name: "owner", requiredLabels: ["app.kubernetes.io/name"] },
      ],
    });
    const response = await handler(admission(deployment("nginx:1")));
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toMatch(/prod-gate\/registries: .*; prod-gate\/owner: /);
    expect(evidence.records[0]).toMatchObject({
      type: "admission.decision",
      subject: "Deployment/prod/web",
      actor: "dev",
      data: { allowed: false, reason: "PolicyViolation" },
    });
  });

  it("denies a change needing approval with the DESIGN message, creates the request once, and never on dryRun", async () => {
    const { handler, requests } = setup(approvalSpec);
    const dry = await handler(admission(deployment("ghcr.io/acme/web:1"), { dryRun: true }));
    expect(dry.allowed).toBe(false);
    expect(requests.created).toBe(0);
    const first = await handler(admission(deployment("ghcr.io/acme/web:1")));
    const second = await handler(admission(deployment("ghcr.io/acme/web:1")));
    expect(first.status?.message).toMatch(
      /^aegis: Deployment prod\/web change [0-9a-f]{10} needs 1 approval \(policy prod-gate, risk \d+\/100: new-workload \+10.*\)\. ApprovalRequest prod\/deployment-web-[0-9a-f]{10} is Pending; approve with: kubectl aegis approve deployment-web-[0-9a-f]{10} -n prod$/,
    );
    expect(second.status?.message).toBe(first.status?.message);
    expect(requests.created).toBe(1);
    const [request] = requests.list();
    expect(request?.spec).toMatchObject({
      policies: ["prod-gate"],
      requester: { username: "dev", groups: ["developers"] },
      summary: "new Deployment with image ghcr.io/acme/web:1",
    });
  });

  it("records a dry-run denial with the CamelCase reason ApprovalNotCreated and says nothing was created", async () => {
    const { handler, requests, evidence, decisions } = setup(approvalSpec);
    const dry = await handler(admission(deployment("ghcr.io/acme/web:1"), { dryRun: true }));
    expect(dry.allowed).toBe(false);
    expect(dry.status?.message).toMatch(
      /ApprovalRequest prod\/deployment-web-[0-9a-f]{10} was not created \(dry run\); apply without --dry-run to request approval$/,
    );
    expect(requests.list()).toEqual([]);
    expect(evidence.records).toHaveLength(1);
    expect(evidence.records[0]).toMatchObject({
      type: "admission.decision",
      subject: "Deployment/prod/web",
      data: { allowed: false, dryRun: true, reason: "ApprovalNotCreated" },
    });
    expect(decisions).toEqual(["ApprovalNotCreated:false"]);
  });

  it("admits exactly the approved change, and scaling or restarting it, but not a new image", async () => {
    const { handler, requests } = setup(approvalSpec);
    const object = deployment("ghcr.io/acme/web:1");
    await handler(admission(object));
    const [request] = requests.list();
    if (!request) throw new Error("no request created");
    approveAsAlice(request);
    expect((await handler(admission(object))).allowed).toBe(true);

    const scaled = deployment("ghcr.io/acme/web:1", { replicas: 9 });
    expect((await handler(admission(scaled, { operation: "UPDATE", oldObject: object }))).allowed).toBe(true);
    const restarted = structuredClone(object) as {
      spec: { template: { metadata: { annotations?: Record<string, string> } } };
    };
    restarted.spec.template.metadata.annotations = { "kubectl.kubernetes.io/restartedAt": "2026-11-26T12:00:00Z" };
    expect(
      (await handler(admission(restarted as Record<string, unknown>, { operation: "UPDATE", oldObject: object })))
        .allowed,
    ).toBe(true);
    expect(
      (await handler(admission(deployment("ghcr.io/acme/web:2"), { operation: "UPDATE", oldObject: object }))).allowed,
    ).toBe(false);
  });

  it("checks AEGIS's own changes like anyone's: a new image by it needs approval, a restart or an approved rollback does not", async () => {
    const approved = new Set<string>();
    const { handler, evidence } = setup(
      { ...approvalSpec, checks: [{ name: "registries", allowedRegistries: ["ghcr.io/acme/"] }] },
      { approvedBefore: (_target, hash) => Promise.resolve(approved.has(hash)) },
    );
    const asAegis = { userInfo: { username: AEGIS, groups: ["system:serviceaccounts"] } };
    const running = deployment("ghcr.io/acme/web:1");
    expect((await handler(admission(deployment("ghcr.io/acme/web:1"), asAegis))).allowed).toBe(false);
    const evil = await handler(
      admission(deployment("docker.io/evil/miner:1"), { ...asAegis, operation: "UPDATE", oldObject: running }),
    );
    expect(evil.allowed).toBe(false);
    expect(evil.status?.message).toMatch(/violates policy/);

    const restarted = structuredClone(running) as { spec: { template: { metadata: { annotations?: object } } } };
    restarted.spec.template.metadata.annotations = { "kubectl.kubernetes.io/restartedAt": "2026-11-26T12:00:00Z" };
    const restart = admission(restarted, {
      ...asAegis,
      operation: "UPDATE",
      oldObject: running,
    });
    expect((await handler(restart)).allowed).toBe(true);

    const rollback = deployment("ghcr.io/acme/web:0");
    const rollbackRequest = admission(rollback, { ...asAegis, operation: "UPDATE", oldObject: running });
    expect((await handler(rollbackRequest)).allowed).toBe(false);
    approved.add(computeChangeHash(rollback));
    expect((await handler(rollbackRequest)).allowed).toBe(true);
    expect(evidence.records.at(-1)?.data).toMatchObject({ reason: "AegisRollbackApproved" });
    // The ledger's word counts only for AEGIS's own rollbacks, not for anyone else's change.
    expect((await handler(admission(rollback, { operation: "UPDATE", oldObject: running }))).allowed).toBe(false);
  });

  it("runs the checks on an UPDATE that changes nothing that runs: removing a required label or scaling past a CEL limit is denied", async () => {
    const { handler } = setup({
      match: { kinds: ["Deployment"] },
      checks: [
        { name: "owner", requiredLabels: ["team"] },
        { name: "replicas", cel: "object.spec.replicas <= 10", message: "at most 10 replicas" },
      ],
    });
    const object = deployment("ghcr.io/acme/web:1");
    const unlabelled = structuredClone(object) as { metadata: { labels?: object } };
    delete unlabelled.metadata.labels;
    const relabel = await handler(admission(unlabelled, { operation: "UPDATE", oldObject: object }));
    expect(relabel.allowed).toBe(false);
    expect(relabel.status?.message).toMatch(/prod-gate\/owner/);
    const scaled = deployment("ghcr.io/acme/web:1", { replicas: 50 });
    const scale = await handler(admission(scaled, { operation: "UPDATE", oldObject: object }));
    expect(scale.allowed).toBe(false);
    expect(scale.status?.message).toMatch(/at most 10 replicas/);
  });

  it("checks the workload behind a scale subresource request", async () => {
    const stored = deployment("ghcr.io/acme/web:1");
    const { handler } = setup(
      {
        match: { kinds: ["Deployment"] },
        checks: [{ name: "replicas", cel: "object.spec.replicas <= 10", message: "at most 10 replicas" }],
      },
      { workloads: { get: (resource) => Promise.resolve(resource.resource === "deployments" ? stored : undefined) } },
    );
    const scale = (replicas: number): AdmissionRequest =>
      admission(
        { apiVersion: "autoscaling/v1", kind: "Scale", metadata: { name: "web" }, spec: { replicas } },
        {
          kind: { group: "autoscaling", version: "v1", kind: "Scale" },
          subResource: "scale",
          operation: "UPDATE",
          oldObject: { apiVersion: "autoscaling/v1", kind: "Scale", metadata: { name: "web" }, spec: { replicas: 2 } },
        },
      );
    expect((await handler(scale(5))).allowed).toBe(true);
    const denied = await handler(scale(50));
    expect(denied.allowed).toBe(false);
    expect(denied.status?.message).toMatch(/Deployment prod\/web violates policy: .*at most 10 replicas/);
  });

  it("gates a bare Pod whatever owner it claims, and admits only built-in controllers' own creations by identity", async () => {
    const { handler } = setup({
      ...approvalSpec,
      checks: [{ name: "registries", allowedRegistries: ["ghcr.io/acme/"] }],
    });
    const pod = (image: string): Record<string, unknown> => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "web-abc12",
        namespace: "prod",
        ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "made-up", uid: "x", controller: true }],
      },
      spec: { containers: [{ name: "c", image }] },
    });
    const asPod = {
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      name: "web-abc12",
    };
    const spoofed = await handler(admission(pod("docker.io/evil/miner:1"), asPod));
    expect(spoofed.allowed).toBe(false);
    expect(spoofed.status?.message).toMatch(/prod-gate\/registries/);
    const needsApproval = await handler(admission(pod("ghcr.io/acme/web:1"), asPod));
    expect(needsApproval.allowed).toBe(false);
    expect(needsApproval.status?.message).toMatch(/needs 1 approval/);
    const controller = {
      userInfo: { username: "system:serviceaccount:kube-system:replicaset-controller", groups: [] },
    };
    expect((await handler(admission(pod("ghcr.io/acme/web:1"), { ...asPod, ...controller }))).allowed).toBe(true);
    // The same identity making a kind it never makes, or for another owner, is gated.
    const otherOwner = pod("ghcr.io/acme/web:1") as { metadata: { ownerReferences: { kind: string }[] } };
    otherOwner.metadata.ownerReferences[0]!.kind = "Job";
    expect((await handler(admission(otherOwner as Record<string, unknown>, { ...asPod, ...controller }))).allowed).toBe(
      false,
    );
  });

  it("counts an approval only for the policies it was given under", async () => {
    const second = {
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "AegisPolicy",
      metadata: { name: "stricter" },
      spec: { match: { kinds: ["Deployment"] }, approval: { mode: "Always", approvers: { groups: ["security"] } } },
    };
    const { handler, requests, policies } = setup(approvalSpec);
    const object = deployment("ghcr.io/acme/web:1");
    await handler(admission(object));
    const [request] = requests.list();
    if (!request) throw new Error("no request created");
    approveAsAlice(request);
    expect((await handler(admission(object))).allowed).toBe(true);
    policies.add(second);
    const denied = await handler(admission(object));
    expect(denied.allowed).toBe(false);
    const [replaced] = requests.list();
    expect(replaced?.spec.policies).toEqual(["prod-gate", "stricter"]);
    expect(replaced?.spec.decisions).toEqual([]);
  });

  it("binds a generateName CREATE's approval to the prefix, so a retry with a new name finds it", async () => {
    const { handler, requests } = setup({ ...approvalSpec, match: { kinds: ["Job"], namespaces: ["prod"] } });
    const job = (name: string): Record<string, unknown> => ({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name, generateName: "migrate-", namespace: "prod" },
      spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "m", image: "ghcr.io/acme/m:1" }] } } },
    });
    const asJob = (name: string): Partial<AdmissionRequest> => ({
      kind: { group: "batch", version: "v1", kind: "Job" },
      resource: { group: "batch", version: "v1", resource: "jobs" },
      name,
    });
    await handler(admission(job("migrate-aaaaa"), asJob("migrate-aaaaa")));
    const [request] = requests.list();
    expect(request?.spec.target.name).toBe("migrate-");
    approveAsAlice(request);
    expect((await handler(admission(job("migrate-bbbbb"), asJob("migrate-bbbbb")))).allowed).toBe(true);
    expect(requests.list()).toHaveLength(1);
  });

  it("warns under Audit and tells observers about every gated decision", async () => {
    const { handler, decisions } = setup({
      enforcement: "Audit",
      match: { kinds: ["Deployment"] },
      checks: [{ name: "digest", requireImageDigest: true }],
    });
    const response = await handler(admission(deployment("ghcr.io/acme/web:1")));
    expect(response.allowed).toBe(true);
    expect(response.warnings?.[0]).toMatch(/^aegis \(audit\): prod-gate\/digest: /);
    expect(decisions).toEqual(["ChecksPassed:true"]);
  });

  it("never gates kube-system, and lets only AEGIS create ApprovalRequests", async () => {
    const { handler } = setup({
      match: { kinds: ["Deployment"] },
      checks: [{ name: "digest", requireImageDigest: true }],
    });
    expect((await handler(admission(deployment("nginx"), { namespace: "kube-system" }))).allowed).toBe(true);
    const forged = await handler(
      admission(
        { spec: { decisions: [] } },
        {
          kind: { group: "aegis.valina.ai", version: "v1alpha1", kind: "ApprovalRequest" },
          resource: { group: "aegis.valina.ai", version: "v1alpha1", resource: "approvalrequests" },
        },
      ),
    );
    expect(forged.allowed).toBe(false);
    expect(forged.status?.message).toMatch(/dev may not create one/);
  });
});

describe("denials repeated by a retrying client (a GitOps engine's sync retries)", () => {
  it("record the denial that opened the request and one for all the retries against it", async () => {
    const { handler, evidence, decisions } = setup(approvalSpec);
    for (let attempt = 0; attempt < 6; attempt++) {
      const response = await handler(admission(deployment("ghcr.io/acme/web:1"), { uid: `try-${attempt}` }));
      expect(response.allowed).toBe(false);
    }
    const denials = evidence.records.filter((r) => r.type === "admission.decision");
    expect(denials.map((r) => r.data["reason"])).toEqual(["ApprovalPending", "ApprovalPending"]);
    // Every attempt still reaches the observers (metrics, threat detection).
    expect(decisions).toHaveLength(6);
    // Another user's attempt is their own record.
    await handler(
      admission(deployment("ghcr.io/acme/web:1"), { uid: "other", userInfo: { username: "eve", groups: [] } }),
    );
    expect(evidence.records.filter((r) => r.type === "admission.decision")).toHaveLength(3);
  });
});

describe("a singleUse approval", () => {
  const singleUseSpec = {
    ...approvalSpec,
    approval: { ...approvalSpec.approval, singleUse: true },
  };

  it("admits its change once: the admission uses it up (Used), the next apply opens a new request", async () => {
    const { handler, requests, decisions } = setup(singleUseSpec);
    await handler(admission(deployment("ghcr.io/acme/web:1")));
    approveAsAlice(requests.list()[0]);
    const dry = await handler(admission(deployment("ghcr.io/acme/web:1"), { dryRun: true }));
    expect(dry.allowed).toBe(true); // a dry run never uses the approval
    expect((await handler(admission(deployment("ghcr.io/acme/web:1")))).allowed).toBe(true);
    const used = requests.list()[0];
    expect(used?.spec.decisions.at(-1)).toMatchObject({ user: AEGIS, decision: "Consume", via: "admission" });

    const dryAgain = await handler(admission(deployment("ghcr.io/acme/web:1"), { dryRun: true }));
    expect(dryAgain.status?.message).toMatch(/was Used: its singleUse approval admitted this change once/);
    const again = await handler(admission(deployment("ghcr.io/acme/web:1")));
    expect(again.allowed).toBe(false);
    expect(again.status?.message).toMatch(/is Pending; approve with/);
    const fresh = requests.list()[0];
    expect(fresh?.metadata.uid).not.toBe(used?.metadata.uid);
    expect(fresh?.spec.decisions).toEqual([]);
    expect(decisions.slice(-2)).toEqual(["ApprovalUsed:false", "ApprovalPending:false"]);
  });

  it("is used by one admission only: one that loses the race to use it is denied", async () => {
    const { handler, requests } = setup(singleUseSpec);
    await handler(admission(deployment("ghcr.io/acme/web:1")));
    approveAsAlice(requests.list()[0]);
    // Another replica's admission uses the approval between this one's read and its write.
    const consume = requests.consume.bind(requests);
    let raced = false;
    requests.consume = async (request, decision) => {
      if (!raced) {
        raced = true;
        await consume(request, { ...decision, comment: "the other admission" });
      }
      return consume(request, decision);
    };
    const response = await handler(admission(deployment("ghcr.io/acme/web:1")));
    expect(response.allowed).toBe(false);
    // The used request was replaced by a fresh one to approve again.
    expect(requests.list()[0]?.spec.decisions).toEqual([]);
  });
});

describe("a freeze window", () => {
  const frozenSpec = {
    ...approvalSpec,
    // The test clock is 2026-11-26T12:00:00Z: inside this range.
    freezeWindows: [{ name: "release-freeze", start: "2026-11-26T00:00:00Z", end: "2026-11-27T00:00:00Z" }],
  };

  it("denies a gated change even when approved, saying when it ends; scaling still passes", async () => {
    const { handler, requests } = setup(approvalSpec);
    await handler(admission(deployment("ghcr.io/acme/web:1")));
    approveAsAlice(requests.list()[0]);
    const { handler: frozenHandler, decisions } = setup(frozenSpec, {
      approvalRequests: requests,
      requestWriter: requests,
    });
    const denied = await frozenHandler(admission(deployment("ghcr.io/acme/web:1")));
    expect(denied.allowed).toBe(false);
    expect(denied.status?.message).toMatch(
      /is frozen by policy prod-gate: freeze window release-freeze is open until 2026-11-27T00:00:00.000Z; changes are admitted again after it/,
    );
    expect(decisions).toEqual(["Frozen:false"]);
    const scaled = await frozenHandler(
      admission(deployment("ghcr.io/acme/web:1", { replicas: 5 }), {
        operation: "UPDATE",
        oldObject: deployment("ghcr.io/acme/web:1"),
      }),
    );
    expect(scaled.allowed).toBe(true);
  });

  it("admits the approved change once the window has closed", async () => {
    const after = () => new Date("2026-11-27T00:00:01Z");
    const { handler, requests } = setup(frozenSpec, { now: after });
    await handler(admission(deployment("ghcr.io/acme/web:1")));
    approveAsAlice(requests.list()[0]);
    expect((await handler(admission(deployment("ghcr.io/acme/web:1")))).allowed).toBe(true);
  });
});

describe("RiskBased approval: two thresholds", () => {
  const object = deployment("ghcr.io/acme/web:1");
  const { score } = scoreRisk({
    operation: "CREATE",
    kind: "Deployment",
    object,
    oldObject: null,
    namespaceLabels: { "kubernetes.io/metadata.name": "prod" },
    now: new Date("2026-11-26T12:00:00Z"),
  });
  const riskSpec = (approval: Record<string, unknown>, enforcement = "Enforce", shadow = false) => ({
    enforcement,
    risk: { shadow },
    match: { kinds: ["Deployment"], namespaces: ["prod"] },
    approval: {
      mode: "RiskBased",
      approvers: { groups: ["sre-leads"] },
      breakGlass: { groups: ["oncall"], reviewWithin: "2h" },
      ...approval,
    },
  });

  it("admits a change scoring below autoApproveBelow without a human", async () => {
    expect(score).toBeGreaterThan(0);
    const { handler, requests, decisions } = setup(riskSpec({ autoApproveBelow: score + 1, blockAbove: 100 }));
    expect((await handler(admission(object))).allowed).toBe(true);
    expect(requests.list()).toEqual([]);
    expect(decisions).toEqual(["ChecksPassed:true"]);
  });

  it("asks approvers at or above autoApproveBelow up to blockAbove (riskThreshold is its earlier name)", async () => {
    for (const approval of [{ autoApproveBelow: score, blockAbove: score }, { riskThreshold: score }]) {
      const { handler, requests, decisions } = setup(riskSpec(approval));
      const response = await handler(admission(object));
      expect(response.allowed).toBe(false);
      expect(response.status?.message).toMatch(/needs 1 approval/);
      expect(requests.list()).toHaveLength(1);
      expect(decisions).toEqual(["ApprovalPending:false"]);
    }
  });

  it("blocks above blockAbove, saying why; no request is opened, and neither approval nor break-glass admits it", async () => {
    const { handler, requests, evidence, decisions } = setup(riskSpec({ autoApproveBelow: 0, blockAbove: score - 1 }));
    const response = await handler(admission(object));
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toMatch(
      new RegExp(
        `^aegis: Deployment prod/web change [0-9a-f]{10} is blocked: risk ${score}/100 is above blockAbove ${score - 1} of policy prod-gate \\(new-workload \\+10.*\\); no approval admits it`,
      ),
    );
    expect(requests.list()).toEqual([]);
    expect(evidence.records.at(-1)).toMatchObject({
      type: "admission.decision",
      data: { allowed: false, reason: "RiskTooHigh", risk: { score } },
    });
    const glass = structuredClone(object);
    (glass["metadata"] as Record<string, unknown>)["annotations"] = { "aegis.valina.ai/break-glass": "INC-1: down" };
    const broken = await handler(admission(glass, { userInfo: { username: "olga", groups: ["oncall"] } }));
    expect(broken.allowed).toBe(false);
    expect(broken.status?.message).toMatch(/is blocked: risk/);
    expect(decisions).toEqual(["RiskTooHigh:false", "RiskTooHigh:false"]);
  });

  it("in shadow mode (the default) asks a human for what it would auto-approve, and marks the request so", async () => {
    const { handler, requests, evidence } = setup(riskSpec({ autoApproveBelow: score + 1 }, "Enforce", true));
    const response = await handler(admission(object));
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toMatch(/shadow mode: below autoApproveBelow, a human decides/);
    const [request] = requests.list();
    expect(request?.spec.risk).toMatchObject({ score, shadowAutoApprove: true });
    expect(evidence.records.at(-1)?.data).toMatchObject({
      reason: "ApprovalPending",
      risk: { shadowAutoApprove: true },
    });
    // Where the score asks a human anyway, shadow mode changes nothing and marks nothing.
    const above = setup(riskSpec({ autoApproveBelow: score }, "Enforce", true));
    await above.handler(admission(object));
    expect(above.requests.list()[0]?.spec.risk.shadowAutoApprove).toBeUndefined();
  });

  it("only warns under an Audit policy", async () => {
    const { handler } = setup(riskSpec({ autoApproveBelow: 0, blockAbove: score - 1 }, "Audit"));
    const response = await handler(admission(object));
    expect(response.allowed).toBe(true);
    expect(response.warnings?.join()).toMatch(/aegis \(audit\): risk \d+\/100 is above blockAbove/);
  });
});

describe("RiskBased approval: scored against what humans last approved", () => {
  const pinned = `ghcr.io/acme/web@sha256:${"ab".repeat(32)}`;
  const v0 = deployment(pinned);
  const withEnv = (object: Record<string, unknown>): Record<string, unknown> => {
    const copy = structuredClone(object);
    const containers = (copy["spec"] as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec
      .containers;
    containers[0] = { ...containers[0], env: [{ name: "FEATURE", value: "on" }] };
    return copy;
  };
  const privileged = (object: Record<string, unknown>): Record<string, unknown> => {
    const copy = structuredClone(object);
    const containers = (copy["spec"] as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec
      .containers;
    containers[0] = { ...containers[0], securityContext: { privileged: true } };
    return copy;
  };
  const v1 = withEnv(v0);
  const v2 = privileged(v1);
  // secret-or-env-change +15 and privilege-increase +25: each step under 38, the two together not.
  const spec = {
    match: { kinds: ["Deployment"], namespaces: ["prod"] },
    risk: { shadow: false },
    approval: { mode: "RiskBased", autoApproveBelow: 38, approvers: { groups: ["sre-leads"] } },
  };

  async function withApprovedV0() {
    const scene = setup(spec);
    // v0 as a human approved it: AEGIS's request for it, with the spec it would run.
    const first = await scene.handler(admission(v0));
    expect(first.allowed).toBe(true); // new-workload +10: under 38, no request
    const request: ApprovalRequest = {
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "ApprovalRequest",
      metadata: { name: "deployment-web-0000000000", namespace: "prod" },
      spec: {
        target: { apiVersion: "apps/v1", kind: "Deployment", namespace: "prod", name: "web" },
        changeHash: computeChangeHash(v0),
        policies: ["prod-gate"],
        requester: { username: "dev", groups: [] },
        risk: { score: 10, factors: [] },
        summary: "",
        reason: "",
        decisions: [],
        changeSpec: JSON.stringify(v0["spec"]),
      },
      status: { phase: "Approved", decidedAt: "2026-11-26T11:00:00Z" },
    };
    scene.requests.put(request);
    return scene;
  }

  it("asks a human for the second of two small steps that together need one", async () => {
    const { handler, requests } = await withApprovedV0();
    const step1 = await handler(admission(v1, { operation: "UPDATE", oldObject: v0 }));
    expect(step1.allowed).toBe(true);
    const step2 = await handler(admission(v2, { operation: "UPDATE", oldObject: v1 }));
    expect(step2.allowed).toBe(false);
    expect(step2.status?.message).toMatch(
      /risk 40\/100: .*privilege-increase \+25.*secret-or-env-change \+15|risk 40\/100: .*secret-or-env-change \+15.*privilege-increase \+25/,
    );
    const opened = requests.list().find((request) => request.spec.changeHash === computeChangeHash(v2));
    expect(opened?.spec.risk.score).toBe(40);
    expect(JSON.parse(opened?.spec.changeSpec ?? "null")).toEqual(v2["spec"]);
  });

  it("scores against the replaced object when nothing was ever approved (the step alone)", async () => {
    const { handler } = setup(spec);
    const step2 = await handler(admission(v2, { operation: "UPDATE", oldObject: v1 }));
    expect(step2.allowed).toBe(true);
  });
});

describe("break-glass", () => {
  const breakGlassSpec = {
    ...approvalSpec,
    approval: { ...approvalSpec.approval, breakGlass: { groups: ["oncall"], reviewWithin: "2h" } },
  };
  const withBreakGlass = (reason: string) => {
    const object = deployment("ghcr.io/acme/web:9");
    (object.metadata as Record<string, unknown>)["annotations"] = { "aegis.valina.ai/break-glass": reason };
    return object;
  };
  const oncall = { userInfo: { username: "olga", groups: ["oncall", "developers"] } };

  it("admits a member at once, warns, records it, and opens a ReviewRequired request", async () => {
    const { handler, requests, evidence, decisions } = setup(breakGlassSpec);
    const response = await handler(admission(withBreakGlass("INC-42: checkout down"), oncall));
    expect(response.allowed).toBe(true);
    expect(response.warnings?.join()).toMatch(
      /admitted by BREAK-GLASS \(INC-42: checkout down\); approvers must review/,
    );
    const [review] = requests.list();
    expect(review?.metadata.name).toMatch(/^breakglass-deployment-web-[0-9a-f]{10}$/);
    expect(review?.spec.breakGlass).toMatchObject({
      user: "olga",
      reason: "INC-42: checkout down",
      reviewWithin: "2h",
    });
    expect(evidence.records.at(-1)).toMatchObject({
      type: "admission.decision",
      data: { allowed: true, reason: "BreakGlass", breakGlass: "INC-42: checkout down" },
    });
    expect(decisions).toEqual(["BreakGlass:true"]);
  });

  it("refuses a caller outside the break-glass groups, an empty reason, and a policy without break-glass", async () => {
    const { handler, requests } = setup(breakGlassSpec);
    const outsider = await handler(
      admission(withBreakGlass("INC-42"), { userInfo: { username: "dev", groups: ["developers"] } }),
    );
    expect(outsider.allowed).toBe(false);
    expect(outsider.status?.message).toMatch(
      /break-glass refused .*dev is in none of policy prod-gate's break-glass groups \(oncall\)/,
    );
    const empty = await handler(admission(withBreakGlass("  "), oncall));
    expect(empty.status?.message).toMatch(/needs a reason and a ticket/);
    expect(requests.list()).toEqual([]);
    const { handler: plain } = setup(approvalSpec);
    const none = await plain(admission(withBreakGlass("INC-42"), oncall));
    expect(none.status?.message).toMatch(/policy prod-gate allows no break-glass/);
  });

  it("never skips the checks", async () => {
    const { handler } = setup({ ...breakGlassSpec, checks: [{ name: "registries", allowedRegistries: ["quay.io/"] }] });
    const response = await handler(admission(withBreakGlass("INC-42"), oncall));
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toMatch(/violates policy: prod-gate\/registries/);
  });

  it("passes a freeze window for a member", async () => {
    const frozen = {
      ...breakGlassSpec,
      freezeWindows: [{ start: "2026-11-26T00:00:00Z", end: "2026-11-27T00:00:00Z" }],
    };
    const { handler } = setup(frozen);
    expect((await handler(admission(withBreakGlass("INC-42"), oncall))).allowed).toBe(true);
    expect((await handler(admission(deployment("ghcr.io/acme/web:9"), oncall))).status?.message).toMatch(/is frozen/);
  });
});

describe("approved access (CONNECT pods/exec)", () => {
  const accessSpec = { ...approvalSpec, access: { exec: "RequireApproval", ttl: "30m" } };
  const exec = (user = "dev", overrides: Partial<AdmissionRequest> = {}): AdmissionRequest =>
    admission(
      { kind: "PodExecOptions", apiVersion: "v1", command: ["sh"] },
      {
        kind: { group: "", version: "v1", kind: "PodExecOptions" },
        resource: { group: "", version: "v1", resource: "pods" },
        subResource: "exec",
        name: "web-7d9f-abcde",
        operation: "CONNECT",
        userInfo: { username: user, groups: ["developers"] },
        ...overrides,
      },
    );

  it("denies the first exec with a Pending AccessRequest, admits it once approved, records the session", async () => {
    let now = new Date("2026-11-26T12:00:00Z");
    const seen: string[] = [];
    const { handler, requests, evidence } = setup(accessSpec, {
      now: () => now,
      onAccess: (access) => seen.push(`${access.action}:${access.allowed}`),
    });
    const first = await handler(exec());
    expect(first.allowed).toBe(false);
    expect(first.status?.message).toMatch(
      /exec into pod prod\/web-7d9f-abcde needs approval \(policy prod-gate\); AccessRequest prod\/access-exec-web-7d9f-abcde-[0-9a-f]{10} is Pending/,
    );
    const [request] = requests.list();
    expect(request?.spec).toMatchObject({
      target: { kind: "Pod", name: "web-7d9f-abcde" },
      access: { action: "exec", user: "dev", ttl: "30m" },
    });
    approveAsAlice(request);
    const approved = await handler(exec());
    expect(approved.allowed).toBe(true);
    expect(evidence.records.at(-1)).toMatchObject({
      type: "access.session",
      subject: "Pod/prod/web-7d9f-abcde",
      actor: "dev",
    });
    expect(seen).toEqual(["exec:false", "exec:true"]);

    // Bound to the user and the action: someone else, or attach, needs an approval of their own.
    expect((await handler(exec("mallory"))).allowed).toBe(false);
    expect((await handler(exec("dev", { subResource: "attach" }))).allowed).toBe(true); // attach is Allow here

    now = new Date("2026-11-26T12:30:01Z"); // 30 m after alice's approval at 12:00
    const expired = await handler(exec());
    expect(expired.allowed).toBe(false);
    expect(expired.status?.message).toMatch(/is Pending/);
  });

  it("leaves exec alone where no policy asks for it, and refuses a policy with access but no approval", async () => {
    const { handler } = setup(approvalSpec);
    expect((await handler(exec())).allowed).toBe(true);
    const { aegisPolicySpecSchema } = await import("../../../src/api/v1alpha1/index.js");
    const parsed = aegisPolicySpecSchema.safeParse({ match: { kinds: ["Pod"] }, access: { exec: "RequireApproval" } });
    expect(parsed.error?.issues.map((issue) => issue.message)).toContain(
      "access needs approval: its approvers decide the AccessRequests",
    );
    const tooLong = aegisPolicySpecSchema.safeParse({ ...accessSpec, access: { exec: "RequireApproval", ttl: "25h" } });
    expect(tooLong.success).toBe(false);
  });
});

describe("RiskBased approval: the learned model decides", () => {
  const spec = {
    risk: { shadow: false },
    match: { kinds: ["Deployment"], namespaces: ["prod"] },
    approval: { mode: "RiskBased", autoApproveBelow: 30, approvers: { groups: ["sre-leads"] } },
  };
  // new-workload and mutable-tag: 20 v1 points (30 outside working hours is not reached at 12:00 UTC).
  const object = deployment("ghcr.io/acme/web:1");

  it("scores with the model in force and names it in the request and the evidence", async () => {
    // A model that learnt people reject new workloads: new-workload weighs 4 logits (40 points).
    const strict = { ...initialModel(), weights: { ...initialModel().weights, "new-workload": 4 } };
    const version = modelVersion(strict);
    const { handler, requests, evidence } = setup(spec, { riskModel: () => ({ model: strict, version }) });
    const denied = await handler(admission(object));
    expect(denied.allowed).toBe(false);
    expect(denied.status?.message).toContain("new-workload +40");
    const [request] = requests.list();
    expect(request?.spec.risk).toMatchObject({ model: version, score: 50 });
    expect(request?.spec.risk.probability).toBeCloseTo(0.731, 3);
    expect(evidence.records.at(-1)?.data).toMatchObject({ risk: { model: version, score: 50 } });
  });

  it("admits below autoApproveBelow when the model weighs the same factors lightly", async () => {
    const lenient = { ...initialModel(), weights: { ...initialModel().weights, "new-workload": 0.5 } };
    const { handler, requests, evidence } = setup(spec, {
      riskModel: () => ({ model: lenient, version: modelVersion(lenient) }),
    });
    expect((await handler(admission(object))).allowed).toBe(true);
    expect(requests.list()).toEqual([]);
    expect(evidence.records.at(-1)?.data).toMatchObject({
      reason: "ChecksPassed",
      risk: { model: modelVersion(lenient), score: 15 },
    });
  });

  it('says "v1" where no model is wired in', async () => {
    const { handler, evidence } = setup(spec);
    await handler(admission(object));
    expect(evidence.records.at(-1)?.data).toMatchObject({ risk: { model: "v1", score: 20 } });
  });
});

describe("RiskBased approval: registries from the namespace's approved history", () => {
  const spec = {
    risk: { shadow: false },
    match: { kinds: ["Deployment"], namespaces: ["prod"] },
    approval: { mode: "RiskBased", autoApproveBelow: 30, approvers: { groups: ["sre-leads"] } },
  };
  const approvedElsewhere = (image: string, name = "api"): ApprovalRequest => ({
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "ApprovalRequest",
    metadata: { name: `deployment-${name}-0123456789`, namespace: "prod" },
    spec: {
      target: { apiVersion: "apps/v1", kind: "Deployment", namespace: "prod", name },
      changeHash: `sha256:${"0".repeat(64)}`,
      policies: ["prod-gate"],
      requester: { username: "dev", groups: [] },
      risk: { score: 20, factors: [] },
      summary: "",
      reason: "",
      decisions: [],
      changeSpec: JSON.stringify((deployment(image) as { spec: unknown }).spec),
    },
    status: { phase: "Approved", decidedAt: "2026-11-25T12:00:00Z" },
  });

  it("counts a new workload's image from a source nobody approved in the namespace as a new registry", async () => {
    const { handler, requests } = setup(spec);
    requests.put(approvedElsewhere("ghcr.io/acme/api:1"));
    const denied = await handler(admission(deployment("quay.io/evil/miner:1")));
    expect(denied.allowed).toBe(false);
    expect(denied.status?.message).toContain("new-registry +20");
    expect(requests.list().find((r) => r.spec.target.name === "web")?.spec.risk.factors).toContainEqual(
      expect.objectContaining({
        name: "new-registry",
        detail: "images from quay.io/evil, in no change approved in namespace prod",
      }),
    );
    // The namespace's own source is not new: new-workload +10 and mutable-tag +10 stay under 30.
    const known = await handler(admission(deployment("ghcr.io/acme/web:2")));
    expect(known.allowed).toBe(true);
  });

  it("has no baseline, so counts nothing new, where nothing was approved yet", async () => {
    const { handler } = setup(spec);
    expect((await handler(admission(deployment("quay.io/evil/miner:1")))).allowed).toBe(true);
  });
});
