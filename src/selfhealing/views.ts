// Read-only views of the Deployment, ReplicaSets and Pods the healer looks at. Objects come from
// raw watch JSON (times as strings) or from typed client-node lists (times as Date), so every
// reader accepts both and treats anything missing as absent.
import { arrayOf, asRecord, numberOf, recordAt, stringMapOf, stringOf, type JsonRecord } from "../json/read-json.js";

export interface ConditionView {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly since: Date | undefined;
}

export interface DeploymentView {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly generation: number;
  readonly observedGeneration: number;
  readonly replicas: number;
  /** `status.replicas`: the pods of every ReplicaSet, older ones included. */
  readonly totalReplicas: number;
  readonly updatedReplicas: number;
  readonly availableReplicas: number;
  readonly annotations: Readonly<Record<string, string>>;
  readonly conditions: readonly ConditionView[];
  /** The raw object, for hashing a synthetic spec and building patches. */
  readonly raw: JsonRecord;
}

export interface ReplicaSetView {
  readonly name: string;
  readonly uid: string;
  readonly ownerUid: string | undefined;
  /** `deployment.kubernetes.io/revision`; 0 when absent. */
  readonly revision: number;
  readonly template: JsonRecord;
}

/** How a container last stopped, as the kubelet reported it (`OOMKilled` when the kernel killed it). */
export interface TerminationView {
  readonly container: string;
  readonly reason: string;
  readonly exitCode: number | undefined;
}

export interface PodView {
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly ownerUid: string | undefined;
  readonly phase: string;
  readonly restarts: number;
  readonly waitingReasons: readonly string[];
  /** Each container's latest termination: `state.terminated`, else `lastState.terminated`. */
  readonly terminations: readonly TerminationView[];
  readonly ready: boolean;
  readonly createdAt: Date | undefined;
  readonly deletingSince: Date | undefined;
}

export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";

/** A time from JSON (RFC 3339 string) or from a typed client (Date); undefined otherwise. */
export function timeOf(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value !== "string") return undefined;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed;
}

function metadataOf(raw: unknown): JsonRecord {
  return recordAt(raw, "metadata") ?? {};
}

function controllerUid(raw: unknown): string | undefined {
  const owners = arrayOf(metadataOf(raw)["ownerReferences"]).map(asRecord);
  const controller = owners.find((owner) => owner?.["controller"] === true) ?? owners[0];
  return stringOf(controller?.["uid"]);
}

function conditionsOf(status: JsonRecord): ConditionView[] {
  return arrayOf(status["conditions"]).flatMap((entry) => {
    const condition = asRecord(entry);
    const type = stringOf(condition?.["type"]);
    if (!condition || !type) return [];
    return [
      {
        type,
        status: stringOf(condition["status"]) ?? "Unknown",
        reason: stringOf(condition["reason"]) ?? "",
        since: timeOf(condition["lastTransitionTime"]),
      },
    ];
  });
}

export function deploymentView(raw: unknown): DeploymentView | undefined {
  const object = asRecord(raw);
  const metadata = metadataOf(raw);
  const name = stringOf(metadata["name"]);
  if (!object || !name) return undefined;
  const status = recordAt(raw, "status") ?? {};
  return {
    namespace: stringOf(metadata["namespace"]) ?? "",
    name,
    uid: stringOf(metadata["uid"]) ?? "",
    resourceVersion: stringOf(metadata["resourceVersion"]) ?? "",
    generation: numberOf(metadata["generation"]) ?? 0,
    observedGeneration: numberOf(status["observedGeneration"]) ?? 0,
    replicas: numberOf(recordAt(raw, "spec")?.["replicas"]) ?? 1,
    totalReplicas: numberOf(status["replicas"]) ?? 0,
    updatedReplicas: numberOf(status["updatedReplicas"]) ?? 0,
    availableReplicas: numberOf(status["availableReplicas"]) ?? 0,
    annotations: stringMapOf(metadata["annotations"]),
    conditions: conditionsOf(status),
    raw: object,
  };
}

export function replicaSetView(raw: unknown): ReplicaSetView | undefined {
  const metadata = metadataOf(raw);
  const name = stringOf(metadata["name"]);
  if (!name) return undefined;
  const revision = Number(stringMapOf(metadata["annotations"])[REVISION_ANNOTATION] ?? "0");
  return {
    name,
    uid: stringOf(metadata["uid"]) ?? "",
    ownerUid: controllerUid(raw),
    revision: Number.isFinite(revision) ? revision : 0,
    template: recordAt(raw, "spec", "template") ?? {},
  };
}

interface ContainerFacts {
  restarts: number;
  waiting: string[];
  terminations: TerminationView[];
  ready: boolean;
}

function terminationOf(container: JsonRecord): TerminationView | undefined {
  const terminated = recordAt(container, "state", "terminated") ?? recordAt(container, "lastState", "terminated");
  const reason = stringOf(terminated?.["reason"]);
  if (!terminated || !reason) return undefined;
  return { container: stringOf(container["name"]) ?? "", reason, exitCode: numberOf(terminated["exitCode"]) };
}

function containerFacts(status: JsonRecord): ContainerFacts {
  const containers = arrayOf(status["containerStatuses"]).flatMap((entry) =>
    asRecord(entry) ? [asRecord(entry) as JsonRecord] : [],
  );
  return {
    restarts: Math.max(0, ...containers.map((c) => numberOf(c["restartCount"]) ?? 0)),
    waiting: containers.flatMap((c) => {
      const reason = stringOf(recordAt(c, "state", "waiting")?.["reason"]);
      return reason ? [reason] : [];
    }),
    terminations: containers.flatMap((c) => terminationOf(c) ?? []),
    ready: containers.length > 0 && containers.every((c) => c["ready"] === true),
  };
}

export function podView(raw: unknown): PodView | undefined {
  const metadata = metadataOf(raw);
  const name = stringOf(metadata["name"]);
  if (!name) return undefined;
  const status = recordAt(raw, "status") ?? {};
  const facts = containerFacts(status);
  return {
    name,
    uid: stringOf(metadata["uid"]) ?? "",
    resourceVersion: stringOf(metadata["resourceVersion"]) ?? "",
    ownerUid: controllerUid(raw),
    phase: stringOf(status["phase"]) ?? "Pending",
    restarts: facts.restarts,
    waitingReasons: facts.waiting,
    terminations: facts.terminations,
    ready: facts.ready,
    createdAt: timeOf(metadata["creationTimestamp"]),
    deletingSince: timeOf(metadata["deletionTimestamp"]),
  };
}

export function conditionOf(deployment: DeploymentView, type: string): ConditionView | undefined {
  return deployment.conditions.find((condition) => condition.type === type);
}
