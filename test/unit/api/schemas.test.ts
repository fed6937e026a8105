import { describe, expect, it } from "vitest";
import { DESIGN_POLICY_SPEC } from "../../fixtures/design-examples.js";
import { aegisPolicySpecSchema, approvalRequestSpecSchema, durationToMs } from "../../../src/api/v1alpha1/index.js";

const designPolicySpec = DESIGN_POLICY_SPEC;

describe("AegisPolicy spec schema", () => {
  it("accepts the DESIGN §2 example and fills defaults", () => {
    const spec = aegisPolicySpecSchema.parse(designPolicySpec);
    expect(spec.approval?.allowSelfApproval).toBe(false);
    expect(spec.checks).toHaveLength(7);
  });

  it("refuses a check entry with two check fields, naming both", () => {
    const result = aegisPolicySpecSchema.safeParse({
      ...designPolicySpec,
      checks: [{ name: "two", requireImageDigest: true, disallowLatestTag: true }],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/exactly one.*requireImageDigest, disallowLatestTag/);
  });

  it("requires autoApproveBelow (or its earlier name riskThreshold) when mode is RiskBased, not both", () => {
    const riskBased = (approval: Record<string, unknown>) =>
      aegisPolicySpecSchema.safeParse({ ...designPolicySpec, approval: { mode: "RiskBased", ...approval } });
    const missing = riskBased({});
    expect(missing.success).toBe(false);
    expect(missing.error?.issues[0]?.path).toEqual(["approval", "autoApproveBelow"]);
    expect(riskBased({ riskThreshold: 40 }).success).toBe(true);
    expect(riskBased({ autoApproveBelow: 40, blockAbove: 80 }).success).toBe(true);
    expect(riskBased({ autoApproveBelow: 40, riskThreshold: 40 }).error?.issues[0]?.message).toMatch(/set one/);
  });

  it("refuses blockAbove below autoApproveBelow, or outside RiskBased", () => {
    const approval = (settings: Record<string, unknown>) =>
      aegisPolicySpecSchema.safeParse({ ...designPolicySpec, approval: settings });
    expect(approval({ mode: "RiskBased", autoApproveBelow: 50, blockAbove: 40 }).error?.issues[0]?.message).toMatch(
      /must not be below autoApproveBelow \(50\)/,
    );
    expect(approval({ mode: "RiskBased", riskThreshold: 50, blockAbove: 40 }).success).toBe(false);
    expect(approval({ mode: "Always", blockAbove: 80 }).error?.issues[0]?.path).toEqual(["approval", "blockAbove"]);
  });

  it("refuses minApprovals 0 and an unknown enforcement", () => {
    expect(aegisPolicySpecSchema.safeParse({ ...designPolicySpec, approval: { minApprovals: 0 } }).success).toBe(false);
    expect(aegisPolicySpecSchema.safeParse({ ...designPolicySpec, enforcement: "Deny" }).success).toBe(false);
  });
});

describe("ApprovalRequest spec schema", () => {
  it("requires a target and a well-formed changeHash", () => {
    const base = {
      changeHash: `sha256:${"a".repeat(64)}`,
      policies: ["prod-gate"],
      requester: { username: "dev" },
      risk: { score: 42 },
    };
    expect(approvalRequestSpecSchema.safeParse(base).success).toBe(false);
    const target = { apiVersion: "apps/v1", kind: "Deployment", namespace: "prod", name: "web" };
    expect(approvalRequestSpecSchema.safeParse({ ...base, target }).success).toBe(true);
    expect(approvalRequestSpecSchema.safeParse({ ...base, target, changeHash: "sha256:XYZ" }).success).toBe(false);
  });
});

describe("durationToMs", () => {
  it("adds up units and refuses other input", () => {
    expect(durationToMs("1h30m")).toBe(5_400_000);
    expect(durationToMs("5s")).toBe(5_000);
    expect(() => durationToMs("5 minutes")).toThrow(/invalid duration/);
  });
});
