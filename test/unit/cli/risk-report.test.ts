import { describe, expect, it } from "vitest";
import type { ApprovalRequest } from "../../../src/api/v1alpha1/index.js";
import { formatRiskReport, riskReportOf } from "../../../src/cli/risk-report.js";

const request = (policy: string, phase: string, shadow: boolean): ApprovalRequest => ({
  apiVersion: "aegis.valina.ai/v1alpha1",
  kind: "ApprovalRequest",
  metadata: { name: `${policy}-${phase}`, namespace: "prod" },
  spec: {
    target: { apiVersion: "apps/v1", kind: "Deployment", namespace: "prod", name: "web" },
    changeHash: `sha256:${"a".repeat(64)}`,
    policies: [policy],
    requester: { username: "dev", groups: [] },
    risk: { score: 10, factors: [], ...(shadow ? { shadowAutoApprove: true } : {}) },
    summary: "",
    reason: "",
    decisions: [],
  },
  status: { phase: phase as never },
});

describe("aegis risk report", () => {
  it("gives the totals and each shadow policy's figures", () => {
    const report = riskReportOf(
      [
        request("payments", "Approved", true),
        request("payments", "Rejected", true),
        request("search", "Approved", true),
        request("search", "Rejected", false),
      ],
      1,
    );
    expect(report.total).toEqual({ agreed: 2, missedRejections: 1, undecided: 0, precision: 0.667 });
    expect(Object.keys(report.byPolicy)).toEqual(["payments", "search"]);
    expect(report.byPolicy["search"]).toEqual({ agreed: 1, missedRejections: 0, undecided: 0, precision: 1 });
    const text = formatRiskReport(report);
    expect(text).toMatch(/auto-approve precision\s+0\.667/);
    expect(text).toMatch(/policy payments: 1 agreed, 1 missed rejections, 0 undecided, precision 0\.500/);
    expect(text).toMatch(/1 ApprovalRequest\(s\) could not be read/);
  });

  it("says how to get figures when there are none", () => {
    const text = formatRiskReport(riskReportOf([request("payments", "Approved", false)]));
    expect(text).toMatch(/precision\s+n\/a/);
    expect(text).toMatch(/No such change yet: RiskBased policies in shadow mode/);
  });
});
