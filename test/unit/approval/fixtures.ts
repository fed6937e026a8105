// Shared fixtures of the approval rule tests: one request, one policy's settings, one clock.
import type { ApprovalRequestSpec, ApprovalSettings, Decision } from "../../../src/api/v1alpha1/index.js";

export const AEGIS = "system:serviceaccount:aegis-system:aegis-sa";
export const now = new Date("2026-11-26T12:00:00Z");
export const createdAt = new Date("2026-11-26T11:00:00Z");

/** One approval from the sre-leads group, unless overridden. */
export const settings = (overrides: Partial<ApprovalSettings> = {}): ApprovalSettings => ({
  mode: "Always",
  minApprovals: 1,
  approvers: { users: [], groups: ["sre-leads"] },
  allowSelfApproval: false,
  singleUse: false,
  expiresAfter: "24h",
  ...overrides,
});

/** dev's change of Deployment prod/web under policy prod-gate, with these decisions. */
export const spec = (decisions: Decision[] = []): ApprovalRequestSpec => ({
  target: { apiVersion: "apps/v1", kind: "Deployment", namespace: "prod", name: "web" },
  changeHash: `sha256:${"ab".repeat(32)}`,
  policies: ["prod-gate"],
  requester: { username: "dev", groups: ["developers"] },
  risk: { score: 42, factors: [] },
  summary: "",
  reason: "",
  decisions,
});
