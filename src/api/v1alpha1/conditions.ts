import type { ExceptionPhase } from "./aegis-exception.js";
import type { ApprovalPhase } from "./approval-request.js";
import type { Condition } from "./common.js";

/**
 * The condition types AEGIS writes. Types and reasons are CamelCase, as the Kubernetes API
 * conventions ask (machine-readable, `^[A-Z]([A-Za-z0-9]*)$`); test/unit/api/condition-reasons
 * checks every one and that the reconcilers write no other.
 */
export const ConditionType = {
  /** AegisPolicy: the policy compiled and the gate enforces it. */
  Ready: "Ready",
  /** ApprovalRequest: the request reached a final phase (Approved, Rejected, Expired). */
  Decided: "Decided",
  /** AegisException: it waives what it names now (approved, valid, not expired). */
  Active: "Active",
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** Every condition reason AEGIS writes. */
export const ConditionReason = {
  /** AegisPolicy Ready=True: compiled, enforced. */
  Valid: "Valid",
  /**
   * AegisPolicy Ready=False: it does not compile (the message says why, and that the gate fails
   * closed: an Enforce policy denies every workload in its scope until it is fixed).
   */
  Invalid: "Invalid",
  /** ApprovalRequest Decided: the phase. */
  Pending: "Pending",
  Approved: "Approved",
  Rejected: "Rejected",
  Expired: "Expired",
  /** A singleUse approval admitted its change once; the next apply needs a new request. */
  Used: "Used",
  /** A break-glass change was admitted at once and waits for approvers to review it. */
  ReviewRequired: "ReviewRequired",
  /** A break-glass change is still unreviewed after its policy's reviewWithin. */
  ReviewOverdue: "ReviewOverdue",
  /** AegisException Active=True: approved for exactly its spec and not expired. */
  ExceptionApproved: "ExceptionApproved",
  /** AegisException Active=False: its ApprovalRequest waits for approvers. */
  ExceptionPending: "ExceptionPending",
  /** AegisException Active=False: past its expiresAt. */
  ExceptionExpired: "ExceptionExpired",
  /** AegisException Active=False: its approvers rejected it. */
  ExceptionRejected: "ExceptionRejected",
  /** AegisException Active=False: its policies no longer allow it (gone, no approvers, duration too long). */
  ExceptionInvalid: "ExceptionInvalid",
} as const;
export type ConditionReason = (typeof ConditionReason)[keyof typeof ConditionReason];

/** The reason of an ApprovalRequest's Decided condition (and of its Events) in each phase. */
export const DECIDED_REASON: Readonly<Record<ApprovalPhase, ConditionReason>> = {
  Pending: ConditionReason.Pending,
  Approved: ConditionReason.Approved,
  Rejected: ConditionReason.Rejected,
  Expired: ConditionReason.Expired,
  Used: ConditionReason.Used,
  ReviewRequired: ConditionReason.ReviewRequired,
};

/** The reason of an AegisException's Active condition in each phase. */
export const EXCEPTION_REASON: Readonly<Record<ExceptionPhase, ConditionReason>> = {
  Pending: ConditionReason.ExceptionPending,
  Active: ConditionReason.ExceptionApproved,
  Expired: ConditionReason.ExceptionExpired,
  Rejected: ConditionReason.ExceptionRejected,
  Invalid: ConditionReason.ExceptionInvalid,
};

/** A condition AEGIS writes: its type and reason are constants from above. */
export type AegisCondition = Omit<Condition, "type" | "reason" | "lastTransitionTime"> & {
  type: ConditionType;
  reason: ConditionReason;
};

/**
 * Sets one condition, keeping lastTransitionTime when the status did not change (as
 * cert-manager's SetCertificateCondition does), so rewriting status never fakes a transition.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: AegisCondition,
  now: Date,
): Condition[] {
  const existing = conditions?.find((condition) => condition.type === next.type);
  const lastTransitionTime =
    existing && existing.status === next.status ? existing.lastTransitionTime : now.toISOString();
  const updated: Condition = { ...next, lastTransitionTime };
  return [...(conditions ?? []).filter((condition) => condition.type !== next.type), updated];
}
