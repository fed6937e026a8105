import type { ApprovalPhase, ApprovalRequestSpec, ApprovalSettings, Decision } from "../api/v1alpha1/index.js";
import { durationToMs } from "../api/v1alpha1/index.js";
import {
  assignQuorum,
  missingApprovals,
  quorumOf,
  quorumSize,
  type QuorumApprover,
  type QuorumStanding,
} from "./quorum.js";

/** What a request's decisions add up to at a given moment. */
export interface ApprovalState {
  phase: ApprovalPhase;
  /** Distinct users whose approval stands (given and not revoked). */
  approvals: number;
  requiredApprovals: number;
  expiresAt: Date;
  /** When the request was decided (the deciding decision's time, or the expiry); null while Pending. */
  decidedAt: Date | null;
  /** Users whose approval stands, in the order they gave it. */
  approvers: string[];
  /** Each quorum group, and who is counted for it. */
  quorum: QuorumStanding[];
  /** What approval still lacks ("1 more from security"); empty once Approved or Rejected. */
  missing: string[];
  /** When a singleUse approval admitted its change (phase Used); null otherwise. */
  usedAt: Date | null;
  /** A break-glass request's review deadline; null for any other request. */
  reviewDueAt: Date | null;
  /** A break-glass change still unreviewed after its deadline. */
  reviewOverdue: boolean;
  /** Until when an Approved AccessRequest lets its user in; null for any other request. */
  accessUntil: Date | null;
}

/** The approval settings of the policies named by a request, as the gate and the controller see them. */
export interface RequestPolicies {
  /** Settings of every policy in spec.policies that still exists and asks for approval. */
  settings: ApprovalSettings[];
  /** Extra approvals demanded on top of minApprovals (lockdown mode); 0 normally. */
  extraApprovals?: number;
}

/**
 * The strictest combination: the most approvals any policy asks for (plus any lockdown
 * surcharge), and never fewer people than the combined quorum has slots.
 */
export function requiredApprovalsOf(policies: RequestPolicies): number {
  const fromPolicies = Math.max(1, ...policies.settings.map((settings) => settings.minApprovals));
  return Math.max(fromPolicies + (policies.extraApprovals ?? 0), quorumSize(quorumOf(policies.settings)));
}

/** Does any of the request's policies make its approval good for one admission only? */
export function isSingleUse(policies: RequestPolicies): boolean {
  return policies.settings.some((settings) => settings.singleUse);
}

export function expiresAtOf(createdAt: Date, policies: RequestPolicies): Date {
  const durations = policies.settings.map((settings) => durationToMs(settings.expiresAfter));
  const shortest = durations.length > 0 ? Math.min(...durations) : durationToMs("24h");
  return new Date(createdAt.getTime() + shortest);
}

/**
 * Derives the phase from the append-only decisions, read in order: one Reject rejects for good;
 * an Approve counts its user once, a Revoke withdraws that user's approval. The request is
 * Approved while `required` distinct approvals stand and every quorum group is met; otherwise
 * Pending until `expiresAt`, then Expired. A revoked Approved request falls back to Pending (or
 * Expired), so it no longer admits. A Consume (AEGIS, when a singleUse approval admits its
 * change) ends it as Used. A break-glass request (its change already admitted) waits in
 * ReviewRequired for the same approvals, never expires, and is overdue after its review
 * deadline; a Reject there says the emergency change was wrong. The webhook refuses decisions
 * the phase does not take.
 */
export function computeApprovalState(
  spec: Pick<ApprovalRequestSpec, "decisions" | "breakGlass" | "access">,
  createdAt: Date,
  policies: RequestPolicies,
  now: Date,
): ApprovalState {
  const requiredApprovals = requiredApprovalsOf(policies);
  const reviewDueAt = spec.breakGlass ? reviewDueOf(spec.breakGlass, createdAt) : null;
  const expiresAt = reviewDueAt ?? expiresAtOf(createdAt, policies);
  const quorum = quorumOf(policies.settings);
  const standing = new Map<string, QuorumApprover>();
  const tally = () => {
    const approvers = [...standing.values()];
    const standings = assignQuorum(quorum, approvers);
    const missing = missingApprovals(standings, approvers.length, requiredApprovals);
    return { approvers: approvers.map((a) => a.user), standings, missing };
  };
  let approvedAt: Date | null = null;
  let accessEnds: Date | null = null;
  const summary = (phase: ApprovalPhase, decidedAt: Date | null) => {
    const { approvers, standings, missing } = tally();
    const decided = phase !== "Pending" && phase !== "Expired" && phase !== "ReviewRequired";
    return {
      phase,
      approvals: approvers.length,
      requiredApprovals,
      expiresAt,
      decidedAt,
      approvers,
      quorum: standings,
      missing: decided ? [] : missing,
      usedAt: phase === "Used" ? decidedAt : null,
      reviewDueAt,
      accessUntil: phase === "Approved" ? accessEnds : null,
      reviewOverdue: phase === "ReviewRequired" && reviewDueAt !== null && now.getTime() >= reviewDueAt.getTime(),
    };
  };
  for (const decision of spec.decisions) {
    if (decision.decision === "Reject") return summary("Rejected", decisionTime(decision, now));
    if (decision.decision === "Consume") return summary("Used", decisionTime(decision, now));
    if (decision.decision === "Revoke") standing.delete(decision.user);
    else if (!standing.has(decision.user))
      standing.set(decision.user, { user: decision.user, groups: decision.groups ?? [] });
    const met = tally().missing.length === 0;
    if (!met) approvedAt = null;
    else approvedAt ??= decisionTime(decision, now);
  }
  // An approved AccessRequest lets its user in for its ttl from the approval, then expires.
  accessEnds = approvedAt && spec.access ? accessEndOf(approvedAt, spec.access.ttl) : null;
  if (accessEnds && now.getTime() >= accessEnds.getTime()) return summary("Expired", accessEnds);
  if (approvedAt) return summary("Approved", approvedAt);
  if (reviewDueAt) return summary("ReviewRequired", null);
  if (now.getTime() >= expiresAt.getTime()) return summary("Expired", expiresAt);
  return summary("Pending", null);
}

function accessEndOf(approvedAt: Date, ttl: string): Date {
  try {
    return new Date(approvedAt.getTime() + durationToMs(ttl));
  } catch {
    return approvedAt; // an unreadable ttl lets nobody in
  }
}

function reviewDueOf(breakGlass: NonNullable<ApprovalRequestSpec["breakGlass"]>, createdAt: Date): Date {
  const at = Date.parse(breakGlass.at);
  const from = Number.isNaN(at) ? createdAt.getTime() : at;
  try {
    return new Date(from + durationToMs(breakGlass.reviewWithin));
  } catch {
    return new Date(from); // an unreadable deadline is due at once: never a review that can wait forever
  }
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
