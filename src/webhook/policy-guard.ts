import { aegisPolicySchema, type AegisPolicy } from "../api/v1alpha1/index.js";
import { compilePolicy, policyChangeId, policyDeletionId, PolicyCompileError, specHashOf } from "../policy/index.js";
import type { EvidenceRecorder } from "../ports/evidence.js";
import { allow, deny, formatZodIssues, type AdmissionRequest, type AdmissionResponse } from "./admission-review.js";

export interface PolicyGuardDependencies {
  evidence: EvidenceRecorder;
}

/**
 * Guards AegisPolicies: a CREATE or UPDATE whose policy does not compile is denied with the
 * compiler's problems (field path and CEL error), so a broken policy is never stored silently;
 * every admitted CREATE, UPDATE and DELETE (not dryRun) is a policy.change record whose actor is
 * the AdmissionReview's user. Its id is the reconciler's, so one change is one record.
 */
export async function admitAegisPolicy(
  admission: AdmissionRequest,
  deps: PolicyGuardDependencies,
): Promise<AdmissionResponse> {
  if (admission.subResource) return allow(admission.uid); // status is written by AEGIS's controller only (RBAC)
  if (admission.operation === "DELETE") return admitDelete(admission, deps);
  if (admission.operation !== "CREATE" && admission.operation !== "UPDATE") return allow(admission.uid);

  const parsed = aegisPolicySchema.safeParse(admission.object);
  if (!parsed.success) {
    return deny(admission.uid, `aegis: AegisPolicy ${admission.name} is malformed: ${formatZodIssues(parsed.error)}`);
  }
  const policy = parsed.data;
  const specHash = specHashOf(policy);
  const problems = compileProblems(policy);
  // An UPDATE that leaves a stored broken spec as it is (labels, finalizers) makes nothing worse:
  // the gate already denies that policy's scope. Refusing it could wedge a deletion.
  if (problems !== undefined && !specUnchanged(admission, specHash)) {
    return deny(
      admission.uid,
      `aegis: AegisPolicy ${policy.metadata.name ?? admission.name} does not compile: ${problems}`,
    );
  }
  if (!admission.dryRun) {
    await deps.evidence.record({
      id: policyChangeId(policy, specHash),
      type: "policy.change",
      subject: `AegisPolicy/${policy.metadata.name ?? admission.name}`,
      actor: actorOf(admission),
      data: {
        operation: admission.operation,
        specHash,
        generation: policy.metadata.generation ?? 0,
        spec: policy.spec,
        uid: policy.metadata.uid ?? null,
      },
    });
  }
  return allow(admission.uid, { auditAnnotations: { "aegis.valina.ai/policy-spec": specHash } });
}

/** A deletion is never refused (deleting a broken policy is how it is fixed); it is recorded. */
async function admitDelete(admission: AdmissionRequest, deps: PolicyGuardDependencies): Promise<AdmissionResponse> {
  if (admission.dryRun) return allow(admission.uid);
  const parsed = aegisPolicySchema.safeParse(admission.oldObject);
  const old = parsed.success ? parsed.data : undefined;
  const raw = admission.oldObject ?? {};
  const metadata = old?.metadata ?? (raw["metadata"] as AegisPolicy["metadata"] | undefined) ?? {};
  // A stored object the schema refuses is still deleted and recorded, with the hash of its raw spec.
  const specHash = specHashOf({ spec: (old?.spec ?? raw["spec"] ?? null) as AegisPolicy["spec"] });
  await deps.evidence.record({
    id: policyDeletionId({ metadata: { ...metadata, name: metadata.name ?? admission.name } }),
    type: "policy.change",
    subject: `AegisPolicy/${admission.name || (metadata.name ?? "")}`,
    actor: actorOf(admission),
    data: {
      operation: "DELETE",
      specHash,
      generation: metadata.generation ?? 0,
      spec: null,
      uid: metadata.uid ?? null,
    },
  });
  return allow(admission.uid);
}

/** The compiler's problems, `path: message; …`, or undefined when the policy compiles. */
function compileProblems(policy: AegisPolicy): string | undefined {
  try {
    compilePolicy(policy);
    return undefined;
  } catch (error) {
    if (error instanceof PolicyCompileError) return error.problems.map((p) => `${p.path}: ${p.message}`).join("; ");
    return error instanceof Error ? error.message : String(error);
  }
}

function specUnchanged(admission: AdmissionRequest, specHash: string): boolean {
  if (admission.operation !== "UPDATE" || !admission.oldObject) return false;
  const oldSpec = admission.oldObject["spec"];
  if (oldSpec === undefined) return false;
  const old = aegisPolicySchema.shape.spec.safeParse(oldSpec);
  return old.success && specHashOf({ spec: old.data }) === specHash;
}

/** Who made the change, from the API server's authentication, never from the object. */
function actorOf(admission: AdmissionRequest): string {
  return admission.userInfo.username || "system:unknown";
}
