import { shortestDuration, type AccessAction } from "../api/v1alpha1/index.js";
import type { CompiledPolicy } from "./compile.js";
import { exclusionOf } from "./match.js";
import type { GateRequest } from "./types.js";

export type AccessRequestFacts = Pick<GateRequest, "namespace" | "namespaceLabels" | "user">;

/**
 * The Enforce policies whose `access` asks approval for this action in this namespace. Scope is
 * by namespace (names, selector) and exclusions; kinds do not apply to an action on a pod, and
 * an objectSelector is not read (the CONNECT request carries no pod labels), so such a policy
 * gates the action on every pod of its namespaces rather than on none.
 */
export function accessPoliciesFor(
  policies: readonly CompiledPolicy[],
  request: AccessRequestFacts,
  action: AccessAction,
): CompiledPolicy[] {
  return policies.filter((policy) => {
    if (policy.enforcement !== "Enforce" || policy.spec.access?.[action] !== "RequireApproval") return false;
    const { match } = policy;
    if (match.namespaces !== undefined && !match.namespaces.has(request.namespace)) return false;
    if (!match.namespaceSelector(request.namespaceLabels)) return false;
    return exclusionOf(policy, { ...request, kind: "Pod", object: {} }) === undefined;
  });
}

/** The shortest ttl the policies give an approved access. */
export function accessTtlOf(policies: readonly CompiledPolicy[]): string {
  return shortestDuration(
    policies.map((policy) => policy.spec.access?.ttl ?? "30m"),
    "30m",
  );
}
