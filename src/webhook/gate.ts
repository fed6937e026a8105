import type { ApprovalRequest, ApprovalSettings, RiskFactor } from "../api/v1alpha1/index.js";
import { API_VERSION } from "../api/v1alpha1/index.js";
import { gitAnnotationsOf } from "../api/git-reference.js";
import { computeApprovalState, requestCreatedAt, requestPoliciesOf, type ApprovalState } from "../approval/index.js";
import { approvalRequestName, computeChangeHash, shortChangeHash } from "../changehash/index.js";
import type { CompiledPolicy, GateEvaluation, GateRequest, PolicyVerdict, Violation } from "../policy/index.js";
import { containersOf, evaluate, formatViolation, podTemplateOf } from "../policy/index.js";
import type { EvidenceRecorder } from "../ports/evidence.js";
import { type ApprovalRequestWriter, type ObjectStore, type PolicySource } from "../ports/kube.js";
import { scoreRisk, summarizeChange } from "../risk/index.js";
import { allow, deny, type AdmissionRequest, type AdmissionResponse } from "./admission-review.js";

export const REASON_ANNOTATION = "aegis.valina.ai/reason";

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
  /** Denied on a dry run: the change needs approval, and no ApprovalRequest was created for it. */
  ApprovalNotCreated: "ApprovalNotCreated",
  /** AEGIS's own change (self-healing), admitted without approval. */
  AegisSelfHealing: "AegisSelfHealing",
} as const;
export type DecisionReason = (typeof DecisionReason)[keyof typeof DecisionReason];

/** Where the ApprovalRequest of a denied change stands after the gate made sure of it. */
type RequestOutcome = "Pending" | "Rejected" | "Expired" | "NotCreated";

const DENIAL_REASON: Readonly<Record<RequestOutcome, DecisionReason>> = {
  Pending: DecisionReason.ApprovalPending,
  Rejected: DecisionReason.ApprovalRejected,
  Expired: DecisionReason.ApprovalExpired,
  NotCreated: DecisionReason.ApprovalNotCreated,
};

export interface GateDependencies {
  policies: PolicySource<CompiledPolicy>;
  namespaceLabels: (namespace: string) => Record<string, string>;
  approvalRequests: ObjectStore<ApprovalRequest>;
  requestWriter: ApprovalRequestWriter;
  evidence: EvidenceRecorder;
  now: () => Date;
  /** AEGIS's own service account username: its self-healing patches pass without approval. */
  aegisUsername: string;
  /** Approvals added on top of minApprovals while lockdown is on. */
  extraApprovals: () => number;
  /** Told of every gated decision after its evidence is durable (metrics, threat detection). Must not throw. */
  onDecision?: (decision: GateDecision) => void;
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
}

/**
 * The admission gate for workloads (DESIGN §3): checks deny (Enforce) or warn (Audit); a change
 * that needs approval passes only when an Approved request for exactly its changeHash exists.
 */
export async function admitWorkload(admission: AdmissionRequest, deps: GateDependencies): Promise<AdmissionResponse> {
  const request = toGateRequest(admission, deps.namespaceLabels);
  if (request === null) return allow(admission.uid);
  if (admission.userInfo.username === deps.aegisUsername) {
    return admitOwnChange(admission, request, deps);
  }
  const changeHash = computeChangeHash(request.object);
  if (request.oldObject !== null && computeChangeHash(request.oldObject) === changeHash) {
    return allow(admission.uid); // scale, restart, label-only or unchanged re-apply: nothing new runs
  }
  const evaluation = evaluate(deps.policies.compiled(), request);
  if (evaluation.matched.length === 0) return allow(admission.uid);
  const change: Change = { request, changeHash, evaluation };
  const warnings = evaluation.warnings.map((violation) => `aegis (audit): ${formatViolation(violation)}`);

  if (evaluation.denied.length > 0) {
    const message = `aegis: ${describeTarget(request)} violates policy: ${evaluation.denied.map(formatViolation).join("; ")}`;
    await recordDecision(deps, admission, change, { allowed: false, reason: DecisionReason.PolicyViolation });
    return deny(admission.uid, message, withWarnings(warnings, { "aegis.valina.ai/decision": "denied-by-checks" }));
  }
  return gateOnApproval(admission, change, deps, warnings);
}

async function gateOnApproval(
  admission: AdmissionRequest,
  change: Change,
  deps: GateDependencies,
  warnings: string[],
): Promise<AdmissionResponse> {
  const { request } = change;
  const risk = scoreRisk({
    operation: request.operation,
    kind: request.kind,
    object: request.object,
    oldObject: request.oldObject,
    namespaceLabels: request.namespaceLabels,
    now: deps.now(),
  });
  const needing = change.evaluation.matched.filter((verdict) => needsApproval(verdict, risk.score));
  if (needing.length === 0) {
    await recordDecision(deps, admission, change, { allowed: true, reason: DecisionReason.ChecksPassed, risk });
    return allow(admission.uid, withWarnings(warnings, { "aegis.valina.ai/decision": "allowed" }));
  }
  const name = approvalRequestName(request.kind, request.name, change.changeHash);
  const existing = deps.approvalRequests.get(name, request.namespace);
  const policies = requestPoliciesOf(
    deps.policies,
    needing.map((v) => v.policy),
    deps.extraApprovals(),
  );
  const state =
    existing && matchesChange(existing, request, change.changeHash)
      ? computeApprovalState(existing.spec, requestCreatedAt(existing.metadata, deps.now()), policies, deps.now())
      : null;

  if (existing && state?.phase === "Approved") {
    await recordDecision(deps, admission, change, {
      allowed: true,
      reason: DecisionReason.Approved,
      risk,
      approvalRequest: name,
      approvers: state.approvers,
    });
    return allow(
      admission.uid,
      withWarnings(warnings, { "aegis.valina.ai/decision": "approved", "aegis.valina.ai/approval-request": name }),
    );
  }
  const phase = await ensurePendingRequest(admission, change, deps, { name, existing, state, needing, risk });
  await recordDecision(deps, admission, change, {
    allowed: false,
    reason: DENIAL_REASON[phase],
    risk,
    approvalRequest: name,
  });
  const message = denialMessage({
    request,
    changeHash: change.changeHash,
    needing,
    risk,
    name,
    phase,
    required: state?.requiredApprovals ?? requiredOf(needing, deps),
  });
  return deny(
    admission.uid,
    message,
    withWarnings(warnings, { "aegis.valina.ai/decision": "needs-approval", "aegis.valina.ai/approval-request": name }),
  );
}

interface PendingPlan {
  name: string;
  existing: ApprovalRequest | undefined;
  state: ApprovalState | null;
  needing: PolicyVerdict[];
  risk: { score: number; factors: readonly RiskFactor[] };
}

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
    return plan.state.phase === "Expired" ? "Expired" : "Pending";
  }
  const fresh = buildApprovalRequest(admission, change, plan);
  if (plan.existing && plan.state?.phase === "Expired") {
    await deps.requestWriter.replace(plan.existing, fresh);
  } else if (!plan.existing) {
    await deps.requestWriter.create(fresh);
  }
  return "Pending";
}

function buildApprovalRequest(admission: AdmissionRequest, change: Change, plan: PendingPlan): ApprovalRequest {
  const { request } = change;
  return {
    apiVersion: API_VERSION,
    kind: "ApprovalRequest",
    metadata: {
      name: plan.name,
      namespace: request.namespace,
      annotations: gitAnnotationsOf(request.object),
      labels: {
        "app.kubernetes.io/managed-by": "aegis",
        "aegis.valina.ai/target-kind": request.kind.toLowerCase(),
        "aegis.valina.ai/target-name": request.name.slice(0, 63).replace(/[^A-Za-z0-9]+$/, ""),
      },
    },
    spec: {
      target: { apiVersion: request.apiVersion, kind: request.kind, namespace: request.namespace, name: request.name },
      changeHash: change.changeHash,
      policies: plan.needing.map((verdict) => verdict.policy),
      requester: { username: admission.userInfo.username, groups: admission.userInfo.groups },
      risk: { score: plan.risk.score, factors: [...plan.risk.factors] },
      summary: summarizeChange(request.kind, request.oldObject, request.object),
      reason: annotationOf(request.object, REASON_ANNOTATION),
      decisions: [],
    },
  };
}

function needsApproval(verdict: PolicyVerdict, riskScore: number): boolean {
  const approval: ApprovalSettings | undefined = verdict.approval;
  if (verdict.enforcement !== "Enforce" || !approval) return false;
  if (approval.mode === "Always") return true;
  if (approval.mode === "RiskBased") return riskScore >= (approval.riskThreshold ?? 0);
  return false;
}

function requiredOf(needing: readonly PolicyVerdict[], deps: GateDependencies): number {
  return Math.max(1, ...needing.map((verdict) => verdict.approval?.minApprovals ?? 1)) + deps.extraApprovals();
}

interface DenialParts {
  request: GateRequest;
  changeHash: string;
  needing: readonly PolicyVerdict[];
  risk: { score: number; factors: readonly RiskFactor[] };
  name: string;
  phase: RequestOutcome;
  required: number;
}

/** The DESIGN §3 denial: names the request and the command that approves it. */
export function denialMessage(parts: DenialParts): string {
  const { request, name } = parts;
  const factors = parts.risk.factors.map((factor) => `${factor.name} +${factor.points}`).join(", ");
  const policyWord = parts.needing.length === 1 ? "policy" : "policies";
  const why = `${policyWord} ${parts.needing.map((v) => v.policy).join(", ")}, risk ${parts.risk.score}/100${factors ? `: ${factors}` : ""}`;
  const head = `aegis: ${request.kind} ${request.namespace}/${request.name} change ${shortChangeHash(parts.changeHash)} needs ${parts.required} approval${parts.required === 1 ? "" : "s"} (${why}).`;
  if (parts.phase === "NotCreated") {
    return `${head} ApprovalRequest ${request.namespace}/${name} was not created (dry run); apply without --dry-run to request approval`;
  }
  if (parts.phase === "Rejected") {
    return `${head} ApprovalRequest ${request.namespace}/${name} was Rejected; change the spec to request a new approval, see: kubectl aegis describe ${name} -n ${request.namespace}`;
  }
  return `${head} ApprovalRequest ${request.namespace}/${name} is ${parts.phase}; approve with: kubectl aegis approve ${name} -n ${request.namespace}`;
}

/** AEGIS's own changes (self-healing restarts and rollbacks) pass and are recorded. */
async function admitOwnChange(
  admission: AdmissionRequest,
  request: GateRequest,
  deps: GateDependencies,
): Promise<AdmissionResponse> {
  await deps.evidence.record({
    type: "admission.decision",
    subject: `${request.kind}/${request.namespace}/${request.name}`,
    actor: admission.userInfo.username,
    data: {
      uid: admission.uid,
      operation: request.operation,
      allowed: true,
      reason: DecisionReason.AegisSelfHealing,
      changeHash: computeChangeHash(request.object),
      dryRun: admission.dryRun,
    },
  });
  return allow(admission.uid, { auditAnnotations: { "aegis.valina.ai/decision": "aegis-self-healing" } });
}

interface DecisionFacts {
  allowed: boolean;
  reason: DecisionReason;
  risk?: { score: number; factors: readonly RiskFactor[] };
  approvalRequest?: string;
  approvers?: readonly string[];
}

async function recordDecision(
  deps: GateDependencies,
  admission: AdmissionRequest,
  change: Change,
  facts: DecisionFacts,
): Promise<void> {
  const { request, evaluation } = change;
  await deps.evidence.record({
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

function toGateRequest(
  admission: AdmissionRequest,
  namespaceLabels: (namespace: string) => Record<string, string>,
): GateRequest | null {
  if (admission.operation !== "CREATE" && admission.operation !== "UPDATE") return null;
  if (admission.subResource) return null;
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
    namespaceLabels: namespaceLabels(admission.namespace),
  };
}

function matchesChange(existing: ApprovalRequest, request: GateRequest, changeHash: string): boolean {
  const target = existing.spec.target;
  return (
    existing.spec.changeHash === changeHash &&
    target.kind === request.kind &&
    target.name === request.name &&
    target.namespace === request.namespace
  );
}

function annotationOf(object: Record<string, unknown>, key: string): string {
  const annotations = (object.metadata as { annotations?: Record<string, unknown> } | undefined)?.annotations;
  const value = annotations?.[key];
  return typeof value === "string" ? value : "";
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
