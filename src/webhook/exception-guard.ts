import { aegisExceptionSchema, API_VERSION, type AegisException, type ApprovalRequest } from "../api/v1alpha1/index.js";
import { computeApprovalState, requestCreatedAt } from "../approval/index.js";
import {
  exceptionHash,
  exceptionProblems,
  exceptionRequestName,
  exceptionRequestPolicies,
  type ExceptionPolicyLookup,
} from "../exceptions/index.js";
import type { EvidenceRecorder } from "../ports/evidence.js";
import type { ApprovalRequestWriter, ObjectStore } from "../ports/kube.js";
import { allow, deny, formatZodIssues, type AdmissionRequest, type AdmissionResponse } from "./admission-review.js";

export interface ExceptionGuardDependencies {
  policies: ExceptionPolicyLookup;
  approvalRequests: ObjectStore<ApprovalRequest>;
  requestWriter: ApprovalRequestWriter;
  evidence: EvidenceRecorder;
  now: () => Date;
  extraApprovals: () => number;
}

/**
 * Guards AegisExceptions: one that could never be valid (unknown policy or check, a policy
 * without approvers or that allows no exceptions, an expiry past maxExceptionDuration) is
 * refused with every reason. An admitted one waives nothing yet: AEGIS opens an ApprovalRequest
 * for exactly its spec, requested by the AdmissionReview's user, and records it; the waived
 * policies' approvers decide it through the same flow as any change (quorum, no self-approval).
 */
export async function admitAegisException(
  admission: AdmissionRequest,
  deps: ExceptionGuardDependencies,
): Promise<AdmissionResponse> {
  // Status is written by AEGIS's controller, and the gate never reads it: it derives the standing.
  if (admission.subResource) return allow(admission.uid);
  if (admission.operation !== "CREATE" && admission.operation !== "UPDATE") return allow(admission.uid);
  const parsed = aegisExceptionSchema.safeParse(admission.object);
  if (!parsed.success) {
    return deny(
      admission.uid,
      `aegis: AegisException ${admission.name} is malformed: ${formatZodIssues(parsed.error)}`,
    );
  }
  const exception: AegisException = {
    ...parsed.data,
    metadata: {
      ...parsed.data.metadata,
      namespace: admission.namespace,
      name: admission.name || parsed.data.metadata.name,
    },
  };
  const hash = exceptionHash(exception);
  if (admission.operation === "UPDATE" && unchangedSpec(admission, hash)) return allow(admission.uid);
  const now = deps.now();
  const problems = exceptionProblems(exception, deps.policies, now);
  if (problems.length > 0) {
    return deny(
      admission.uid,
      `aegis: AegisException ${admission.namespace}/${exception.metadata.name ?? ""} refused: ${problems.join("; ")}`,
    );
  }
  const name = exceptionRequestName(exception);
  if (!admission.dryRun) await ensureRequest(admission, exception, { name, hash, now }, deps);
  return allow(admission.uid, {
    warnings: [
      `aegis: AegisException ${admission.namespace}/${exception.metadata.name ?? ""} waives nothing until approved: kubectl aegis approve ${name} -n ${admission.namespace}`,
    ],
    auditAnnotations: { "aegis.valina.ai/approval-request": name },
  });
}

/** Opens the request for this spec (replacing one that expired undecided) and records it. */
async function ensureRequest(
  admission: AdmissionRequest,
  exception: AegisException,
  plan: { name: string; hash: string; now: Date },
  deps: ExceptionGuardDependencies,
): Promise<void> {
  const existing = deps.approvalRequests.get(plan.name, admission.namespace);
  const fresh = requestFor(admission, exception, plan);
  if (!existing) {
    await deps.requestWriter.create(fresh);
  } else {
    const policies = exceptionRequestPolicies(deps.policies, existing.spec.policies, deps.extraApprovals());
    const state = computeApprovalState(
      existing.spec,
      requestCreatedAt(existing.metadata, plan.now),
      policies,
      plan.now,
    );
    if (state.phase !== "Expired") return;
    await deps.requestWriter.replace(existing, fresh);
  }
  await deps.evidence.record({
    id: `exception-requested:${admission.uid}`,
    type: "exception.requested",
    subject: `AegisException/${admission.namespace}/${exception.metadata.name ?? ""}`,
    actor: admission.userInfo.username,
    data: {
      operation: admission.operation,
      groups: admission.userInfo.groups,
      exceptionHash: plan.hash,
      approvalRequest: plan.name,
      spec: exception.spec,
    },
  });
}

function requestFor(
  admission: AdmissionRequest,
  exception: AegisException,
  plan: { name: string; hash: string },
): ApprovalRequest {
  const exceptionName = exception.metadata.name ?? "";
  const { spec } = exception;
  const target = spec.target.name ?? `labels ${JSON.stringify(spec.target.selector ?? {})}`;
  return {
    apiVersion: API_VERSION,
    kind: "ApprovalRequest",
    metadata: {
      name: plan.name,
      namespace: admission.namespace,
      labels: {
        "app.kubernetes.io/managed-by": "aegis",
        "aegis.valina.ai/target-kind": "aegisexception",
        "aegis.valina.ai/target-name": exceptionName.slice(0, 63).replace(/[^A-Za-z0-9]+$/, ""),
      },
    },
    spec: {
      target: { apiVersion: API_VERSION, kind: "AegisException", namespace: admission.namespace, name: exceptionName },
      changeHash: plan.hash,
      policies: [...spec.policies],
      requester: { username: admission.userInfo.username, groups: admission.userInfo.groups },
      risk: { score: 0, factors: [] },
      summary: `exception: waive ${spec.checks ? `checks ${spec.checks.join(", ")}` : "every check"} of ${spec.policies.join(", ")} for ${spec.target.kind} ${target} until ${spec.expiresAt} (owner ${spec.owner}${spec.ticket ? `, ${spec.ticket}` : ""}${spec.changeHash ? `, only change ${spec.changeHash}` : ""})`,
      reason: spec.reason,
      decisions: [],
    },
  };
}

function unchangedSpec(admission: AdmissionRequest, hash: string): boolean {
  const old = aegisExceptionSchema.safeParse(admission.oldObject);
  if (!old.success) return false;
  return (
    exceptionHash({
      ...old.data,
      metadata: { ...old.data.metadata, namespace: admission.namespace, name: admission.name },
    }) === hash
  );
}
