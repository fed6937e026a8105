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

/** How people decided the changes shadow-mode risk would have auto-approved. */
export interface RiskShadowCounts {
  /** Approved (or used): auto-approving would have agreed with people. */
  agreed: number;
  /** Rejected: auto-approving would have admitted what people refused. */
  missedRejections: number;
  /** Not decided yet (pending, expired, revoked back to pending). */
  undecided: number;
}

export function riskShadowCounts(requests: readonly ApprovalRequest[]): RiskShadowCounts {
  const counts: RiskShadowCounts = { agreed: 0, missedRejections: 0, undecided: 0 };
  for (const request of requests) {
    if (request.spec.risk.shadowAutoApprove !== true) continue;
    const phase = request.status?.phase;
    if (phase === "Approved" || phase === "Used") counts.agreed += 1;
    else if (phase === "Rejected") counts.missedRejections += 1;
    else counts.undecided += 1;
  }
  return counts;
}

/** The counts with the auto-approve precision people's decisions give it (null before any decision). */
export function riskShadowStatus(counts: RiskShadowCounts): RiskShadowCounts & { precision: number | null } {
  const decided = counts.agreed + counts.missedRejections;
  return { ...counts, precision: decided === 0 ? null : Math.round((counts.agreed / decided) * 1000) / 1000 };
}
