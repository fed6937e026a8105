// Self-healing of Deployments governed by a policy with `spec.selfHealing` (DESIGN §2). The
// decision is pure (src/selfhealing); this file gathers its inputs from the caches, carries it
// out through resourceVersion-guarded writes, and announces each step exactly once: an Event
// (named after the step, so a replay is a 409), an evidence record (id from the step), a metric.
import type { CompiledPolicy } from "../policy/index.js";
import { policyMatches } from "../policy/index.js";
import type { EvidenceRecorder } from "../ports/evidence.js";
import type { PolicySource } from "../ports/kube.js";
import type { RawWorkloadSource, WorkloadActions } from "../ports/workloads.js";
import type { JsonPatchOp } from "../api/json-patch.js";
import {
  breakerOpen,
  currentReplicaSet,
  deploymentView,
  podView,
  replicaSetView,
  decideHealing,
  DEFAULT_HEALING_TUNING,
  entryId,
  healingSettingsOf,
  HISTORY_ANNOTATION,
  historyPatch,
  lastApprovedRevision,
  parseHistory,
  pruneHistory,
  replicaSetsOf,
  restartPatch,
  rollbackCandidates,
  rollbackPatch,
  detectSymptoms,
  isHealthy,
  type ApprovedChanges,
  type DeploymentView,
  type HealingDecision,
  type HealingSettings,
  type HealingTuning,
  type HistoryEntry,
  type PodView,
  type ReplicaSetView,
  type RevisionCandidate,
} from "../selfhealing/index.js";

/** Read-only, cache-backed views of a namespace's workloads. */
export interface WorkloadSource {
  deployment(namespace: string, name: string): DeploymentView | undefined;
  replicaSets(namespace: string): readonly ReplicaSetView[];
  pods(namespace: string): readonly PodView[];
}

/** The healer's views over the raw objects the caches hold; objects that cannot be read are left out. */
export function workloadViews(raw: RawWorkloadSource): WorkloadSource {
  const views = <T>(objects: readonly unknown[], view: (object: unknown) => T | undefined): T[] =>
    objects.flatMap((object) => view(object) ?? []);
  return {
    deployment: (namespace, name) => {
      const object = raw.deployment(namespace, name);
      return object === undefined ? undefined : deploymentView(object);
    },
    replicaSets: (namespace) => views(raw.replicaSets(namespace), replicaSetView),
    pods: (namespace) => views(raw.pods(namespace), podView),
  };
}

export interface HealingMetrics {
  inc(labels: { action: string; result: string }): void;
}

export interface SelfHealingDependencies {
  workloads: WorkloadSource;
  actions: WorkloadActions;
  policies: Pick<PolicySource<CompiledPolicy>, "compiled">;
  namespaceLabels: (namespace: string) => Record<string, string>;
  approved: ApprovedChanges;
  evidence: EvidenceRecorder;
  metrics: HealingMetrics;
  now: () => Date;
  actor: string;
  tuning?: HealingTuning;
  /** Told of each announced step (e.g. to publish a `selfhealing` bus hint). Must not throw. */
  onStep?: (step: { namespace: string; name: string; entry: HistoryEntry; dryRun: boolean }) => void;
  /** Step ids this process has announced: one Set per leadership term (a new leader re-announces, idempotently). */
  announced: Set<string>;
}

interface HealingContext {
  deps: SelfHealingDependencies;
  deployment: DeploymentView;
  settings: HealingSettings;
  history: HistoryEntry[];
  tuning: HealingTuning;
  now: Date;
  current: ReplicaSetView | undefined;
}

/** While a Deployment is unwell, look again this often even without events (time-based symptoms). */
const POLL_MS = 30_000;
const CONFLICT_RETRY_MS = 500;

/** The first policy by name that matches the Deployment and heals something. */
export function governingSettings(
  deployment: DeploymentView,
  deps: Pick<SelfHealingDependencies, "policies" | "namespaceLabels">,
): HealingSettings | undefined {
  const request = {
    kind: "Deployment",
    namespace: deployment.namespace,
    object: deployment.raw as Record<string, unknown>,
    user: { username: "", groups: [] },
    namespaceLabels: deps.namespaceLabels(deployment.namespace),
  };
  const policies = [...deps.policies.compiled()].sort((a, b) => a.name.localeCompare(b.name));
  for (const policy of policies) {
    const settings = policyMatches(policy, request) ? healingSettingsOf(policy.name, policy.spec) : undefined;
    if (settings) return settings;
  }
  return undefined;
}

/**
 * How many of the Deployments at `keys` ("namespace/name") a healing policy still governs and
 * whose circuit breaker is open (an `escalate` since the last `recovered` in their history): the
 * ones waiting for a human. Only Deployments carrying a history are matched against the policies.
 */
export function openBreakers(
  keys: readonly string[],
  deps: Pick<SelfHealingDependencies, "workloads" | "policies" | "namespaceLabels">,
): number {
  let open = 0;
  for (const key of keys) {
    const slash = key.indexOf("/");
    const deployment = deps.workloads.deployment(key.slice(0, slash), key.slice(slash + 1));
    const history = deployment?.annotations[HISTORY_ANNOTATION];
    if (!deployment || !history || !breakerOpen(parseHistory(history))) continue;
    if (governingSettings(deployment, deps)) open += 1;
  }
  return open;
}

/** Level-triggered: reads the Deployment's state, takes at most one step, says when to look again. */
export async function reconcileSelfHealing(
  key: string,
  deps: SelfHealingDependencies,
): Promise<{ requeueAfterMs?: number }> {
  const slash = key.indexOf("/");
  const deployment = deps.workloads.deployment(key.slice(0, slash), key.slice(slash + 1));
  if (!deployment) return {};
  const settings = governingSettings(deployment, deps);
  if (!settings) return {};
  const owned = replicaSetsOf(deployment, deps.workloads.replicaSets(deployment.namespace));
  const current = currentReplicaSet(deployment, owned);
  const pods = current ? deps.workloads.pods(deployment.namespace).filter((pod) => pod.ownerUid === current.uid) : [];
  const ctx: HealingContext = {
    deps,
    deployment,
    settings,
    history: parseHistory(deployment.annotations[HISTORY_ANNOTATION]),
    tuning: deps.tuning ?? DEFAULT_HEALING_TUNING,
    now: deps.now(),
    current,
  };
  await announceReplayed(ctx);
  const symptomatic = detectSymptoms({ deployment, pods, settings, tuning: ctx.tuning, now: ctx.now }).length > 0;
  const rollbackTarget = symptomatic ? await findRollbackTarget(deployment, owned, deps.approved) : undefined;
  const decision = decideHealing({
    deployment,
    pods,
    settings,
    tuning: ctx.tuning,
    history: ctx.history,
    rollbackTarget,
    now: ctx.now,
  });
  return carryOut(decision, ctx);
}

async function findRollbackTarget(
  deployment: DeploymentView,
  owned: readonly ReplicaSetView[],
  approved: ApprovedChanges,
): Promise<RevisionCandidate | undefined> {
  const candidates = rollbackCandidates(deployment, owned);
  if (candidates.length === 0) return undefined;
  const hashes = await approved.approvedAmong(
    { kind: "Deployment", namespace: deployment.namespace, name: deployment.name },
    candidates.map((c) => c.changeHash),
  );
  return lastApprovedRevision(candidates, hashes);
}

async function carryOut(decision: HealingDecision, ctx: HealingContext): Promise<{ requeueAfterMs?: number }> {
  switch (decision.kind) {
    case "none":
      return decision.why === "no symptom" && isHealthy(ctx.deployment) ? {} : { requeueAfterMs: POLL_MS };
    case "wait":
      return { requeueAfterMs: Math.max(100, decision.untilMs - ctx.now.getTime() + 50) };
    case "recover":
      return writeMark(ctx, { action: "recovered", at: ctx.now.toISOString(), reason: "Healthy" });
    case "escalate":
      if (ctx.settings.dryRun) return announceDryRun(ctx, decision.reason, "escalate", decision.message);
      return writeMark(
        ctx,
        { action: "escalate", at: ctx.now.toISOString(), reason: decision.reason, detail: decision.message },
        { symptom: decision.symptom },
      );
    case "act":
      if (ctx.settings.dryRun)
        return announceDryRun(ctx, decision.symptom.kind, decision.action, describeAction(decision));
      return act(decision, ctx);
  }
}

type ActDecision = Extract<HealingDecision, { kind: "act" }>;

function describeAction(decision: ActDecision): string {
  const target = decision.rollbackTo
    ? ` to revision ${decision.rollbackTo.replicaSet.revision} (${decision.rollbackTo.replicaSet.name}, approved change ${decision.rollbackTo.changeHash.slice(7, 17)})`
    : "";
  const pods = decision.pods ? ` ${decision.pods.map((pod) => pod.name).join(", ")}` : "";
  return `${decision.action}${target}${pods} because ${decision.symptom.kind}: ${decision.symptom.detail}`;
}

function patchFor(
  decision: ActDecision,
  ctx: HealingContext,
  history: readonly HistoryEntry[],
  at: string,
): readonly JsonPatchOp[] {
  if (decision.action === "restart") return restartPatch(ctx.deployment, history, at);
  if (decision.action === "rollback" && decision.rollbackTo)
    return rollbackPatch(ctx.deployment, decision.rollbackTo.replicaSet.template, history);
  return historyPatch(ctx.deployment, history);
}

async function act(decision: ActDecision, ctx: HealingContext): Promise<{ requeueAfterMs?: number }> {
  const at = ctx.now.toISOString();
  const entry: HistoryEntry = {
    action: decision.action,
    at,
    reason: decision.symptom.kind,
    detail: describeAction(decision),
  };
  const history = pruneHistory([...ctx.history, entry], ctx.now);
  const outcome = await ctx.deps.actions.patchDeployment(
    ctx.deployment.namespace,
    ctx.deployment.name,
    patchFor(decision, ctx, history, at),
  );
  if (outcome !== "done") return settleFailedWrite(ctx, decision.action, outcome);
  // Pods go only after the history claimed the step: a second leader's claim fails the rv test.
  for (const pod of decision.pods ?? []) await ctx.deps.actions.deletePod(ctx.deployment.namespace, pod);
  ctx.deps.metrics.inc({ action: decision.action, result: "done" });
  await announce(ctx, entry, actionFacts(decision));
  return { requeueAfterMs: POLL_MS };
}

function actionFacts(decision: ActDecision): Record<string, unknown> {
  return {
    symptom: decision.symptom,
    ...(decision.rollbackTo
      ? {
          rollbackTo: {
            replicaSet: decision.rollbackTo.replicaSet.name,
            revision: decision.rollbackTo.replicaSet.revision,
            changeHash: decision.rollbackTo.changeHash,
          },
        }
      : {}),
    ...(decision.pods ? { pods: decision.pods.map((pod) => pod.name) } : {}),
  };
}

function settleFailedWrite(
  ctx: HealingContext,
  action: string,
  outcome: "conflict" | "gone",
): { requeueAfterMs?: number } {
  ctx.deps.metrics.inc({ action, result: outcome });
  return outcome === "gone" ? {} : { requeueAfterMs: CONFLICT_RETRY_MS };
}

async function writeMark(
  ctx: HealingContext,
  entry: HistoryEntry,
  facts: Record<string, unknown> = {},
): Promise<{ requeueAfterMs?: number }> {
  const history = pruneHistory([...ctx.history, entry], ctx.now);
  const outcome = await ctx.deps.actions.patchDeployment(
    ctx.deployment.namespace,
    ctx.deployment.name,
    historyPatch(ctx.deployment, history),
  );
  if (outcome !== "done") return settleFailedWrite(ctx, entry.action, outcome);
  ctx.deps.metrics.inc({ action: entry.action, result: entry.action === "escalate" ? "breaker-open" : "done" });
  await announce(ctx, entry, facts);
  return {};
}

const EVENT_REASONS: Readonly<Record<HistoryEntry["action"], { reason: string; type: "Normal" | "Warning" }>> = {
  restart: { reason: "SelfHealingRestart", type: "Warning" },
  rollback: { reason: "SelfHealingRollback", type: "Warning" },
  "delete-pods": { reason: "SelfHealingDeletePods", type: "Warning" },
  escalate: { reason: "SelfHealingEscalated", type: "Warning" },
  recovered: { reason: "SelfHealingRecovered", type: "Normal" },
};

/** Evidence, then the Event; both keyed by the step's id so a replay records nothing new. */
async function announce(
  ctx: HealingContext,
  entry: HistoryEntry,
  facts: Record<string, unknown>,
  dryRun = false,
): Promise<void> {
  const { deployment, deps } = ctx;
  const id = dryRun ? `${entryId(deployment.uid, entry)}:dry-run` : entryId(deployment.uid, entry);
  const kind = EVENT_REASONS[entry.action];
  await deps.evidence.record({
    id,
    type: "selfhealing.action",
    subject: `Deployment/${deployment.namespace}/${deployment.name}`,
    actor: deps.actor,
    data: {
      action: entry.action,
      reason: entry.reason,
      detail: entry.detail ?? "",
      at: entry.at,
      dryRun,
      policy: ctx.settings.policy,
      resourceVersion: deployment.resourceVersion,
      generation: deployment.generation,
      replicaSet: ctx.current?.name ?? null,
      ...facts,
    },
  });
  const prefix = dryRun ? "[dry run] would " : "";
  await deps.actions.emitEvent(deployment, {
    id,
    type: kind.type,
    reason: kind.reason,
    message: `${prefix}${entry.action}: ${entry.detail ?? entry.reason} (policy ${ctx.settings.policy})`,
  });
  deps.announced.add(id);
  deps.onStep?.({ namespace: deployment.namespace, name: deployment.name, entry, dryRun });
}

/** Older steps were announced long ago (or their Events expired): replaying them would only add noise. */
const REPLAY_WINDOW_MS = 10 * 60_000;

/** A step written by a previous leader that died before announcing it is announced now. */
async function announceReplayed(ctx: HealingContext): Promise<void> {
  const last = ctx.history.at(-1);
  if (!last || ctx.deps.announced.has(entryId(ctx.deployment.uid, last))) return;
  if (ctx.now.getTime() - Date.parse(last.at) > REPLAY_WINDOW_MS) return;
  await announce(ctx, last, { replayed: true });
}

/** Dry run: the first step of the ladder is announced once per generation and template, nothing changes. */
async function announceDryRun(
  ctx: HealingContext,
  reason: string,
  action: HistoryEntry["action"],
  detail: string,
): Promise<{ requeueAfterMs?: number }> {
  const entry: HistoryEntry = {
    action,
    at: `g${ctx.deployment.generation}/${ctx.current?.name ?? "-"}`,
    reason,
    detail,
  };
  const id = `${entryId(ctx.deployment.uid, entry)}:dry-run`;
  if (!ctx.deps.announced.has(id)) {
    ctx.deps.metrics.inc({ action, result: "dry-run" });
    await announce(ctx, entry, {}, true);
  }
  return { requeueAfterMs: POLL_MS };
}
