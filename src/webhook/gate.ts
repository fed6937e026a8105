import type { AegisException, ApprovalRequest, ApprovalSettings, RiskFactor } from "../api/v1alpha1/index.js";
import { API_VERSION, shortestDuration } from "../api/v1alpha1/index.js";
import {
  argoCdApplicationOf,
  argoCdCommitAnnotations,
  argoCdTrackingOf,
  GIT_COMMIT_ANNOTATION,
  gitAnnotationsOf,
} from "../api/git-reference.js";
import {
  computeApprovalState,
  isSingleUse,
  requestCreatedAt,
  lastApprovedSpec,
  approvedHistoryOf,
  requestPoliciesOf,
  riskBandOf,
  type ApprovalState,
  type RequestPolicies,
} from "../approval/index.js";
import { approvalRequestName, computeChangeHash, shortChangeHash, toJsonValue } from "../changehash/index.js";
import { activeExceptions, applyExceptions, formatWaiver, type Waiver } from "../exceptions/index.js";
import { canonicalJson } from "../json/canonical-json.js";
import type {
  CompiledPolicy,
  GateEvaluation,
  GateRequest,
  OpenFreeze,
  PolicyVerdict,
  Violation,
} from "../policy/index.js";
import {
  brokenPolicyVerdicts,
  containersOf,
  describeEnd,
  evaluate,
  formatViolation,
  isControlPlaneWrite,
  openFreeze,
  podTemplateOf,
  withVerdicts,
} from "../policy/index.js";
import type { EvidenceRecorder } from "../ports/evidence.js";
import type { ApprovalRequestWriter, ObjectStore, PolicySource, WorkloadReader } from "../ports/kube.js";
import { scoreRisk, summarizeChange } from "../risk/index.js";
import { scoreWithModel, type RiskModel } from "../risk/learning/index.js";
import { allow, deny, type AdmissionRequest, type AdmissionResponse } from "./admission-review.js";

export const REASON_ANNOTATION = "aegis.valina.ai/reason";
export const BREAK_GLASS_ANNOTATION = "aegis.valina.ai/break-glass";

/**
 * Why the gate decided as it did: `data.reason` of each admission.decision evidence record and
 * GateDecision.reason. CamelCase, like a condition reason (test/unit/api/condition-reasons).
 */
export const DecisionReason = {
  /** An Enforce policy's check failed. */
  PolicyViolation: "PolicyViolation",
  /** The checks passed and no matching policy asks for approval. */
  ChecksPassed: "ChecksPassed",
  /** An Approved ApprovalRequest for exactly this change exists. */
  Approved: "Approved",
  /** Denied: the ApprovalRequest for this change is Pending (created now, or earlier). */
  ApprovalPending: "ApprovalPending",
  /** Denied: the ApprovalRequest for this change was Rejected. */
  ApprovalRejected: "ApprovalRejected",
  /** Denied on a dry run: the ApprovalRequest for this change has Expired (not replaced on a dry run). */
  ApprovalExpired: "ApprovalExpired",
  /** Denied on a dry run: the singleUse approval of this change was used (not replaced on a dry run). */
  ApprovalUsed: "ApprovalUsed",
  /** Denied on a dry run: the change needs approval, and no ApprovalRequest was created for it. */
  ApprovalNotCreated: "ApprovalNotCreated",
  /** AEGIS's own rollback to a revision the ledger or an ApprovalRequest shows approved. */
  AegisRollbackApproved: "AegisRollbackApproved",
  /** An UPDATE that passed the checks and changes nothing that runs (scale, restart, labels, re-apply). */
  Unchanged: "Unchanged",
  /** Denied: a freeze window of a policy that gates this change is open (approved or not). */
  Frozen: "Frozen",
  /** Admitted at once by break-glass; an ApprovalRequest in ReviewRequired asks for its review. */
  BreakGlass: "BreakGlass",
  /** Denied: the change's risk score is above a RiskBased Enforce policy's blockAbove; no approval admits it. */
  RiskTooHigh: "RiskTooHigh",
  /** Denied: the break-glass annotation was set by someone no gating policy lets use it, or without a reason. */
  BreakGlassRefused: "BreakGlassRefused",
} as const;
export type DecisionReason = (typeof DecisionReason)[keyof typeof DecisionReason];

/** Where the ApprovalRequest of a denied change stands after the gate made sure of it. */
type RequestOutcome = "Pending" | "Rejected" | "Expired" | "Used" | "NotCreated";

const DENIAL_REASON: Readonly<Record<RequestOutcome, DecisionReason>> = {
  Pending: DecisionReason.ApprovalPending,
  Rejected: DecisionReason.ApprovalRejected,
  Expired: DecisionReason.ApprovalExpired,
  Used: DecisionReason.ApprovalUsed,
  NotCreated: DecisionReason.ApprovalNotCreated,
};

export interface GateDependencies {
  policies: PolicySource<CompiledPolicy>;
  namespaceLabels: (namespace: string) => Record<string, string>;
  approvalRequests: ObjectStore<ApprovalRequest>;
  requestWriter: ApprovalRequestWriter;
  evidence: EvidenceRecorder;
  now: () => Date;
  /**
   * AEGIS's own service account username. Its changes are checked like anyone's; a rollback by it
   * passes without a new approval when `approvedBefore` shows the revision approved.
   */
  aegisUsername: string;
  /** Was this exact change of this target approved before (the ledger, Approved requests)? */
  approvedBefore?: (target: { kind: string; namespace: string; name: string }, changeHash: string) => Promise<boolean>;
  /** Reads the object behind a `scale` subresource request, so its checks run on the result; and Argo CD Applications. */
  workloads?: WorkloadReader;
  /** Where Argo CD's Applications live: the commit an Application syncs names a change it applies. Absent: not read. */
  argoCdNamespace?: string;
  /** Approvals added on top of minApprovals while lockdown is on. */
  extraApprovals: () => number;
  /**
   * The risk model in force (trained from human decisions, shared through the ledger) and its
   * version; absent: the v1 score, named "v1".
   */
  riskModel?: () => { model: RiskModel; version: string };
  /** The ApprovalRequests of a namespace (an index of the cache); absent: a scan of approvalRequests. */
  approvalsIn?: (namespace: string) => readonly ApprovalRequest[];
  /** The AegisExceptions of a namespace (the informer cache); absent: none. Their status is never trusted. */
  exceptions?: (namespace: string) => readonly AegisException[];
  /** Told of every gated decision after its evidence is durable (metrics, threat detection). Must not throw. */
  onDecision?: (decision: GateDecision) => void;
  /** Told of every gated exec/attach/port-forward after its evidence is durable (metrics). Must not throw. */
  onAccess?: (access: { action: string; namespace: string; allowed: boolean }) => void;
}

/** One gated decision, as observers (metrics, threat detection) see it. */
export interface GateDecision {
  at: Date;
  user: string;
  groups: readonly string[];
  namespace: string;
  kind: string;
  name: string;
  operation: string;
  allowed: boolean;
  reason: DecisionReason;
  policies: readonly string[];
  violations: readonly Violation[];
  /** Images of the object's pod template, for registry novelty. */
  images: readonly string[];
  riskScore: number | undefined;
}

interface Change {
  request: GateRequest;
  changeHash: string;
  evaluation: GateEvaluation;
  /** Violations an approved, unexpired AegisException waived (evidence of its use). */
  waived: readonly Waiver[];
}

/**
 * The admission gate for workloads (DESIGN §3): checks deny (Enforce) or warn (Audit); a change
 * that needs approval passes only when an Approved request for exactly its changeHash exists.
 */
export async function admitWorkload(admission: AdmissionRequest, deps: GateDependencies): Promise<AdmissionResponse> {
  const request = await toGateRequest(admission, deps);
  if (request === null) return allow(admission.uid);
  if (isControlPlaneWrite(request)) return allow(admission.uid);
  // A policy that did not compile denies its scope (fail closed) instead of dropping out.
  const evaluated = withVerdicts(
    evaluate(deps.policies.compiled(), request),
    brokenPolicyVerdicts(deps.policies.list(), request),
  );
  if (evaluated.matched.length === 0) return allow(admission.uid);
  const changeHash = computeChangeHash(request.object);
  const { evaluation, waived } = waiveByExceptions(evaluated, request, changeHash, deps);
  const change: Change = { request, changeHash, evaluation, waived };
  const warnings = [
    ...waived.map((waiver) => `aegis: ${formatWaiver(waiver)}`),
    ...evaluation.warnings.map((violation) => `aegis (audit): ${formatViolation(violation)}`),
  ];

  if (evaluation.denied.length > 0) {
    const message = `aegis: ${describeTarget(request)} violates policy: ${evaluation.denied.map(formatViolation).join("; ")}`;
    await recordDecision(deps, admission, change, { allowed: false, reason: DecisionReason.PolicyViolation });
    return deny(admission.uid, message, withWarnings(warnings, { "aegis.valina.ai/decision": "denied-by-checks" }));
  }
  if (request.oldObject !== null && computeChangeHash(request.oldObject) === changeHash) {
    // Scale, restart, label-only or unchanged re-apply: checked above, and nothing new runs.
    await recordDecision(deps, admission, change, { allowed: true, reason: DecisionReason.Unchanged });
    return allow(admission.uid, withWarnings(warnings, { "aegis.valina.ai/decision": "unchanged" }));
  }
  if (admission.userInfo.username === deps.aegisUsername && (await rollbackApprovedBefore(request, changeHash, deps))) {
    await recordDecision(deps, admission, change, { allowed: true, reason: DecisionReason.AegisRollbackApproved });
    return allow(admission.uid, withWarnings(warnings, { "aegis.valina.ai/decision": "aegis-rollback-approved" }));
  }
  const risk = riskOf(request, evaluation, deps);
  // Too risky for anyone to approve: stopped like a failed check, so break-glass does not pass it.
  const tooRisky = evaluation.matched.filter(
    (verdict) => verdict.approval?.mode === "RiskBased" && riskBandOf(verdict.approval, risk.score) === "blocked",
  );
  for (const verdict of tooRisky.filter((v) => v.enforcement !== "Enforce"))
    warnings.push(`aegis (audit): ${riskTooHighText(verdict, risk)}`);
  const blockedBy = tooRisky.filter((verdict) => verdict.enforcement === "Enforce");
  if (blockedBy.length > 0) {
    await recordDecision(deps, admission, change, { allowed: false, reason: DecisionReason.RiskTooHigh, risk });
    return deny(
      admission.uid,
      `aegis: ${describeTarget(request)} change ${shortChangeHash(changeHash)} is blocked: ${blockedBy.map((verdict) => riskTooHighText(verdict, risk)).join("; ")}; no approval admits it: lower the risk or change the policy`,
      withWarnings(warnings, { "aegis.valina.ai/decision": "risk-too-high" }),
    );
  }
  const breakGlass = annotationOf(request.object, BREAK_GLASS_ANNOTATION)?.trim();
  if (breakGlass !== undefined) {
    const blocking = evaluation.matched.filter(
      (verdict) =>
        verdict.enforcement === "Enforce" &&
        (needsApproval(verdict, risk.score, deps) || openFreeze(verdict.freezeWindows, deps.now()) !== undefined),
    );
    if (blocking.length > 0)
      return admitByBreakGlass(admission, change, deps, warnings, { breakGlass, blocking, risk });
  }
  const frozen = freezeOf(evaluation, deps.now());
  if (frozen) {
    await recordDecision(deps, admission, change, { allowed: false, reason: DecisionReason.Frozen });
    return deny(
      admission.uid,
      `aegis: ${describeTarget(request)} change ${shortChangeHash(changeHash)} is frozen by policy ${frozen.policy}: freeze window ${frozen.freeze.label} is open until ${describeEnd(frozen.freeze)}; changes are admitted again after it (approvals do not lift a freeze)`,
      withWarnings(warnings, { "aegis.valina.ai/decision": "frozen" }),
    );
  }
  return gateOnApproval(admission, change, deps, warnings, risk);
}

/** The evaluation once the namespace's approved, unexpired AegisExceptions have waived what they cover. */
function waiveByExceptions(
  evaluation: GateEvaluation,
  request: GateRequest,
  changeHash: string,
  deps: GateDependencies,
): { evaluation: GateEvaluation; waived: Waiver[] } {
  const candidates = deps.exceptions?.(request.namespace) ?? [];
  if (candidates.length === 0 || evaluation.matched.every((verdict) => verdict.violations.length === 0))
    return { evaluation, waived: [] };
  const active = activeExceptions(candidates, {
    approval: (name, namespace) => deps.approvalRequests.get(name, namespace),
    policies: deps.policies,
    extraApprovals: deps.extraApprovals(),
    now: deps.now(),
  });
  const labels = (request.object["metadata"] as { labels?: Record<string, string> } | undefined)?.labels ?? {};
  return applyExceptions(evaluation, active, {
    kind: request.kind,
    namespace: request.namespace,
    name: approvalTargetName(request),
    labels,
    changeHash: () => changeHash,
  });
}

function approvalsIn(namespace: string, deps: GateDependencies): readonly ApprovalRequest[] {
  return deps.approvalsIn
    ? deps.approvalsIn(namespace)
    : deps.approvalRequests.list().filter((request) => request.metadata.namespace === namespace);
}

interface BreakGlassPlan {
  breakGlass: string;
  /** The Enforce policies that would stop this change now (approval or freeze). */
  blocking: readonly PolicyVerdict[];
  risk: GateRisk;
}

/**
 * Break-glass: admitted at once when every policy that would stop the change lets the caller's
 * (authenticated) groups break glass and the annotation gives a reason; the checks have already
 * passed, so break-glass never skips them. AEGIS opens a request in ReviewRequired for approvers
 * to review, records the decision and warns the caller; anything short of that is denied.
 */
async function admitByBreakGlass(
  admission: AdmissionRequest,
  change: Change,
  deps: GateDependencies,
  warnings: string[],
  plan: BreakGlassPlan,
): Promise<AdmissionResponse> {
  const { request } = change;
  const { username, groups } = admission.userInfo;
  const refusals = plan.blocking.flatMap((verdict) => {
    const allowed = verdict.approval?.breakGlass?.groups;
    if (!allowed) return [`policy ${verdict.policy} allows no break-glass`];
    return groups.some((group) => allowed.includes(group))
      ? []
      : [`${username} is in none of policy ${verdict.policy}'s break-glass groups (${allowed.join(", ")})`];
  });
  if (plan.breakGlass === "") {
    refusals.unshift(
      `the annotation ${BREAK_GLASS_ANNOTATION} needs a reason and a ticket, e.g. "INC-123: checkout down"`,
    );
  }
  if (refusals.length > 0) {
    await recordDecision(deps, admission, change, {
      allowed: false,
      reason: DecisionReason.BreakGlassRefused,
      risk: plan.risk,
    });
    return deny(
      admission.uid,
      `aegis: break-glass refused for ${describeTarget(request)}: ${refusals.join("; ")}. Remove the annotation to ask for approval instead`,
      withWarnings(warnings, { "aegis.valina.ai/decision": "break-glass-refused" }),
    );
  }
  const name = approvalRequestName(`breakglass-${request.kind}`, approvalTargetName(request), change.changeHash);
  const reviewWithin = shortestDuration(
    plan.blocking.map((verdict) => verdict.approval?.breakGlass?.reviewWithin ?? "24h"),
    "24h",
  );
  if (!admission.dryRun) {
    const review = buildApprovalRequest(admission, change, {
      name,
      existing: undefined,
      state: null,
      stale: false,
      needing: [...plan.blocking],
      risk: plan.risk,
    });
    review.spec.breakGlass = { user: username, reason: plan.breakGlass, at: deps.now().toISOString(), reviewWithin };
    review.metadata.labels = { ...review.metadata.labels, "aegis.valina.ai/break-glass": "true" };
    await deps.requestWriter.create(review);
  }
  await recordDecision(deps, admission, change, {
    allowed: true,
    reason: DecisionReason.BreakGlass,
    risk: plan.risk,
    approvalRequest: name,
    breakGlass: plan.breakGlass,
  });
  return allow(
    admission.uid,
    withWarnings(
      [
        ...warnings,
        `aegis: admitted by BREAK-GLASS (${plan.breakGlass}); approvers must review ApprovalRequest ${request.namespace}/${name} within ${reviewWithin}: kubectl aegis describe ${name} -n ${request.namespace}`,
      ],
      { "aegis.valina.ai/decision": "break-glass", "aegis.valina.ai/approval-request": name },
    ),
  );
}

/** The open freeze of an Enforce policy that gates this change, the one that closes last. */
function freezeOf(evaluation: GateEvaluation, now: Date): { policy: string; freeze: OpenFreeze } | undefined {
  let found: { policy: string; freeze: OpenFreeze } | undefined;
  for (const verdict of evaluation.matched) {
    if (verdict.enforcement !== "Enforce") continue;
    const freeze = openFreeze(verdict.freezeWindows, now);
    if (freeze && (!found || freeze.endsAt > found.freeze.endsAt)) found = { policy: verdict.policy, freeze };
  }
  return found;
}

async function rollbackApprovedBefore(
  request: GateRequest,
  changeHash: string,
  deps: GateDependencies,
): Promise<boolean> {
  if (request.operation !== "UPDATE" || request.kind !== "Deployment" || !deps.approvedBefore) return false;
  return deps.approvedBefore({ kind: request.kind, namespace: request.namespace, name: request.name }, changeHash);
}

/**
 * Where a RiskBased policy decides by the score, an UPDATE is scored against the spec humans last
 * approved for the workload (its ApprovalRequest's changeSpec), not the object it replaces: ten
 * small auto-approved steps score as the one large change they add up to. Without an approved
 * spec, against the object it replaces.
 */
function riskOf(request: GateRequest, evaluation: GateEvaluation, deps: GateDependencies): GateRisk {
  const decidesByRisk = evaluation.matched.some((verdict) => verdict.approval?.mode === "RiskBased");
  const history = decidesByRisk ? approvalsIn(request.namespace, deps) : [];
  const baseline =
    decidesByRisk && request.oldObject !== null
      ? lastApprovedSpec(history, {
          kind: request.kind,
          namespace: request.namespace,
          name: approvalTargetName(request),
        })
      : undefined;
  // The namespace's approved history: who asked for approved changes and which images they ran.
  // A workload with no approved version of its own meets it for new-registry too (even on CREATE).
  const approved = decidesByRisk ? approvedHistoryOf(history) : undefined;
  const detected = scoreRisk({
    operation: request.operation,
    kind: request.kind,
    object: request.object,
    oldObject: baseline === undefined ? request.oldObject : { ...request.oldObject, spec: baseline },
    namespaceLabels: request.namespaceLabels,
    now: deps.now(),
    requester: request.user.username,
    ...(approved ? { approvedHistory: approved } : {}),
    ...(approved && baseline === undefined ? { knownRegistries: approved.sources } : {}),
  });
  const inForce = deps.riskModel?.();
  if (!inForce) return { ...detected, model: "v1" };
  // v1's detectors find the factors and explain them; the learned weights decide what they add up to.
  const scored = scoreWithModel(inForce.model, detected.factors);
  return { score: scored.score, factors: scored.factors, model: inForce.version, probability: scored.probability };
}

async function gateOnApproval(
  admission: AdmissionRequest,
  change: Change,
  deps: GateDependencies,
  warnings: string[],
  scored: GateRisk,
): Promise<AdmissionResponse> {
  const { request } = change;
  const needing = change.evaluation.matched.filter((verdict) => needsApproval(verdict, scored.score, deps));
  if (needing.length === 0) {
    await recordDecision(deps, admission, change, { allowed: true, reason: DecisionReason.ChecksPassed, risk: scored });
    return allow(admission.uid, withWarnings(warnings, { "aegis.valina.ai/decision": "allowed" }));
  }
  // Shadow mode: the score would have admitted it; a human decides, and how they decide is counted.
  const risk = onlyShadowAsks(needing, scored.score, deps) ? { ...scored, shadowAutoApprove: true } : scored;
  const name = approvalRequestName(request.kind, approvalTargetName(request), change.changeHash);
  const existing = deps.approvalRequests.get(name, request.namespace);
  const policies = requestPoliciesOf(
    deps.policies,
    needing.map((v) => v.policy),
    deps.extraApprovals(),
  );
  const current = existing && matchesChange(existing, request, change.changeHash) ? existing : undefined;
  const computed = current
    ? computeApprovalState(current.spec, requestCreatedAt(current.metadata, deps.now()), policies, deps.now())
    : null;
  // Approvals count only for the policies they were given under: a policy that applies now and
  // is not among the request's needs its approvers too, so the request is replaced.
  const stale =
    current !== undefined &&
    computed?.phase !== "Rejected" &&
    !needing.every((verdict) => current.spec.policies.includes(verdict.policy));
  let state = stale ? null : computed;
  if (current && state?.phase === "Approved" && isSingleUse(policies) && !admission.dryRun) {
    state = await useApproval(current, admission, policies, deps);
  }

  const gitOps = admission.dryRun ? undefined : await gitOpsSourceOf(request, deps);
  if (existing && state?.phase === "Approved") {
    await recordDecision(deps, admission, change, {
      allowed: true,
      reason: DecisionReason.Approved,
      risk,
      approvalRequest: name,
      approvers: state.approvers,
      ...(gitOps ? { gitOps } : {}),
    });
    return allow(
      admission.uid,
      withWarnings(warnings, { "aegis.valina.ai/decision": "approved", "aegis.valina.ai/approval-request": name }),
    );
  }
  const phase = await ensurePendingRequest(admission, change, deps, {
    name,
    existing,
    state,
    stale,
    needing,
    risk,
    ...(gitOps ? { gitOps } : {}),
  });
  // A request made just now (or replaced) has no decisions yet: it stands where an empty one would.
  const standing =
    state && phase === "Pending" && state.phase === "Pending"
      ? state
      : computeApprovalState({ decisions: [] }, deps.now(), policies, deps.now());
  // Denied again against the same request, still Pending or Rejected: nothing new to record.
  const repeats =
    current?.metadata.uid && !stale && (phase === "Pending" || phase === "Rejected") && state?.phase === phase
      ? current.metadata.uid
      : undefined;
  await recordDecision(deps, admission, change, {
    allowed: false,
    reason: DENIAL_REASON[phase],
    risk,
    approvalRequest: name,
    ...(gitOps ? { gitOps } : {}),
    ...(repeats && !admission.dryRun ? { retryOf: repeats } : {}),
  });
  const message = denialMessage({
    request,
    changeHash: change.changeHash,
    needing,
    risk,
    name,
    phase,
    required: standing.requiredApprovals,
    missing: standing.approvals > 0 || standing.quorum.length > 0 ? standing.missing : [],
  });
  return deny(
    admission.uid,
    message,
    withWarnings(warnings, { "aegis.valina.ai/decision": "needs-approval", "aegis.valina.ai/approval-request": name }),
  );
}

/**
 * Uses up a singleUse approval before admitting: AEGIS appends its Consume to exactly the version
 * it judged Approved, so of two admissions racing for one approval only one wins. On a conflict
 * (a decision, a notification mark, the other admission) it judges the API server's current
 * version again. Returns the state to admit or deny by: Approved only if this admission used it.
 */
async function useApproval(
  request: ApprovalRequest,
  admission: AdmissionRequest,
  policies: RequestPolicies,
  deps: GateDependencies,
): Promise<ApprovalState | null> {
  let current = request;
  for (let attempt = 0; ; attempt++) {
    const state = computeApprovalState(
      current.spec,
      requestCreatedAt(current.metadata, deps.now()),
      policies,
      deps.now(),
    );
    if (state.phase !== "Approved") return state;
    // Still Approved after three lost races: deny rather than admit without having used it.
    if (attempt === 3) return { ...state, phase: "Pending" };
    const outcome = await deps.requestWriter.consume(current, {
      user: deps.aegisUsername,
      decision: "Consume",
      comment: `singleUse approval used by ${admission.operation} ${admission.uid} from ${admission.userInfo.username}`,
      at: deps.now().toISOString(),
      via: "admission",
    });
    if (outcome === "consumed") return state;
    const { namespace = "", name = "" } = current.metadata;
    const fresh = await deps.requestWriter.read(namespace, name);
    if (!fresh) return null;
    current = fresh;
  }
}

interface PendingPlan {
  name: string;
  existing: ApprovalRequest | undefined;
  state: ApprovalState | null;
  /** The existing request was made under fewer policies than apply now. */
  stale: boolean;
  needing: PolicyVerdict[];
  risk: GateRisk;
  /** The Argo CD Application that applies the change, and the commit it syncs. */
  gitOps?: GitOpsSource;
}

/** The Argo CD Application applying a change and the commit its sync names (git annotations). */
interface GitOpsSource {
  application: string;
  annotations: Record<string, string>;
  /** Why the Application could not be read, when it could not (the decision does not depend on it). */
  error?: string;
}

/**
 * The commit an Argo CD sync applies, read from its Application (tracking label or annotation on
 * the object), for a change that names no commit of its own: evidence and the ApprovalRequest
 * then name it, and GitHub commit statuses follow without aegis.valina.ai/git-* annotations.
 */
async function gitOpsSourceOf(request: GateRequest, deps: GateDependencies): Promise<GitOpsSource | undefined> {
  const application = argoCdApplicationOf(request.object);
  if (!application || !deps.argoCdNamespace || !deps.workloads) return undefined;
  if (gitAnnotationsOf(request.object)[GIT_COMMIT_ANNOTATION]) return undefined;
  try {
    const found = await deps.workloads.get(ARGOCD_APPLICATIONS, deps.argoCdNamespace, application);
    return { application: `${deps.argoCdNamespace}/${application}`, annotations: argoCdCommitAnnotations(found) };
  } catch (error) {
    return {
      application: `${deps.argoCdNamespace}/${application}`,
      annotations: {},
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

const ARGOCD_APPLICATIONS = { group: "argoproj.io", version: "v1alpha1", resource: "applications" };

/** Makes sure a Pending request exists for this change (never on dryRun); says where it stands. */
async function ensurePendingRequest(
  admission: AdmissionRequest,
  change: Change,
  deps: GateDependencies,
  plan: PendingPlan,
): Promise<RequestOutcome> {
  if (plan.state?.phase === "Rejected") return "Rejected";
  if (admission.dryRun) {
    if (!plan.state) return "NotCreated";
    return plan.state.phase === "Expired" || plan.state.phase === "Used" ? plan.state.phase : "Pending";
  }
  const fresh = buildApprovalRequest(admission, change, plan);
  if (plan.existing && (plan.stale || plan.state?.phase === "Expired" || plan.state?.phase === "Used")) {
    await deps.requestWriter.replace(plan.existing, fresh);
  } else if (!plan.existing) {
    await deps.requestWriter.create(fresh);
  }
  return "Pending";
}

function buildApprovalRequest(admission: AdmissionRequest, change: Change, plan: PendingPlan): ApprovalRequest {
  const { request } = change;
  const argoCd = argoCdTrackingOf(request.object, { namespace: request.namespace, name: plan.name });
  return {
    apiVersion: API_VERSION,
    kind: "ApprovalRequest",
    metadata: {
      name: plan.name,
      namespace: request.namespace,
      annotations: { ...plan.gitOps?.annotations, ...gitAnnotationsOf(request.object), ...argoCd.annotations },
      labels: {
        ...argoCd.labels,
        "app.kubernetes.io/managed-by": "aegis",
        "aegis.valina.ai/target-kind": request.kind.toLowerCase(),
        "aegis.valina.ai/target-name": approvalTargetName(request)
          .slice(0, 63)
          .replace(/[^A-Za-z0-9]+$/, ""),
      },
    },
    spec: {
      target: {
        apiVersion: request.apiVersion,
        kind: request.kind,
        namespace: request.namespace,
        name: approvalTargetName(request),
      },
      changeHash: change.changeHash,
      policies: plan.needing.map((verdict) => verdict.policy),
      requester: { username: admission.userInfo.username, groups: admission.userInfo.groups },
      risk: {
        score: plan.risk.score,
        factors: [...plan.risk.factors],
        model: plan.risk.model,
        ...(plan.risk.probability !== undefined ? { probability: plan.risk.probability } : {}),
        ...(plan.risk.shadowAutoApprove ? { shadowAutoApprove: true } : {}),
      },
      summary: summarizeChange(request.kind, request.oldObject, request.object),
      reason: annotationOf(request.object, REASON_ANNOTATION) ?? "",
      decisions: [],
      ...changeSpecOf(request.object),
    },
  };
}

const MAX_CHANGE_SPEC = 65_536;

/** The object's spec as RFC 8785 JSON for `spec.changeSpec`, left out when too large to keep. */
function changeSpecOf(object: Record<string, unknown>): { changeSpec?: string } {
  const text = canonicalJson(toJsonValue(object["spec"]) ?? {});
  return text.length <= MAX_CHANGE_SPEC ? { changeSpec: text } : {};
}

function needsApproval(verdict: PolicyVerdict, riskScore: number, deps: Pick<GateDependencies, "policies">): boolean {
  const approval: ApprovalSettings | undefined = verdict.approval;
  if (verdict.enforcement !== "Enforce" || !approval) return false;
  if (approval.mode === "Always") return true;
  if (approval.mode === "RiskBased") return riskBandOf(approval, riskScore) !== "auto" || inShadowMode(verdict, deps);
  return false;
}

/** A RiskBased policy in shadow mode (spec.risk.shadow, default true) asks a human even below autoApproveBelow. */
function inShadowMode(verdict: PolicyVerdict, deps: Pick<GateDependencies, "policies">): boolean {
  return verdict.approval?.mode === "RiskBased" && deps.policies.get(verdict.policy)?.spec.risk?.shadow !== false;
}

/**
 * Whether only shadow mode asks a human for this change: every policy asking is RiskBased, in
 * shadow mode, and the score is below its autoApproveBelow.
 */
function onlyShadowAsks(
  needing: readonly PolicyVerdict[],
  riskScore: number,
  deps: Pick<GateDependencies, "policies">,
): boolean {
  return (
    needing.length > 0 &&
    needing.every(
      (verdict) =>
        verdict.approval?.mode === "RiskBased" &&
        inShadowMode(verdict, deps) &&
        riskBandOf(verdict.approval, riskScore) === "auto",
    )
  );
}

function riskTooHighText(verdict: PolicyVerdict, risk: GateRisk): string {
  const factors = risk.factors.map((factor) => `${factor.name} +${factor.points}`).join(", ");
  return `risk ${risk.score}/100 is above blockAbove ${verdict.approval?.blockAbove ?? 100} of policy ${verdict.policy}${factors ? ` (${factors})` : ""}`;
}

interface DenialParts {
  request: GateRequest;
  changeHash: string;
  needing: readonly PolicyVerdict[];
  risk: GateRisk;
  name: string;
  phase: RequestOutcome;
  required: number;
  /** What approval still lacks; said only once someone approved or a quorum applies. */
  missing?: readonly string[];
}

/** The DESIGN §3 denial: names the request and the command that approves it. */
export function denialMessage(parts: DenialParts): string {
  const { request, name } = parts;
  const factors = parts.risk.factors.map((factor) => `${factor.name} +${factor.points}`).join(", ");
  const policyWord = parts.needing.length === 1 ? "policy" : "policies";
  const why = `${policyWord} ${parts.needing.map((v) => v.policy).join(", ")}, risk ${parts.risk.score}/100${factors ? `: ${factors}` : ""}`;
  const shadow = parts.risk.shadowAutoApprove
    ? "; shadow mode: below autoApproveBelow, a human decides while risk is measured"
    : "";
  const head = `aegis: ${request.kind} ${request.namespace}/${request.name} change ${shortChangeHash(parts.changeHash)} needs ${parts.required} approval${parts.required === 1 ? "" : "s"} (${why}${shadow}).`;
  if (parts.phase === "NotCreated") {
    return `${head} ApprovalRequest ${request.namespace}/${name} was not created (dry run); apply without --dry-run to request approval`;
  }
  if (parts.phase === "Used") {
    return `${head} ApprovalRequest ${request.namespace}/${name} was Used: its singleUse approval admitted this change once; apply without --dry-run to request a new approval`;
  }
  if (parts.phase === "Rejected") {
    return `${head} ApprovalRequest ${request.namespace}/${name} was Rejected; change the spec to request a new approval, see: kubectl aegis describe ${name} -n ${request.namespace}`;
  }
  const missing = parts.missing?.length ? ` (still missing: ${parts.missing.join(", ")})` : "";
  return `${head} ApprovalRequest ${request.namespace}/${name} is ${parts.phase}${missing}; approve with: kubectl aegis approve ${name} -n ${request.namespace}`;
}

/** The change's risk score and factors; shadowAutoApprove when only shadow mode asks a human. */
interface GateRisk {
  score: number;
  factors: readonly RiskFactor[];
  /** The model that scored it: a learned version (`v2-…`) or "v1". */
  model: string;
  /** The model's probability that a human rejects the change (learned models only). */
  probability?: number;
  shadowAutoApprove?: boolean;
}

interface DecisionFacts {
  allowed: boolean;
  reason: DecisionReason;
  risk?: GateRisk;
  approvalRequest?: string;
  approvers?: readonly string[];
  /** The break-glass annotation's reason, when break-glass admitted the change. */
  breakGlass?: string;
  /** The Argo CD Application that applies the change and the commit it syncs. */
  gitOps?: GitOpsSource;
  /**
   * The uid of the request a denial repeats (the same change, user and outcome while it stays
   * Pending or Rejected): a GitOps engine retrying a sync is recorded once per request, not once
   * per attempt; the attempts are counted in aegis_policy_decisions_total.
   */
  retryOf?: string;
}

async function recordDecision(
  deps: GateDependencies,
  admission: AdmissionRequest,
  change: Change,
  facts: DecisionFacts,
): Promise<void> {
  const { request, evaluation } = change;
  await deps.evidence.record({
    ...(facts.retryOf ? { id: `retried-denial:${facts.retryOf}:${admission.userInfo.username}:${facts.reason}` } : {}),
    type: "admission.decision",
    subject: `${request.kind}/${request.namespace}/${request.name}`,
    actor: admission.userInfo.username,
    data: {
      uid: admission.uid,
      operation: request.operation,
      groups: admission.userInfo.groups,
      changeHash: change.changeHash,
      dryRun: admission.dryRun,
      ...facts,
      policies: evaluation.matched.map((verdict) => ({
        name: verdict.policy,
        specHash: verdict.specHash,
        enforcement: verdict.enforcement,
      })),
      violations: evaluation.denied.map(formatViolation),
      warnings: evaluation.warnings.map(formatViolation),
      ...(change.waived.length > 0 ? { exceptions: change.waived } : {}),
    },
  });
  deps.onDecision?.({
    at: deps.now(),
    user: admission.userInfo.username,
    groups: admission.userInfo.groups,
    namespace: request.namespace,
    kind: request.kind,
    name: request.name,
    operation: request.operation,
    allowed: facts.allowed,
    reason: facts.reason,
    policies: evaluation.matched.map((verdict) => verdict.policy),
    violations: evaluation.denied,
    images: imagesOf(request),
    riskScore: facts.risk?.score,
  });
}

function imagesOf(request: GateRequest): string[] {
  const template = podTemplateOf(request.kind, request.object);
  return template ? containersOf(template.spec).map((container) => container.image) : [];
}

/** The kinds behind the `scale` subresources the webhook sees. */
const SCALABLE: Readonly<Record<string, string>> = {
  deployments: "Deployment",
  statefulsets: "StatefulSet",
  replicasets: "ReplicaSet",
};

/**
 * What the gate evaluates. A `scale` request carries an autoscaling/v1 Scale; the checks run on
 * the workload as it would be after it (replicas changed). `ephemeralcontainers` carries the Pod.
 */
async function toGateRequest(admission: AdmissionRequest, deps: GateDependencies): Promise<GateRequest | null> {
  if (admission.operation !== "CREATE" && admission.operation !== "UPDATE") return null;
  if (admission.subResource === "scale") return scaleRequest(admission, deps);
  if (admission.subResource && admission.subResource !== "ephemeralcontainers") return null;
  const object = admission.object;
  if (!object) return null;
  const metadata = object.metadata as { name?: unknown; generateName?: unknown } | undefined;
  const generateName = typeof metadata?.generateName === "string" ? metadata.generateName : "";
  const name = admission.name || (typeof metadata?.name === "string" ? metadata.name : "") || generateName;
  const group = admission.kind.group;
  return {
    operation: admission.operation,
    kind: admission.kind.kind,
    apiVersion: group ? `${group}/${admission.kind.version}` : admission.kind.version,
    namespace: admission.namespace,
    name,
    object,
    oldObject: admission.operation === "UPDATE" ? (admission.oldObject ?? null) : null,
    user: { username: admission.userInfo.username, groups: admission.userInfo.groups },
    namespaceLabels: deps.namespaceLabels(admission.namespace),
  };
}

async function scaleRequest(admission: AdmissionRequest, deps: GateDependencies): Promise<GateRequest | null> {
  const kind = SCALABLE[admission.resource.resource];
  if (kind === undefined || admission.operation !== "UPDATE") return null;
  const { group, version, resource } = admission.resource;
  if (!deps.workloads)
    throw new Error(`cannot check ${kind} ${admission.namespace}/${admission.name} scale: no workload reader`);
  const current = await deps.workloads.get({ group, version, resource }, admission.namespace, admission.name);
  if (current === undefined) return null;
  const replicas = (admission.object?.["spec"] as { replicas?: unknown } | undefined)?.replicas;
  const spec = (current["spec"] ?? {}) as Record<string, unknown>;
  return {
    operation: "UPDATE",
    kind,
    apiVersion: group ? `${group}/${version}` : version,
    namespace: admission.namespace,
    name: admission.name,
    object: { ...current, spec: { ...spec, replicas } },
    oldObject: current,
    user: { username: admission.userInfo.username, groups: admission.userInfo.groups },
    namespaceLabels: deps.namespaceLabels(admission.namespace),
  };
}

function matchesChange(existing: ApprovalRequest, request: GateRequest, changeHash: string): boolean {
  const target = existing.spec.target;
  return (
    existing.spec.changeHash === changeHash &&
    target.kind === request.kind &&
    target.name === approvalTargetName(request) &&
    target.namespace === request.namespace
  );
}

/**
 * The name an approval is bound to: the object's name, or for a CREATE by `generateName` the
 * prefix (the API server picks a new name on each try, so the name cannot carry the approval).
 */
export function approvalTargetName(request: GateRequest): string {
  const generateName = (request.object["metadata"] as { generateName?: unknown } | undefined)?.generateName;
  if (request.operation === "CREATE" && typeof generateName === "string" && generateName !== "") return generateName;
  return request.name;
}

/** An annotation's value, or undefined when the object does not set it. */
function annotationOf(object: Record<string, unknown>, key: string): string | undefined {
  const annotations = (object.metadata as { annotations?: Record<string, unknown> } | undefined)?.annotations;
  const value = annotations?.[key];
  return typeof value === "string" ? value : undefined;
}

function describeTarget(request: GateRequest): string {
  return `${request.kind} ${request.namespace}/${request.name}`;
}

function withWarnings(
  warnings: string[],
  auditAnnotations: Record<string, string>,
): Omit<AdmissionResponse, "uid" | "allowed"> {
  return warnings.length > 0 ? { warnings, auditAnnotations } : { auditAnnotations };
}
