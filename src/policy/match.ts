import { GATED_KINDS } from "../api/v1alpha1/index.js";
import type { CompiledPolicy } from "./compile.js";
import { isControlledPod } from "./pod-template.js";
import { arrayOf, asRecord, labelsOf, recordAt, stringOf } from "../json/read-json.js";
import type { GateRequest } from "./types.js";

export type MatchRequest = Pick<GateRequest, "kind" | "namespace" | "object" | "user" | "namespaceLabels">;

/** Which condition of a policy's `match`/`exclude` left a request out. */
export type MismatchCause =
  | "kind"
  | "controlledPod"
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

function controllerOf(pod: unknown): string {
  const owner = arrayOf(recordAt(pod, "metadata")?.["ownerReferences"])
    .map(asRecord)
    .find((reference) => reference?.["controller"] === true);
  return `${stringOf(owner?.["kind"]) ?? "?"}/${stringOf(owner?.["name"]) ?? "?"}`;
}

function exclusionOf(policy: CompiledPolicy, request: MatchRequest): PolicyMismatch | undefined {
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
 * A Pod with a controller ownerReference never matches: it is gated through its controller.
 */
export function policyMismatch(policy: CompiledPolicy, request: MatchRequest): PolicyMismatch | undefined {
  const { match } = policy;
  if (!match.kinds.has(request.kind))
    return { cause: "kind", message: `kind ${request.kind} is not in match.kinds ${listed(match.kinds)}` };
  if (request.kind === "Pod" && isControlledPod(request.object))
    return {
      cause: "controlledPod",
      message: `the Pod has controller ${controllerOf(request.object)} in metadata.ownerReferences, so it is gated through its controller, not itself`,
    };
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
 * labels) and object labels match, and neither the namespace nor the user is excluded. A Pod
 * with a controller ownerReference never matches: it is gated through its controller.
 */
export function policyMatches(policy: CompiledPolicy, request: MatchRequest): boolean {
  return policyMismatch(policy, request) === undefined;
}

const GATED: ReadonlySet<string> = new Set(GATED_KINDS);

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
