import { ACCESS_ACTIONS, API_VERSION, type AccessAction, type ApprovalRequest } from "../api/v1alpha1/index.js";
import { computeApprovalState, requestCreatedAt, requestPoliciesOf } from "../approval/index.js";
import { approvalRequestName, canonicalSha256 } from "../changehash/index.js";
import { accessPoliciesFor, accessTtlOf } from "../policy/index.js";
import { allow, deny, type AdmissionRequest, type AdmissionResponse } from "./admission-review.js";
import type { GateDependencies } from "./gate.js";

/** Is this a CONNECT of an action on a pod that access policies may gate? */
export function accessActionOf(admission: AdmissionRequest): AccessAction | undefined {
  if (admission.operation !== "CONNECT" || admission.resource.group !== "" || admission.resource.resource !== "pods")
    return undefined;
  // The pods subresources are named as the actions are: pods/exec, pods/attach, pods/portforward.
  return ACCESS_ACTIONS.find((action) => action === admission.subResource);
}

/**
 * Approved access (CONNECT admission): where a policy asks approval for an action on pods, a user
 * gets in only with an Approved AccessRequest for exactly this pod, action and user (an
 * ApprovalRequest with `spec.access`), within its ttl from the approval. Otherwise AEGIS opens
 * (or renews) the request and denies, naming it. Every session it lets start is evidence.
 */
export async function admitAccess(
  admission: AdmissionRequest,
  action: AccessAction,
  deps: GateDependencies,
): Promise<AdmissionResponse> {
  const namespace = admission.namespace;
  const pod = admission.name;
  const user = { username: admission.userInfo.username, groups: admission.userInfo.groups };
  const policies = accessPoliciesFor(
    deps.policies.compiled(),
    { namespace, namespaceLabels: deps.namespaceLabels(namespace), user },
    action,
  );
  if (policies.length === 0) return allow(admission.uid);

  const accessHash = canonicalSha256({ namespace, pod, action, user: user.username });
  const name = approvalRequestName(`access-${action}`, pod, accessHash);
  const names = policies.map((policy) => policy.name);
  const requestPolicies = requestPoliciesOf(deps.policies, names, deps.extraApprovals());
  const existing = deps.approvalRequests.get(name, namespace);
  const current = existing?.spec.changeHash === accessHash ? existing : undefined;
  const state = current
    ? computeApprovalState(current.spec, requestCreatedAt(current.metadata, deps.now()), requestPolicies, deps.now())
    : null;
  const subject = `Pod/${namespace}/${pod}`;

  if (current && state?.phase === "Approved" && names.every((policy) => current.spec.policies.includes(policy))) {
    const until = state.accessUntil ?? deps.now();
    await deps.evidence.record({
      type: "access.session",
      subject,
      actor: user.username,
      data: {
        uid: admission.uid,
        action,
        groups: user.groups,
        accessRequest: name,
        approvers: state.approvers,
        policies: names,
        until: until.toISOString(),
      },
    });
    deps.onAccess?.({ action, namespace, allowed: true });
    return allow(admission.uid, {
      warnings: [
        `aegis: ${action} into ${namespace}/${pod} approved by ${state.approvers.join(", ")} until ${until.toISOString()} (AccessRequest ${namespace}/${name}); this session is recorded`,
      ],
      auditAnnotations: { "aegis.valina.ai/decision": "access-approved", "aegis.valina.ai/approval-request": name },
    });
  }

  const fresh = accessRequest(admission, { name, accessHash, action, names, ttl: accessTtlOf(policies) });
  if (state?.phase === "Rejected") {
    await recordDenial(deps, admission, { subject, action, name, reason: "AccessRejected" });
    return deny(
      admission.uid,
      `aegis: ${action} into pod ${namespace}/${pod} was refused: AccessRequest ${namespace}/${name} was Rejected; see kubectl aegis describe ${name} -n ${namespace}`,
    );
  }
  if (!existing) await deps.requestWriter.create(fresh);
  else if (!current || state?.phase !== "Pending") await deps.requestWriter.replace(existing, fresh);
  await recordDenial(deps, admission, { subject, action, name, reason: "AccessPending" });
  return deny(
    admission.uid,
    `aegis: ${action} into pod ${namespace}/${pod} needs approval (${names.length === 1 ? "policy" : "policies"} ${names.join(", ")}); AccessRequest ${namespace}/${name} is Pending; approve with: kubectl aegis approve ${name} -n ${namespace} (then ${user.username} may ${action} for ${fresh.spec.access?.ttl ?? "?"})`,
  );
}

async function recordDenial(
  deps: GateDependencies,
  admission: AdmissionRequest,
  denial: { subject: string; action: AccessAction; name: string; reason: "AccessPending" | "AccessRejected" },
): Promise<void> {
  const { subject, action, name, reason } = denial;
  await deps.evidence.record({
    type: "admission.decision",
    subject,
    actor: admission.userInfo.username,
    data: {
      uid: admission.uid,
      operation: "CONNECT",
      action,
      groups: admission.userInfo.groups,
      allowed: false,
      reason,
      approvalRequest: name,
    },
  });
  deps.onAccess?.({ action, namespace: admission.namespace, allowed: false });
}

function accessRequest(
  admission: AdmissionRequest,
  facts: { name: string; accessHash: string; action: AccessAction; names: string[]; ttl: string },
): ApprovalRequest {
  return {
    apiVersion: API_VERSION,
    kind: "ApprovalRequest",
    metadata: {
      name: facts.name,
      namespace: admission.namespace,
      labels: {
        "app.kubernetes.io/managed-by": "aegis",
        "aegis.valina.ai/target-kind": "pod",
        "aegis.valina.ai/target-name": admission.name.slice(0, 63).replace(/[^A-Za-z0-9]+$/, ""),
        "aegis.valina.ai/access": facts.action,
      },
    },
    spec: {
      target: { apiVersion: "v1", kind: "Pod", namespace: admission.namespace, name: admission.name },
      changeHash: facts.accessHash,
      policies: facts.names,
      requester: { username: admission.userInfo.username, groups: admission.userInfo.groups },
      risk: { score: 0, factors: [] },
      summary: `${facts.action} into pod ${admission.namespace}/${admission.name} by ${admission.userInfo.username}`,
      reason: "",
      decisions: [],
      access: { action: facts.action, user: admission.userInfo.username, ttl: facts.ttl },
    },
  };
}
