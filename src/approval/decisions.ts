import type { ApprovalRequest, Decision, DecisionChannel } from "../api/v1alpha1/index.js";
import type { Identity } from "../api/identity.js";
import type { AccessReviewer } from "../ports/auth.js";
import type { ObjectStore } from "../ports/kube.js";
import { approverProblems, phaseProblemOf } from "./rules.js";
import { requestPoliciesOf, type PolicyLookup } from "./settings.js";
import { computeApprovalState, requestCreatedAt, type RequestPolicies } from "./state.js";
import type { ApprovalView } from "../api/approval-view.js";
import { approvalView } from "./view.js";

/** Why a decision was not recorded; each delivery channel (HTTP status, Slack reply) renders it its own way. */
export type DecisionRefusal = "NotFound" | "Forbidden" | "NotPending" | "NotAnApprover";

export class DecisionRefusedError extends Error {
  constructor(
    readonly refusal: DecisionRefusal,
    message: string,
  ) {
    super(message);
    this.name = "DecisionRefusedError";
  }
}

/** What a decision path (REST API, dashboard, Slack) needs to record a decision for a user. */
export interface DecisionDependencies {
  policies: PolicyLookup;
  approvals: ObjectStore<ApprovalRequest>;
  auth: AccessReviewer;
  /** Writes the decision as AEGIS's service account; the webhook re-checks the rules. */
  appendDecision: (request: ApprovalRequest, decision: Decision) => Promise<void>;
  extraApprovals: () => number;
  now: () => Date;
  /** How long to wait for the cache before retrying a write that lost a race. Default 250 ms. */
  retryDelayMs?: number;
}

export interface DecisionInput {
  identity: Identity;
  namespace: string;
  name: string;
  decision: Decision["decision"];
  comment: string;
  via: DecisionChannel;
}

export function requestPolicies(
  deps: Pick<DecisionDependencies, "policies" | "extraApprovals">,
  request: ApprovalRequest,
): RequestPolicies {
  return requestPoliciesOf(deps.policies, request.spec.policies, deps.extraApprovals(), request.spec.target.kind);
}

export function viewOf(
  request: ApprovalRequest,
  deps: Pick<DecisionDependencies, "policies" | "extraApprovals" | "now">,
): ApprovalView {
  return approvalView(request, requestPolicies(deps, request), deps.now());
}

export function findRequest(approvals: ObjectStore<ApprovalRequest>, namespace: string, name: string): ApprovalRequest {
  const request = approvals.get(name, namespace);
  if (!request) throw new DecisionRefusedError("NotFound", `ApprovalRequest ${namespace}/${name} not found`);
  return request;
}

/**
 * The one decision path AEGIS itself writes through (API, dashboard, Slack): RBAC (verb
 * `approve`), the phase taking this decision (Revoke: the user's own standing approval), the
 * policies' approver rules, then the append. A write
 * that fails while the cache has meanwhile seen a newer version of the request (another decision,
 * a notification annotation) is checked and tried once more against that version.
 */
export async function recordDecision(input: DecisionInput, deps: DecisionDependencies): Promise<ApprovalView> {
  let request = findRequest(deps.approvals, input.namespace, input.name);
  await authorize(input, request, deps);
  const decision: Decision = {
    user: input.identity.username,
    decision: input.decision,
    groups: [...input.identity.groups],
    comment: input.comment,
    at: deps.now().toISOString(),
    via: input.via,
  };
  try {
    await deps.appendDecision(request, decision);
  } catch (error) {
    const fresher = await fresherVersion(request, deps);
    if (!fresher) throw error;
    request = fresher;
    checkRules(input, request, deps);
    await deps.appendDecision(request, { ...decision, at: deps.now().toISOString() });
  }
  return viewOf({ ...request, spec: { ...request.spec, decisions: [...request.spec.decisions, decision] } }, deps);
}

async function fresherVersion(
  request: ApprovalRequest,
  deps: DecisionDependencies,
): Promise<ApprovalRequest | undefined> {
  const { namespace = "", name = "", resourceVersion } = request.metadata;
  const read = (): ApprovalRequest | undefined => {
    const current = deps.approvals.get(name, namespace);
    return current && current.metadata.resourceVersion !== resourceVersion ? current : undefined;
  };
  const now = read();
  if (now) return now;
  await new Promise((resolve) => setTimeout(resolve, deps.retryDelayMs ?? 250));
  return read();
}

async function authorize(input: DecisionInput, request: ApprovalRequest, deps: DecisionDependencies): Promise<void> {
  const { identity } = input;
  const namespace = request.metadata.namespace ?? "";
  if (!(await deps.auth.canApprove(identity, namespace))) {
    throw new DecisionRefusedError(
      "Forbidden",
      `${identity.username} may not approve approvalrequests.aegis.valina.ai in namespace ${namespace} (needs verb "approve"; bind the aegis-approver ClusterRole)`,
    );
  }
  checkRules(input, request, deps);
}

function checkRules(input: DecisionInput, request: ApprovalRequest, deps: DecisionDependencies): void {
  const { identity } = input;
  const policies = requestPolicies(deps, request);
  const createdAt = requestCreatedAt(request.metadata, deps.now());
  const state = computeApprovalState(request.spec, createdAt, policies, deps.now());
  const phaseProblem = phaseProblemOf({ decision: input.decision, user: identity.username }, state);
  if (phaseProblem) throw new DecisionRefusedError("NotPending", phaseProblem);
  if (input.decision === "Revoke") return;
  const problems = approverProblems(identity, request.spec.requester.username, policies, request.spec.policies);
  if (problems.length > 0) throw new DecisionRefusedError("NotAnApprover", problems.join("; "));
}
