// Whether an AegisException waives anything right now. Its own status is never trusted: the
// standing is derived from the ApprovalRequest AEGIS opened for this exact spec (whose
// decisions the approval guard protects), the waived policies as they are now, and the clock.
import {
  DEFAULT_MAX_EXCEPTION_DURATION,
  durationToMs,
  type AegisException,
  type AegisPolicy,
  type ApprovalRequest,
  type ExceptionPhase,
} from "../api/v1alpha1/index.js";
import {
  computeApprovalState,
  EXCEPTION_TARGET_KIND,
  requestCreatedAt,
  requestPoliciesOf,
  type RequestPolicies,
} from "../approval/index.js";
import { approvalRequestName, canonicalSha256 } from "../changehash/index.js";

export interface ExceptionPolicyLookup {
  get(name: string): Pick<AegisPolicy, "spec"> | undefined;
}

/** The hash an exception's approval is bound to: its namespace, name and spec. */
export function exceptionHash(exception: Pick<AegisException, "metadata" | "spec">): string {
  return canonicalSha256({
    namespace: exception.metadata.namespace ?? "",
    name: exception.metadata.name ?? "",
    spec: exception.spec,
  });
}

/** The ApprovalRequest that decides this exact spec of the exception. */
export function exceptionRequestName(exception: Pick<AegisException, "metadata" | "spec">): string {
  return approvalRequestName(EXCEPTION_TARGET_KIND, exception.metadata.name ?? "", exceptionHash(exception));
}

/** Whether an ApprovalRequest decides an AegisException rather than a workload change. */
export function isExceptionRequest(request: Pick<ApprovalRequest, "spec">): boolean {
  return request.spec.target.kind === EXCEPTION_TARGET_KIND;
}

/** The approval rules of an exception's request: see requestPoliciesOf. */
export function exceptionRequestPolicies(
  policies: ExceptionPolicyLookup,
  names: readonly string[],
  extraApprovals: number,
): RequestPolicies {
  return requestPoliciesOf(policies, names, extraApprovals, EXCEPTION_TARGET_KIND);
}

/** The longest an exception may run under one policy, in ms (0: it may not be waived). */
export function maxExceptionMs(policy: Pick<AegisPolicy, "spec">): number {
  return durationToMs(policy.spec.maxExceptionDuration ?? DEFAULT_MAX_EXCEPTION_DURATION);
}

/**
 * What keeps an exception from being valid when requested at `requestedAt`: unknown policies,
 * policies without approvers or that forbid exceptions, checks no waived policy has, an expiry
 * in the past or beyond a policy's maxExceptionDuration. Empty when it is valid.
 */
export function exceptionProblems(
  exception: Pick<AegisException, "spec">,
  policies: ExceptionPolicyLookup,
  requestedAt: Date,
): string[] {
  const { spec } = exception;
  const problems: string[] = [];
  const expiresAt = Date.parse(spec.expiresAt);
  if (Number.isNaN(expiresAt)) problems.push(`expiresAt ${JSON.stringify(spec.expiresAt)} is not an RFC 3339 time`);
  else if (expiresAt <= requestedAt.getTime()) problems.push(`expiresAt ${spec.expiresAt} is not in the future`);
  const found: Pick<AegisPolicy, "spec">[] = [];
  for (const name of spec.policies) {
    const policy = policies.get(name);
    if (!policy) {
      problems.push(`policy ${name} does not exist`);
      continue;
    }
    found.push(policy);
    if (!policy.spec.approval)
      problems.push(`policy ${name} has no spec.approval, so nobody is named to approve an exception to it`);
    let max: number;
    try {
      max = maxExceptionMs(policy);
    } catch {
      problems.push(`policy ${name} has an unreadable maxExceptionDuration`);
      continue;
    }
    if (max === 0) problems.push(`policy ${name} allows no exceptions (maxExceptionDuration: 0s)`);
    else if (!Number.isNaN(expiresAt) && expiresAt - requestedAt.getTime() > max)
      problems.push(
        `expiresAt ${spec.expiresAt} is more than policy ${name}'s maxExceptionDuration (${policy.spec.maxExceptionDuration ?? DEFAULT_MAX_EXCEPTION_DURATION}) after ${requestedAt.toISOString()}`,
      );
  }
  for (const check of spec.checks ?? []) {
    if (found.length > 0 && !found.some((policy) => policy.spec.checks.some((c) => c.name === check)))
      problems.push(`no policy among ${spec.policies.join(", ")} has a check named ${check}`);
  }
  return problems;
}

/** Where an exception stands, derived (never read from its status). */
export interface ExceptionStanding {
  readonly phase: ExceptionPhase;
  readonly message: string;
  /** The request that decides this exact spec. */
  readonly approvalRequest: string;
  readonly approvers: readonly string[];
  readonly expiresAt: Date | null;
}

export interface StandingInputs {
  /** The cached ApprovalRequest named by exceptionRequestName(exception), if any. */
  readonly request: ApprovalRequest | undefined;
  readonly policies: ExceptionPolicyLookup;
  readonly extraApprovals: number;
  readonly now: Date;
}

/**
 * Active only while the request for exactly this spec is Approved, the exception is valid
 * against its policies as they are now (measured from when the request was made), and its
 * expiresAt has not passed. Expired is final for that spec, whatever the request says.
 */
export function exceptionStanding(
  exception: Pick<AegisException, "metadata" | "spec">,
  inputs: StandingInputs,
): ExceptionStanding {
  const approvalRequest = exceptionRequestName(exception);
  const expires = Date.parse(exception.spec.expiresAt);
  const expiresAt = Number.isNaN(expires) ? null : new Date(expires);
  const base = { approvalRequest, expiresAt, approvers: [] as string[] };
  if (expiresAt && inputs.now.getTime() >= expiresAt.getTime())
    return { ...base, phase: "Expired", message: `expired at ${expiresAt.toISOString()}: it waives nothing` };
  const { request } = inputs;
  const hash = exceptionHash(exception);
  if (!request || request.spec.changeHash !== hash || !isExceptionRequest(request)) {
    return {
      ...base,
      phase: "Pending",
      message: `waits for ApprovalRequest ${approvalRequest}, which AEGIS opens when the exception is applied; it waives nothing until approved`,
    };
  }
  const requestedAt = requestCreatedAt(request.metadata, inputs.now);
  const problems = exceptionProblems(exception, inputs.policies, requestedAt).filter(
    (problem) => !problem.includes("is not in the future"),
  );
  if (problems.length > 0) return { ...base, phase: "Invalid", message: `waives nothing: ${problems.join("; ")}` };
  const policies = exceptionRequestPolicies(inputs.policies, exception.spec.policies, inputs.extraApprovals);
  const state = computeApprovalState(request.spec, requestedAt, policies, inputs.now);
  switch (state.phase) {
    case "Approved":
      return {
        ...base,
        approvers: state.approvers,
        phase: "Active",
        message: `approved by ${state.approvers.join(", ")}; waives ${waivedText(exception)} until ${exception.spec.expiresAt}`,
      };
    case "Rejected":
      return { ...base, phase: "Rejected", message: `ApprovalRequest ${approvalRequest} was rejected` };
    case "Expired":
      return {
        ...base,
        phase: "Pending",
        message: `ApprovalRequest ${approvalRequest} expired undecided; re-create or change the exception to ask anew`,
      };
    default:
      return {
        ...base,
        phase: "Pending",
        message: `waits for ${state.missing.join(", ") || "approval"} on ApprovalRequest ${approvalRequest}: kubectl aegis approve ${approvalRequest} -n ${exception.metadata.namespace ?? ""}`,
      };
  }
}

function waivedText(exception: Pick<AegisException, "spec">): string {
  const checks = exception.spec.checks;
  const policies = exception.spec.policies.join(", ");
  return checks ? `checks ${checks.join(", ")} of ${policies}` : `every check of ${policies}`;
}
