import { describe, expect, it } from "vitest";
import type { ApprovalRequest } from "../../../src/api/v1alpha1/index.js";
import { lastApprovedSpec, riskBandOf, riskShadowCounts, riskShadowStatus } from "../../../src/approval/index.js";

function request(
  name: string,
  phase: string,
  extra: { shadow?: boolean; changeSpec?: string; decidedAt?: string; target?: string } = {},
): ApprovalRequest {
  return {
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "ApprovalRequest",
    metadata: { name, namespace: "prod" },
    spec: {
      target: { apiVersion: "apps/v1", kind: "Deployment", namespace: "prod", name: extra.target ?? "web" },
      changeHash: `sha256:${"a".repeat(64)}`,
      policies: ["prod-gate"],
      requester: { username: "dev", groups: [] },
      risk: { score: 10, factors: [], ...(extra.shadow ? { shadowAutoApprove: true } : {}) },
      summary: "",
      reason: "",
      decisions: [],
      ...(extra.changeSpec === undefined ? {} : { changeSpec: extra.changeSpec }),
    },
    status: { phase: phase as never, ...(extra.decidedAt ? { decidedAt: extra.decidedAt } : {}) },
  };
}

describe("riskBandOf", () => {
  it("auto below autoApproveBelow (or riskThreshold), human up to blockAbove, blocked above it", () => {
    const approval = { autoApproveBelow: 30, blockAbove: 70 };
    expect([0, 29, 30, 70, 71, 100].map((score) => riskBandOf(approval, score))).toEqual([
      "auto",
      "auto",
      "human",
      "human",
      "blocked",
      "blocked",
    ]);
    expect(riskBandOf({ riskThreshold: 30 }, 29)).toBe("auto");
    expect(riskBandOf({ riskThreshold: 30 }, 100)).toBe("human");
  });
});

describe("riskShadowCounts", () => {
  it("counts how people decided what shadow mode would have auto-approved, and the precision that gives", () => {
    const requests = [
      request("a", "Approved", { shadow: true }),
      request("b", "Used", { shadow: true }),
      request("c", "Rejected", { shadow: true }),
      request("d", "Pending", { shadow: true }),
      request("e", "Rejected"), // a human was asked anyway: not shadow's
    ];
    const counts = riskShadowCounts(requests);
    expect(counts).toEqual({ agreed: 2, missedRejections: 1, undecided: 1 });
    expect(riskShadowStatus(counts).precision).toBe(0.667);
    expect(riskShadowStatus(riskShadowCounts([])).precision).toBeNull();
  });
});

describe("lastApprovedSpec", () => {
  const target = { kind: "Deployment", namespace: "prod", name: "web" };
  it("is the changeSpec of the target's latest Approved or Used request", () => {
    const requests = [
      request("old", "Approved", { changeSpec: '{"v":1}', decidedAt: "2026-11-01T00:00:00Z" }),
      request("new", "Used", { changeSpec: '{"v":2}', decidedAt: "2026-11-02T00:00:00Z" }),
      request("rejected", "Rejected", { changeSpec: '{"v":3}', decidedAt: "2026-11-03T00:00:00Z" }),
      request("pending", "Pending", { changeSpec: '{"v":4}' }),
      request("other", "Approved", { changeSpec: '{"v":5}', decidedAt: "2026-11-04T00:00:00Z", target: "api" }),
    ];
    expect(lastApprovedSpec(requests, target)).toEqual({ v: 2 });
  });

  it("is undefined without an approved request that carries a readable spec", () => {
    expect(lastApprovedSpec([request("a", "Approved")], target)).toBeUndefined();
    expect(lastApprovedSpec([request("a", "Approved", { changeSpec: "not json" })], target)).toBeUndefined();
    expect(lastApprovedSpec([request("a", "Approved", { changeSpec: "[1]" })], target)).toBeUndefined();
  });
});
