import type { ApprovalPhase, ApprovalRequestSpec, ApprovalSettings, Decision } from "../api/v1alpha1/index.js";
import { durationToMs } from "../api/v1alpha1/index.js";

/** What a request's decisions add up to at a given moment. */
export interface ApprovalState {
  phase: ApprovalPhase;
  /** Distinct users who approved. */
  approvals: number;
  requiredApprovals: number;
  expiresAt: Date;
  /** When the request was decided (the deciding decision's time, or the expiry); null while Pending. */
  decidedAt: Date | null;
  /** Users who approved, in order; useful for "what is still missing". */
  approvers: string[];
}

/** The approval settings of the policies named by a request, as the gate and the controller see them. */
export interface RequestPolicies {
  /** Settings of every policy in spec.policies that still exists and asks for approval. */
  settings: ApprovalSettings[];
  /** Extra approvals demanded on top of minApprovals (lockdown mode); 0 normally. */
  extraApprovals?: number;
}

/** The strictest combination: the most approvals any policy asks for, the shortest expiry. */
export function requiredApprovalsOf(policies: RequestPolicies): number {
  const fromPolicies = Math.max(1, ...policies.settings.map((settings) => settings.minApprovals));
  return fromPolicies + (policies.extraApprovals ?? 0);
}

export function expiresAtOf(createdAt: Date, policies: RequestPolicies): Date {
  const durations = policies.settings.map((settings) => durationToMs(settings.expiresAfter));
  const shortest = durations.length > 0 ? Math.min(...durations) : durationToMs("24h");
  return new Date(createdAt.getTime() + shortest);
}

/**
 * Derives the phase from the append-only decisions: one Reject rejects; `required` distinct
 * approvers approve; otherwise Pending until `expiresAt`, then Expired. A decision recorded
 * after expiry cannot exist (the webhook refuses it), so decisions are read in order.
 */
export function computeApprovalState(
  spec: Pick<ApprovalRequestSpec, "decisions">,
  createdAt: Date,
  policies: RequestPolicies,
  now: Date,
): ApprovalState {
  const requiredApprovals = requiredApprovalsOf(policies);
  const expiresAt = expiresAtOf(createdAt, policies);
  const approvers: string[] = [];
  for (const decision of spec.decisions) {
    if (decision.decision === "Reject") {
      return {
        phase: "Rejected",
        approvals: approvers.length,
        requiredApprovals,
        expiresAt,
        decidedAt: decisionTime(decision, now),
        approvers,
      };
    }
    if (!approvers.includes(decision.user)) approvers.push(decision.user);
    if (approvers.length >= requiredApprovals) {
      return {
        phase: "Approved",
        approvals: approvers.length,
        requiredApprovals,
        expiresAt,
        decidedAt: decisionTime(decision, now),
        approvers,
      };
    }
  }
  if (now.getTime() >= expiresAt.getTime()) {
    return {
      phase: "Expired",
      approvals: approvers.length,
      requiredApprovals,
      expiresAt,
      decidedAt: expiresAt,
      approvers,
    };
  }
  return { phase: "Pending", approvals: approvers.length, requiredApprovals, expiresAt, decidedAt: null, approvers };
}

function decisionTime(decision: Decision, fallback: Date): Date {
  const at = new Date(decision.at);
  return Number.isNaN(at.getTime()) ? fallback : at;
}

/** When a request was created, read from its metadata; `fallback` when unreadable. */
export function requestCreatedAt(metadata: { creationTimestamp?: string | Date | undefined }, fallback: Date): Date {
  const created = metadata.creationTimestamp;
  const date = created instanceof Date ? created : created ? new Date(created) : fallback;
  return Number.isNaN(date.getTime()) ? fallback : date;
}
