import type { KeyObject } from "node:crypto";
import { z } from "zod";
import type { PublishedData } from "../evidence/chain/published-checkpoint.js";
import { checkPublishedChange } from "../evidence/chain/published-checkpoint.js";
import { allow, deny, type AdmissionRequest, type AdmissionResponse } from "./admission-review.js";

export interface CheckpointGuardDependencies {
  /** The key AEGIS signs checkpoints with: the only authority over the published object. */
  evidencePublicKey: KeyObject;
}

/**
 * Deleting AEGIS's namespace deletes the object with it: the namespace controller is let through
 * (deleting that namespace takes cluster-admin; witnesses outside the cluster keep their copy).
 */
const NAMESPACE_CONTROLLER = "system:serviceaccount:kube-system:namespace-controller";

const configMapDataSchema = z.object({ data: z.record(z.string(), z.string()).optional() }).loose();

/**
 * Guards ConfigMap aegis-evidence-checkpoint in AEGIS's namespace (evidence/chain/published-checkpoint.ts):
 * whoever writes it, a change is admitted only when the new checkpoint is signed by AEGIS's key and
 * extends the one stored, with a consistency proof; DELETE is refused. A signature, not an
 * identity, is the authority: RBAC to edit ConfigMaps there is not enough to roll it back.
 */
export function admitPublishedCheckpoint(
  admission: AdmissionRequest,
  deps: CheckpointGuardDependencies,
): AdmissionResponse {
  if (admission.operation === "DELETE" && admission.userInfo.username === NAMESPACE_CONTROLLER) {
    return allow(admission.uid);
  }
  const before = admission.operation === "CREATE" ? undefined : dataOf(admission.oldObject);
  const after = admission.operation === "DELETE" ? undefined : dataOf(admission.object);
  const verdict = checkPublishedChange(before, after, deps.evidencePublicKey);
  return verdict.allowed
    ? allow(admission.uid)
    : deny(admission.uid, `aegis: ConfigMap ${admission.namespace}/${admission.name}: ${verdict.reason}`);
}

function dataOf(object: Record<string, unknown> | null | undefined): PublishedData | undefined {
  if (object === null || object === undefined) return undefined;
  const parsed = configMapDataSchema.safeParse(object);
  return parsed.success ? (parsed.data.data ?? {}) : {};
}
