// The generated CRDs on a real API server: DESIGN §2's examples are accepted, bad objects are
// refused by the server itself with field paths, and the printer columns show.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DESIGN_POLICY_SPEC } from "../test/fixtures/design-examples.js";
import { kubectl } from "./helpers/kube.js";

const suffix = randomBytes(3).toString("hex");
const ns = `crds-${suffix}`;
const policyName = `prod-gate-${suffix}`;

const designPolicy = {
  apiVersion: "aegis.valina.ai/v1alpha1",
  kind: "AegisPolicy",
  metadata: { name: policyName },
  spec: DESIGN_POLICY_SPEC,
};

const designRequest = {
  apiVersion: "aegis.valina.ai/v1alpha1",
  kind: "ApprovalRequest",
  metadata: { name: "deployment-web-3f2a9c1b0d", namespace: ns },
  spec: {
    target: { apiVersion: "apps/v1", kind: "Deployment", namespace: ns, name: "web" },
    changeHash: `sha256:3f2a9c1b0d${"0".repeat(54)}`,
    policies: [policyName],
    requester: { username: "dev", groups: ["developers"] },
    risk: {
      score: 42,
      factors: [{ name: "new-registry", points: 20, detail: "ghcr.io/acme never used by this workload" }],
    },
    summary: "image ghcr.io/acme/web:1.2 -> ghcr.io/acme/web:1.3",
    reason: "",
    decisions: [],
  },
};

const applyJson = (object: unknown) =>
  kubectl(["apply", "-f", "-"], { input: JSON.stringify(object), allowFail: true });
const withSpec = (patch: Record<string, unknown>) => ({
  ...designPolicy,
  metadata: { name: `bad-${suffix}` },
  spec: { ...designPolicy.spec, ...patch },
});

beforeAll(async () => {
  await kubectl(["create", "namespace", ns]);
});

afterAll(async () => {
  await kubectl(["delete", "apol", policyName, `bad-${suffix}`, "--ignore-not-found"]);
  await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
});

describe("generated CRDs on the API server", () => {
  it("accept the DESIGN §2 examples", async () => {
    const policy = await applyJson(designPolicy);
    expect(policy.code, policy.stderr).toBe(0);
    const request = await applyJson(designRequest);
    expect(request.code, request.stderr).toBe(0);
  });

  it("refuse a check entry with two check fields, naming the field path", async () => {
    const result = await applyJson(
      withSpec({ checks: [{ name: "two", requireImageDigest: true, disallowLatestTag: true }] }),
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/spec\.checks\[0\].*exactly one of/);
  });

  it("refuse an unknown enforcement, minApprovals 0, RiskBased without a threshold and inverted thresholds", async () => {
    const enforcement = await applyJson(withSpec({ enforcement: "Deny" }));
    expect(enforcement.stderr).toMatch(/spec\.enforcement: Unsupported value: "Deny"/);
    const minApprovals = await applyJson(withSpec({ approval: { minApprovals: 0 } }));
    expect(minApprovals.stderr).toMatch(/spec\.approval\.minApprovals: Invalid value: 0/);
    const riskBased = await applyJson(withSpec({ approval: { mode: "RiskBased" } }));
    expect(riskBased.stderr).toMatch(
      /spec\.approval.*autoApproveBelow \(or its earlier name riskThreshold\) is required when mode is RiskBased/,
    );
    const inverted = await applyJson(
      withSpec({ approval: { mode: "RiskBased", autoApproveBelow: 60, blockAbove: 40 } }),
    );
    expect(inverted.stderr).toMatch(/spec\.approval.*blockAbove must not be below autoApproveBelow/);
    const notRiskBased = await applyJson(withSpec({ approval: { mode: "Always", blockAbove: 40 } }));
    expect(notRiskBased.stderr).toMatch(/spec\.approval.*blockAbove applies to mode RiskBased only/);
    const both = await applyJson(
      withSpec({ approval: { mode: "RiskBased", autoApproveBelow: 40, riskThreshold: 40 } }),
    );
    expect(both.stderr).toMatch(/riskThreshold is the earlier name of autoApproveBelow/);
  });

  it("refuse an ApprovalRequest without a target", async () => {
    const { target: _target, ...spec } = designRequest.spec;
    const result = await applyJson({ ...designRequest, metadata: { name: "no-target", namespace: ns }, spec });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/spec\.target: Required value/);
  });

  it("show printer columns with the short names", async () => {
    const listing = (await kubectl(["get", "apol,areq", "-A"])).stdout;
    expect(listing).toMatch(/NAME\s+ENFORCEMENT\s+APPROVAL\s+READY\s+AGE/);
    expect(listing).toMatch(/NAMESPACE\s+NAME\s+PHASE\s+KIND\s+TARGET\s+APPROVALS\s+REQUIRED\s+RISK\s+AGE/);
    expect(listing).toMatch(new RegExp(`aegispolicy.aegis.valina.ai/${policyName}\\s+Enforce\\s+Always`));
    expect(listing).toMatch(
      new RegExp(`${ns}\\s+approvalrequest.aegis.valina.ai/deployment-web-3f2a9c1b0d\\s+Deployment\\s+web\\s+42`),
    );
  });
});
