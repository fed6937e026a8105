import { describe, expect, it } from "vitest";
import type { AdmissionRequest } from "../../../src/webhook/admission-review.js";
import { createAdmissionHandler } from "../../../src/webhook/handler.js";
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

function setup(spec: Record<string, unknown>) {
  const policies = new MemoryPolicySource([
    { apiVersion: "aegis.valina.ai/v1alpha1", kind: "AegisPolicy", metadata: { name: "prod-gate" }, spec },
  ]);
  const requests = new MemoryApprovalRequests();
  const evidence = new MemoryEvidence();
  const decisions: string[] = [];
  const handler = createAdmissionHandler({
    policies,
    namespaceLabels: (namespace) => ({ "kubernetes.io/metadata.name": namespace }),
    approvalRequests: requests,
    requestWriter: requests,
    evidence,
    now: () => new Date("2026-11-26T12:00:00Z"),
    aegisUsername: AEGIS,
    aegisNamespace: "aegis-system",
    extraApprovals: () => 0,
    onDecision: (decision) => decisions.push(`${decision.reason}:${decision.allowed}`),
  });
  return { handler, requests, evidence, decisions };
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
    request.spec.decisions.push({
      user: "alice",
      decision: "Approve",
      comment: "",
      at: "2026-11-26T12:00:00Z",
      via: "kubectl",
    });
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

  it("passes AEGIS's own changes without approval and records them", async () => {
    const { handler, evidence } = setup(approvalSpec);
    const response = await handler(
      admission(deployment("ghcr.io/acme/web:1"), { userInfo: { username: AEGIS, groups: [] } }),
    );
    expect(response.allowed).toBe(true);
    expect(evidence.records[0]?.data).toMatchObject({ reason: "AegisSelfHealing" });
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
