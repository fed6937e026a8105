import { GROUP } from "../api/v1alpha1/index.js";
import { admitApprovalRequest, type ApprovalGuardDependencies } from "./approval-guard.js";
import { allow, type AdmissionRequest, type AdmissionResponse } from "./admission-review.js";
import { PUBLISHED_CHECKPOINT_NAME } from "../evidence/chain/published-checkpoint.js";
import { admitPublishedCheckpoint, type CheckpointGuardDependencies } from "./checkpoint-guard.js";
import { admitWorkload, type GateDependencies } from "./gate.js";
import { accessActionOf, admitAccess } from "./access.js";
import { admitAegisPolicy, type PolicyGuardDependencies } from "./policy-guard.js";
import { admitAegisException, type ExceptionGuardDependencies } from "./exception-guard.js";
import { SLACK_USERS_CONFIGMAP } from "../ports/notify.js";
import { admitSlackUsersMap, type SlackUsersGuardDependencies } from "./slack-users-guard.js";

/** Namespaces AEGIS never gates (DESIGN §3); the webhook configuration already excludes them. */
export const SYSTEM_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease"] as const;

export type AdmissionHandler = (request: AdmissionRequest) => Promise<AdmissionResponse>;

export type HandlerDependencies = GateDependencies &
  ApprovalGuardDependencies &
  PolicyGuardDependencies &
  ExceptionGuardDependencies &
  CheckpointGuardDependencies &
  SlackUsersGuardDependencies & { aegisNamespace: string };

/** Routes a parsed AdmissionRequest: AEGIS's own kinds to their guard, everything else to the gate. */
export function createAdmissionHandler(deps: HandlerDependencies): AdmissionHandler {
  const ungated = new Set<string>([...SYSTEM_NAMESPACES, deps.aegisNamespace]);
  return async (request) => {
    if (request.resource.group === GROUP) {
      switch (request.resource.resource) {
        case "approvalrequests":
          return admitApprovalRequest(request, deps);
        case "aegispolicies":
          return admitAegisPolicy(request, deps);
        case "aegisexceptions":
          return admitAegisException(request, deps);
        default:
          return allow(request.uid);
      }
    }
    if (
      request.resource.group === "" &&
      request.resource.resource === "configmaps" &&
      request.namespace === deps.aegisNamespace &&
      request.name === PUBLISHED_CHECKPOINT_NAME
    ) {
      return admitPublishedCheckpoint(request, deps);
    }
    if (
      request.resource.group === "" &&
      request.resource.resource === "configmaps" &&
      request.namespace === deps.aegisNamespace &&
      request.name === SLACK_USERS_CONFIGMAP
    ) {
      return admitSlackUsersMap(request, deps);
    }
    // Defence in depth: the configuration's namespaceSelector already keeps these out.
    if (ungated.has(request.namespace)) return allow(request.uid);
    const action = accessActionOf(request);
    if (action) return admitAccess(request, action, deps);
    if (request.operation === "CONNECT") return allow(request.uid);
    return admitWorkload(request, deps);
  };
}
