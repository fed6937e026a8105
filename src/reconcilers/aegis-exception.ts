import {
  ConditionType,
  EXCEPTION_REASON,
  setCondition,
  type AegisException,
  type AegisExceptionStatus,
  type ApprovalRequest,
} from "../api/v1alpha1/index.js";
import {
  exceptionHash,
  exceptionRequestName,
  exceptionStanding,
  type ExceptionPolicyLookup,
  type ExceptionStanding,
} from "../exceptions/index.js";
import type { EvidenceRecorder } from "../ports/evidence.js";
import type { ObjectStore } from "../ports/kube.js";
import type { AegisExceptionActions } from "../ports/status.js";

export const EXCEPTION_CONTROLLER = "AegisException";

export interface ExceptionReconcilerDependencies {
  exceptions: ObjectStore<AegisException>;
  approvals: ObjectStore<ApprovalRequest>;
  policies: ExceptionPolicyLookup;
  actions: AegisExceptionActions;
  evidence: EvidenceRecorder;
  now: () => Date;
  extraApprovals: () => number;
  actor: string;
}

/**
 * Converges an AegisException's status with its standing (derived from its ApprovalRequest, its
 * policies and the clock: the gate derives the same and never reads this status): phase, who
 * approved, an Active condition; one evidence record and one Event per transition (Active,
 * Expired, Rejected, Invalid), and a wake-up at expiresAt so `kubectl get aex` says Expired then.
 */
export async function reconcileAegisException(
  key: string,
  deps: ExceptionReconcilerDependencies,
): Promise<{ requeueAfterMs?: number }> {
  const [namespace = "", name = ""] = key.split("/");
  const exception = deps.exceptions.get(name, namespace);
  if (!exception) return {};
  const now = deps.now();
  const standing = exceptionStanding(exception, {
    request: deps.approvals.get(exceptionRequestName(exception), namespace),
    policies: deps.policies,
    extraApprovals: deps.extraApprovals(),
    now,
  });
  const status = desiredStatus(exception, standing, now);
  const previous = exception.status?.phase;
  if (previous !== standing.phase) await recordTransition(exception, standing, previous, deps);
  if (statusChanged(exception.status, status)) await deps.actions.patchStatus(exception, status);
  if (standing.phase === "Expired" || !standing.expiresAt) return {};
  return { requeueAfterMs: Math.max(100, standing.expiresAt.getTime() - now.getTime() + 50) };
}

function desiredStatus(exception: AegisException, standing: ExceptionStanding, now: Date): AegisExceptionStatus {
  const generation = exception.metadata.generation ?? 0;
  return {
    phase: standing.phase,
    approvalRequest: standing.approvalRequest,
    approvedBy: [...standing.approvers],
    ...(standing.expiresAt ? { expiresAt: standing.expiresAt.toISOString() } : {}),
    message: standing.message,
    observedGeneration: generation,
    conditions: setCondition(
      exception.status?.conditions,
      {
        type: ConditionType.Active,
        status: standing.phase === "Active" ? "True" : "False",
        reason: EXCEPTION_REASON[standing.phase],
        message: standing.message,
        observedGeneration: generation,
      },
      now,
    ),
  };
}

function statusChanged(current: AegisExceptionStatus | undefined, desired: AegisExceptionStatus): boolean {
  if (!current) return true;
  const comparable = (status: AegisExceptionStatus): string =>
    JSON.stringify([
      status.phase,
      status.approvalRequest,
      status.approvedBy ?? [],
      status.expiresAt ?? null,
      status.message ?? "",
      status.observedGeneration,
      (status.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message]),
    ]);
  return comparable(current) !== comparable(desired);
}

async function recordTransition(
  exception: AegisException,
  standing: ExceptionStanding,
  previous: string | undefined,
  deps: ExceptionReconcilerDependencies,
): Promise<void> {
  const { namespace = "", name = "", uid = "" } = exception.metadata;
  const hash = exceptionHash(exception);
  // Pending is where every exception starts: only what changes its effect is evidence.
  if (standing.phase !== "Pending") {
    await deps.evidence.record({
      id: `exception-transition:${uid || `${namespace}/${name}`}:${hash}:${standing.phase}`,
      type: "exception.transition",
      subject: `AegisException/${namespace}/${name}`,
      actor: deps.actor,
      data: {
        from: previous ?? null,
        to: standing.phase,
        exceptionHash: hash,
        approvalRequest: standing.approvalRequest,
        approvers: standing.approvers,
        expiresAt: exception.spec.expiresAt,
        target: exception.spec.target,
        policies: exception.spec.policies,
        checks: exception.spec.checks ?? null,
        owner: exception.spec.owner,
        message: standing.message,
      },
    });
  }
  await deps.actions.emitEvent(exception, {
    type: standing.phase === "Active" || standing.phase === "Pending" ? "Normal" : "Warning",
    reason: EXCEPTION_REASON[standing.phase],
    message: standing.message,
  });
}
