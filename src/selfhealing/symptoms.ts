// What is wrong with a Deployment, from its status and the pods of its current ReplicaSet only
// (pods of older ReplicaSets are on their way out and say nothing about the current template).
import type { HealingSettings, HealingTuning } from "./settings.js";
import { conditionOf, type DeploymentView, type PodView } from "./views.js";

export type SymptomKind = "CrashLoop" | "FailedRollout" | "Unavailable";

export interface Symptom {
  readonly kind: SymptomKind;
  readonly detail: string;
  /**
   * Containers (`pod/container`) of the crash-looping pods that the kernel OOM-killed last: they
   * need more memory (or less use of it), which is worth reporting whatever step is taken.
   */
  readonly oomKilled?: readonly string[];
}

export interface SymptomInput {
  readonly deployment: DeploymentView;
  /** Pods of the current ReplicaSet. */
  readonly pods: readonly PodView[];
  readonly settings: HealingSettings;
  readonly tuning: HealingTuning;
  readonly now: Date;
}

const CRASH_LOOP_REASON = "CrashLoopBackOff";
export const OOM_KILLED_REASON = "OOMKilled";

export function crashLoopingPods(pods: readonly PodView[], minRestarts: number): PodView[] {
  return pods.filter(
    (pod) =>
      pod.deletingSince === undefined &&
      (pod.restarts >= minRestarts || pod.waitingReasons.includes(CRASH_LOOP_REASON)),
  );
}

function olderThan(since: Date | undefined, now: Date, ms: number): boolean {
  return since !== undefined && now.getTime() - since.getTime() >= ms;
}

/** Terminating past their grace, lost with their node, or never ready: deleting them may help. */
export function stuckPods(pods: readonly PodView[], tuning: HealingTuning, now: Date): PodView[] {
  return pods.filter((pod) => {
    if (pod.deletingSince !== undefined) return olderThan(pod.deletingSince, now, tuning.stuckPodAfterMs);
    if (pod.phase === "Unknown") return true;
    return !pod.ready && pod.phase === "Pending" && olderThan(pod.createdAt, now, tuning.stuckPodAfterMs);
  });
}

function podSummary(pod: PodView): string {
  const facts = [
    `${pod.restarts} restarts`,
    ...(pod.waitingReasons.length ? [pod.waitingReasons.join("/")] : []),
    ...pod.terminations.map((t) => `last ${t.reason}${t.exitCode === undefined ? "" : ` exit ${t.exitCode}`}`),
  ];
  return `${pod.name} (${facts.join(", ")})`;
}

function crashLoop({ pods, settings }: SymptomInput): Symptom | undefined {
  const minRestarts = settings.restart?.minRestarts ?? 5;
  const looping = crashLoopingPods(pods, minRestarts);
  if (looping.length === 0) return undefined;
  const shown = looping.slice(0, 3).map(podSummary);
  const oomKilled = looping.flatMap((pod) =>
    pod.terminations.filter((t) => t.reason === OOM_KILLED_REASON).map((t) => `${pod.name}/${t.container}`),
  );
  const detail = `${looping.length} pod(s) crash-looping: ${shown.join(", ")}`;
  if (oomKilled.length === 0) return { kind: "CrashLoop", detail };
  return {
    kind: "CrashLoop",
    detail: `${detail}; OOMKilled by the kernel (over their memory limit): ${oomKilled.join(", ")}`,
    oomKilled,
  };
}

function failedRollout({ deployment }: SymptomInput): Symptom | undefined {
  const progressing = conditionOf(deployment, "Progressing");
  if (progressing?.status !== "False" || progressing.reason !== "ProgressDeadlineExceeded") return undefined;
  return {
    kind: "FailedRollout",
    detail: `rollout of generation ${deployment.generation} exceeded its progress deadline`,
  };
}

function unavailable({ deployment, tuning, now }: SymptomInput): Symptom | undefined {
  const available = conditionOf(deployment, "Available");
  if (
    deployment.replicas === 0 ||
    available?.status !== "False" ||
    !olderThan(available.since, now, tuning.unavailableAfterMs)
  )
    return undefined;
  const minutes = Math.round((now.getTime() - (available.since?.getTime() ?? now.getTime())) / 60_000);
  return {
    kind: "Unavailable",
    detail: `unavailable for ${minutes} min (${deployment.availableReplicas}/${deployment.replicas} available)`,
  };
}

/** Symptoms in the order they are treated: the first one drives the decision. */
export function detectSymptoms(input: SymptomInput): Symptom[] {
  return [crashLoop(input), failedRollout(input), unavailable(input)].filter(
    (symptom): symptom is Symptom => symptom !== undefined,
  );
}

/**
 * Rolled out and available, as `kubectl rollout status` judges it: what ends an episode. Old
 * ReplicaSets' pods must be gone too: during a rolling update they keep the Deployment available
 * (maxUnavailable) while every pod of the new template crash-loops between two restarts.
 */
export function isHealthy(deployment: DeploymentView): boolean {
  const available = conditionOf(deployment, "Available");
  return (
    deployment.observedGeneration >= deployment.generation &&
    deployment.updatedReplicas >= deployment.replicas &&
    deployment.totalReplicas <= deployment.updatedReplicas &&
    deployment.availableReplicas >= deployment.replicas &&
    available?.status !== "False"
  );
}
