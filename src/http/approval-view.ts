import type { ApprovalRequest } from "../api/v1alpha1/index.js";
import { computeApprovalState, requestCreatedAt, type RequestPolicies } from "../approval/index.js";

/** What the API and dashboard show for one request: the stored object plus its derived state. */
export interface ApprovalView {
  namespace: string;
  name: string;
  phase: string;
  approvals: number;
  requiredApprovals: number;
  expiresAt: string;
  decidedAt: string | null;
  createdAt: string;
  target: ApprovalRequest["spec"]["target"];
  changeHash: string;
  summary: string;
  reason: string;
  policies: string[];
  requester: ApprovalRequest["spec"]["requester"];
  risk: ApprovalRequest["spec"]["risk"];
  decisions: ApprovalRequest["spec"]["decisions"];
}

export function approvalView(request: ApprovalRequest, policies: RequestPolicies, now: Date): ApprovalView {
  const createdAt = requestCreatedAt(request.metadata, now);
  const state = computeApprovalState(request.spec, createdAt, policies, now);
  return {
    namespace: request.metadata.namespace ?? "",
    name: request.metadata.name ?? "",
    phase: state.phase,
    approvals: state.approvals,
    requiredApprovals: state.requiredApprovals,
    expiresAt: state.expiresAt.toISOString(),
    decidedAt: state.decidedAt?.toISOString() ?? null,
    createdAt: createdAt.toISOString(),
    target: request.spec.target,
    changeHash: request.spec.changeHash,
    summary: request.spec.summary,
    reason: request.spec.reason,
    policies: request.spec.policies,
    requester: request.spec.requester,
    risk: request.spec.risk,
    decisions: request.spec.decisions,
  };
}
