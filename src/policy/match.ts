import type { CompiledPolicy } from "./compile.js";
import { isControlledPod } from "./pod-template.js";
import { labelsOf } from "./read-json.js";
import type { GateRequest } from "./types.js";

export type MatchRequest = Pick<GateRequest, "kind" | "namespace" | "object" | "user" | "namespaceLabels">;

function isExcluded(policy: CompiledPolicy, request: MatchRequest): boolean {
  const { excludeNamespaces, excludeUsers, excludeGroups } = policy.match;
  return (
    excludeNamespaces.has(request.namespace) ||
    excludeUsers.has(request.user.username) ||
    request.user.groups.some((group) => excludeGroups.has(group))
  );
}

/**
 * Whether a policy applies to a request: its kind, namespace (by name and by the Namespace's
 * labels) and object labels match, and neither the namespace nor the user is excluded. A Pod
 * with a controller ownerReference never matches: it is gated through its controller.
 */
export function policyMatches(policy: CompiledPolicy, request: MatchRequest): boolean {
  const { match } = policy;
  if (!match.kinds.has(request.kind)) return false;
  if (request.kind === "Pod" && isControlledPod(request.object)) return false;
  if (match.namespaces !== undefined && !match.namespaces.has(request.namespace)) return false;
  if (!match.namespaceSelector(request.namespaceLabels)) return false;
  if (!match.objectSelector(labelsOf(request.object))) return false;
  return !isExcluded(policy, request);
}
