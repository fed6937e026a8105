import {
  ConditionReason,
  ConditionType,
  DECIDED_REASON,
  setCondition,
  type AegisException,
  type ApprovalRequest,
  type ApprovalRequestStatus,
} from "../api/v1alpha1/index.js";
import {
  computeApprovalState,
  EXCEPTION_TARGET_KIND,
  requestCreatedAt,
  requestPoliciesOf,
  type ApprovalState,
} from "../approval/index.js";
import { exceptionHash } from "../exceptions/index.js";
import type { EvidenceRecorder } from "../ports/evidence.js";
import type { ObjectStore, PolicySource } from "../ports/kube.js";
import type { ApprovalRequestActions } from "../ports/status.js";

/** The writes the approval reconciler makes; the Kubernetes adapter implements them. */
export interface ApprovalReconcilerDependencies {
  approvals: ObjectStore<ApprovalRequest>;
  policies: Pick<PolicySource<unknown>, "get">;
  actions: ApprovalRequestActions;
  evidence: EvidenceRecorder;
  now: () => Date;
  extraApprovals: () => number;
  /** Decided requests are deleted this long after their decision; evidence keeps the history. */
  retentionMs: number;
  actor: string;
  /** AegisExceptions, so an approved exception's request is kept while the exception may still be in force. */
  exceptions?: ObjectStore<AegisException>;
}

/**
 * Until when the exception an Approved request decides may waive anything: its expiresAt while it
 * still has this request's spec; undefined once it is gone or changed (nothing keeps the request).
 */
function exceptionInForceUntil(request: ApprovalRequest, deps: ApprovalReconcilerDependencies): Date | undefined {
  const { namespace, name } = request.spec.target;
  const exception = deps.exceptions?.get(name, namespace);
  if (!exception || exceptionHash(exception) !== request.spec.changeHash) return undefined;
  const expires = Date.parse(exception.spec.expiresAt);
  return Number.isNaN(expires) ? undefined : new Date(expires);
}

/**
 * Converges one ApprovalRequest's status with what its decisions and policies say now (level
 * triggered): phase, counts, expiry, a Decided condition; one evidence record and one Event per
 * transition (the evidence id makes a transition recorded once even if two replicas both act).
 */
export async function reconcileApprovalRequest(
  key: string,
  deps: ApprovalReconcilerDependencies,
): Promise<{ requeueAfterMs?: number }> {
  const [namespace = "", name = ""] = key.split("/");
  const request = deps.approvals.get(name, namespace);
  if (!request) return {};
  const now = deps.now();
  const policies = requestPoliciesOf(
    deps.policies,
    request.spec.policies,
    deps.extraApprovals(),
    request.spec.target.kind,
  );
  const state = computeApprovalState(request.spec, requestCreatedAt(request.metadata, now), policies, now);
  const status = desiredStatus(request, state, now);
  const previousPhase = request.status?.phase;

  if (previousPhase !== state.phase) {
    await recordTransition(request, state, previousPhase, deps);
  } else if (state.reviewOverdue && request.status?.reviewOverdue !== true) {
    await recordOverdue(request, state, deps);
  }
  if (statusChanged(request.status, status)) await deps.actions.patchStatus(request, status);

  if (state.phase === "Pending")
    return { requeueAfterMs: Math.max(100, state.expiresAt.getTime() - now.getTime() + 50) };
  if (state.accessUntil) {
    // An approved AccessRequest expires at its ttl: wake then so its status says so.
    return { requeueAfterMs: Math.max(100, state.accessUntil.getTime() - now.getTime() + 50) };
  }
  if (state.phase === "ReviewRequired") {
    // Never deleted unreviewed; woken once more when the review falls due.
    return state.reviewOverdue ? {} : { requeueAfterMs: Math.max(100, state.expiresAt.getTime() - now.getTime() + 50) };
  }
  // An approved exception lasts until its own expiresAt (up to its policies' maxExceptionDuration):
  // its request is what makes it valid, so retention counts from then, not from the approval.
  const inForceUntil =
    state.phase === "Approved" && request.spec.target.kind === EXCEPTION_TARGET_KIND
      ? exceptionInForceUntil(request, deps)
      : undefined;
  const decidedAt = new Date(Math.max((state.decidedAt ?? now).getTime(), inForceUntil?.getTime() ?? 0));
  const deleteAt = decidedAt.getTime() + deps.retentionMs;
  if (now.getTime() >= deleteAt) {
    await deps.actions.delete(request);
    return {};
  }
  return { requeueAfterMs: deleteAt - now.getTime() };
}

function desiredStatus(request: ApprovalRequest, state: ApprovalState, now: Date): ApprovalRequestStatus {
  const decided = state.phase !== "Pending" && state.phase !== "ReviewRequired";
  const conditions = setCondition(
    request.status?.conditions,
    {
      type: ConditionType.Decided,
      status: decided ? "True" : "False",
      reason: state.reviewOverdue ? ConditionReason.ReviewOverdue : DECIDED_REASON[state.phase],
      message: conditionMessage(state),
      observedGeneration: request.metadata.generation ?? 0,
    },
    now,
  );
  return {
    phase: state.phase,
    approvals: state.approvals,
    requiredApprovals: state.requiredApprovals,
    expiresAt: state.expiresAt.toISOString(),
    decidedAt: state.decidedAt?.toISOString() ?? null,
    missing: state.missing,
    ...(state.reviewDueAt ? { reviewDueAt: state.reviewDueAt.toISOString(), reviewOverdue: state.reviewOverdue } : {}),
    observedGeneration: request.metadata.generation ?? 0,
    conditions,
  };
}

function conditionMessage(state: ApprovalState): string {
  switch (state.phase) {
    case "Approved":
      return `approved by ${state.approvers.join(", ")}`;
    case "Rejected":
      return "rejected";
    case "ReviewRequired":
      return `admitted by break-glass; ${state.reviewOverdue ? "review OVERDUE since" : "approvers must review it by"} ${state.reviewDueAt?.toISOString() ?? "?"} (${state.missing.join(", ") || "approval"})`;
    case "Used":
      return `approved by ${state.approvers.join(", ")} and used by the admission at ${state.usedAt?.toISOString() ?? "?"} (singleUse): applying the change again needs a new approval`;
    case "Expired":
      return `expired at ${state.expiresAt.toISOString()} with ${state.approvals}/${state.requiredApprovals} approvals`;
    default:
      return `waiting for ${state.missing.join(", ") || "approval"} until ${state.expiresAt.toISOString()}`;
  }
}

function statusChanged(current: ApprovalRequestStatus | undefined, desired: ApprovalRequestStatus): boolean {
  if (!current) return true;
  const comparable = (status: ApprovalRequestStatus): string =>
    JSON.stringify([
      status.phase,
      status.approvals,
      status.requiredApprovals,
      status.expiresAt,
      status.decidedAt ?? null,
      status.missing ?? [],
      status.reviewDueAt ?? null,
      status.reviewOverdue ?? null,
      status.observedGeneration,
      (status.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message]),
    ]);
  return comparable(current) !== comparable(desired);
}

async function recordTransition(
  request: ApprovalRequest,
  state: ApprovalState,
  previousPhase: string | undefined,
  deps: ApprovalReconcilerDependencies,
): Promise<void> {
  const { namespace = "", name = "", uid = "" } = request.metadata;
  const expired = state.phase === "Expired";
  await deps.evidence.record({
    // A revocation can take a request back from Approved to Pending and on to Approved again:
    // the decision count tells those transitions apart, yet keeps each one recorded once.
    id: `approval-transition:${uid || `${namespace}/${name}`}:${state.phase}:${request.spec.decisions.length}`,
    type: expired ? "approval.expired" : "approval.transition",
    subject: `ApprovalRequest/${namespace}/${name}`,
    actor: deps.actor,
    data: {
      from: previousPhase ?? null,
      to: state.phase,
      approvers: state.approvers,
      requiredApprovals: state.requiredApprovals,
      changeHash: request.spec.changeHash,
      target: request.spec.target,
    },
  });
  const type = state.phase === "Approved" || state.phase === "Pending" || state.phase === "Used" ? "Normal" : "Warning";
  await deps.actions.emitEvent(request, {
    type,
    reason: DECIDED_REASON[state.phase],
    message: conditionMessage(state),
  });
}

/** A break-glass change left unreviewed past its deadline: evidence once, and a Warning Event. */
async function recordOverdue(
  request: ApprovalRequest,
  state: ApprovalState,
  deps: ApprovalReconcilerDependencies,
): Promise<void> {
  const { namespace = "", name = "", uid = "" } = request.metadata;
  await deps.evidence.record({
    id: `break-glass-overdue:${uid || `${namespace}/${name}`}`,
    type: "approval.transition",
    subject: `ApprovalRequest/${namespace}/${name}`,
    actor: deps.actor,
    data: {
      from: "ReviewRequired",
      to: "ReviewRequired",
      reviewOverdue: true,
      reviewDueAt: state.reviewDueAt?.toISOString() ?? null,
      breakGlass: request.spec.breakGlass ?? null,
      changeHash: request.spec.changeHash,
      target: request.spec.target,
    },
  });
  await deps.actions.emitEvent(request, {
    type: "Warning",
    reason: ConditionReason.ReviewOverdue,
    message: conditionMessage(state),
  });
}
