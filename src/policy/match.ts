import { GATED_KINDS } from "../api/v1alpha1/index.js";
import type { CompiledPolicy } from "./compile.js";
import { labelsOf } from "../json/read-json.js";
import type { GateRequest } from "./types.js";

export type MatchRequest = Pick<GateRequest, "kind" | "namespace" | "object" | "user" | "namespaceLabels">;

/** Which condition of a policy's `match`/`exclude` left a request out. */
export type MismatchCause =
  | "kind"
  | "namespaces"
  | "namespaceSelector"
  | "objectSelector"
  | "excludeNamespaces"
  | "excludeUsers"
  | "excludeGroups";

export interface PolicyMismatch {
  readonly cause: MismatchCause;
  /** One clause, e.g. `namespace default is not in match.namespaces [demo-prod]`. */
  readonly message: string;
}

const listed = (values: Iterable<string>): string => `[${[...values].join(", ")}]`;

const GATED: ReadonlySet<string> = new Set(GATED_KINDS);

/**
 * How a policy reaches a request's kind. `listed`: the kind is in match.kinds and every check
 * applies. `sideDoor`: the kind is another pod-carrying kind — a Pod, ReplicaSet, Job… created
 * directly where the policy governs, say, Deployments. Pods made that way run just the same, so
 * the policy's pod-template checks and its approval apply to them too (its CEL and label checks
 * are written for the listed kinds and do not). Built-in controllers' own creations never reach
 * this far: the gate admits them by their authenticated identity.
 */
export type MatchScope = "listed" | "sideDoor";

export function matchScopeOf(policy: CompiledPolicy, kind: string): MatchScope | undefined {
  if (policy.match.kinds.has(kind)) return "listed";
  return GATED.has(kind) ? "sideDoor" : undefined;
}

export function exclusionOf(policy: CompiledPolicy, request: MatchRequest): PolicyMismatch | undefined {
  const { excludeNamespaces, excludeUsers, excludeGroups } = policy.match;
  if (excludeNamespaces.has(request.namespace))
    return { cause: "excludeNamespaces", message: `namespace ${request.namespace} is in exclude.namespaces` };
  if (excludeUsers.has(request.user.username))
    return { cause: "excludeUsers", message: `user ${request.user.username} is in exclude.users` };
  const group = request.user.groups.find((candidate) => excludeGroups.has(candidate));
  if (group !== undefined) return { cause: "excludeGroups", message: `group ${group} is in exclude.groups` };
  return undefined;
}

/**
 * Why a policy does not apply to a request, or undefined when it does: the first of its kind,
 * namespace (by name and by the Namespace's labels), object labels and exclusions that fails.
 * Every pod-carrying kind passes the kind test (see {@link matchScopeOf}), whatever
 * ownerReferences the object claims.
 */
export function policyMismatch(policy: CompiledPolicy, request: MatchRequest): PolicyMismatch | undefined {
  const { match } = policy;
  if (matchScopeOf(policy, request.kind) === undefined)
    return { cause: "kind", message: `kind ${request.kind} is not in match.kinds ${listed(match.kinds)}` };
  if (match.namespaces !== undefined && !match.namespaces.has(request.namespace))
    return {
      cause: "namespaces",
      message: `namespace ${request.namespace} is not in match.namespaces ${listed(match.namespaces)}`,
    };
  if (!match.namespaceSelector(request.namespaceLabels))
    return {
      cause: "namespaceSelector",
      message: `the labels of namespace ${request.namespace} ${JSON.stringify(request.namespaceLabels)} do not match match.namespaceSelector`,
    };
  if (!match.objectSelector(labelsOf(request.object)))
    return { cause: "objectSelector", message: "the object's labels do not match match.objectSelector" };
  return exclusionOf(policy, request);
}

/**
 * Whether a policy applies to a request: its kind, namespace (by name and by the Namespace's
 * labels) and object labels match, and neither the namespace nor the user is excluded.
 */
export function policyMatches(policy: CompiledPolicy, request: MatchRequest): boolean {
  return policyMismatch(policy, request) === undefined;
}

/** Like the engine, a policy whose matching throws counts as matching (it fails closed). */
function mismatchOrMatch(policy: CompiledPolicy, request: MatchRequest): PolicyMismatch | undefined {
  try {
    return policyMismatch(policy, request);
  } catch {
    return undefined;
  }
}

/**
 * Why no policy evaluates a request, or undefined when at least one policy matches it. A kind
 * no policy lists gives `no policy matches kind K` (noting when AEGIS never gates K); otherwise
 * the reason the policies that list the kind give, or each such policy's reason when they differ.
 */
export function unmatchedReason(policies: readonly CompiledPolicy[], request: MatchRequest): string | undefined {
  if (policies.length === 0) return "no policy was given";
  const mismatches: { policy: string; mismatch: PolicyMismatch }[] = [];
  for (const policy of policies) {
    const mismatch = mismatchOrMatch(policy, request);
    if (mismatch === undefined) return undefined;
    mismatches.push({ policy: policy.name, mismatch });
  }
  const forKind = mismatches.filter(({ mismatch }) => mismatch.cause !== "kind");
  if (forKind.length === 0) {
    const never = GATED.has(request.kind) ? "" : ` (AEGIS gates only ${GATED_KINDS.join(", ")})`;
    return `no policy matches kind ${request.kind}${never}`;
  }
  const messages = [...new Set(forKind.map(({ mismatch }) => mismatch.message))];
  if (messages.length === 1) return messages[0];
  return forKind.map(({ policy, mismatch }) => `policy ${policy}: ${mismatch.message}`).join("; ");
}
