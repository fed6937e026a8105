import { approvalRequestSchema } from "../api/v1alpha1/index.js";
import { decisionUpdateProblems, requestCreatedAt, requestPoliciesOf } from "../approval/index.js";
import type { EvidenceRecorder } from "../ports/evidence.js";
import type { PolicySource } from "../ports/kube.js";
import { allow, deny, formatZodIssues, type AdmissionRequest, type AdmissionResponse } from "./admission-review.js";

export interface ApprovalGuardDependencies {
  policies: Pick<PolicySource<unknown>, "get">;
  evidence: EvidenceRecorder;
  now: () => Date;
  aegisUsername: string;
  extraApprovals: () => number;
}

/**
 * Guards ApprovalRequests (DESIGN §2): only AEGIS creates them, with no decisions; an UPDATE may
 * only append one decision by an allowed approver. Identity comes from userInfo alone.
 */
export async function admitApprovalRequest(
  admission: AdmissionRequest,
  deps: ApprovalGuardDependencies,
): Promise<AdmissionResponse> {
  if (admission.subResource) return allow(admission.uid); // status is written by AEGIS's controller only (RBAC)
  if (admission.operation === "CREATE") return admitCreate(admission, deps);
  if (admission.operation !== "UPDATE") return allow(admission.uid);
  const parsedNew = approvalRequestSchema.safeParse(admission.object);
  const parsedOld = approvalRequestSchema.safeParse(admission.oldObject);
  if (!parsedNew.success || !parsedOld.success) {
    const error = parsedNew.error ?? parsedOld.error;
    return deny(admission.uid, `aegis: ApprovalRequest is malformed: ${error ? formatZodIssues(error) : "unreadable"}`);
  }
  const oldRequest = parsedOld.data;
  const newRequest = parsedNew.data;
  const caller = { username: admission.userInfo.username, groups: admission.userInfo.groups };
  const problems = decisionUpdateProblems({
    oldSpec: oldRequest.spec,
    newSpec: newRequest.spec,
    createdAt: requestCreatedAt(oldRequest.metadata, deps.now()),
    caller,
    aegisUsername: deps.aegisUsername,
    policies: requestPoliciesOf(
      deps.policies,
      oldRequest.spec.policies,
      deps.extraApprovals(),
      oldRequest.spec.target.kind,
    ),
    now: deps.now(),
  });
  const appended =
    newRequest.spec.decisions.length > oldRequest.spec.decisions.length ? newRequest.spec.decisions.at(-1) : undefined;
  if (problems.length > 0) {
    return deny(
      admission.uid,
      `aegis: decision refused on ApprovalRequest ${admission.namespace}/${admission.name}: ${problems.join("; ")}`,
    );
  }
  if (appended && !admission.dryRun) {
    await deps.evidence.record({
      type: "approval.decision",
      subject: `ApprovalRequest/${admission.namespace}/${admission.name}`,
      actor: appended.user,
      data: {
        ...appended,
        caller: caller.username,
        changeHash: newRequest.spec.changeHash,
        target: newRequest.spec.target,
      },
    });
  }
  return allow(admission.uid);
}

function admitCreate(admission: AdmissionRequest, deps: ApprovalGuardDependencies): AdmissionResponse {
  if (admission.userInfo.username !== deps.aegisUsername) {
    return deny(
      admission.uid,
      `aegis: ApprovalRequests are created by AEGIS when it gates a change; ${admission.userInfo.username} may not create one`,
    );
  }
  const decisions = (admission.object?.spec as { decisions?: unknown[] } | undefined)?.decisions ?? [];
  if (decisions.length > 0) return deny(admission.uid, "aegis: a new ApprovalRequest starts with no decisions");
  return allow(admission.uid);
}
