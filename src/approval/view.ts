import type { ApprovalView } from "../api/approval-view.js";
import type { ApprovalRequest } from "../api/v1alpha1/index.js";
import { computeApprovalState, requestCreatedAt, type RequestPolicies } from "./state.js";

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
    approvers: state.approvers,
    quorum: state.quorum,
    missing: state.missing,
    breakGlass: request.spec.breakGlass ?? null,
    reviewDueAt: state.reviewDueAt?.toISOString() ?? null,
    reviewOverdue: state.reviewOverdue,
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

/** Break-glass changes awaiting review, as the approval controller last wrote their status. */
export function breakGlassReviews(requests: readonly ApprovalRequest[]): ApprovalRequest[] {
  return requests.filter((request) => request.spec.breakGlass && request.status?.phase === "ReviewRequired");
}

export function breakGlassReviewCounts(requests: readonly ApprovalRequest[]): { pending: number; overdue: number } {
  const pending = breakGlassReviews(requests);
  return { pending: pending.length, overdue: pending.filter((request) => request.status?.reviewOverdue).length };
}
