import type { JsonPatchOp } from "../api/json-patch.js";

/** Cache-backed reads of a namespace's workloads, as the API server returned them (raw JSON: hashing needs the exact shape). */
export interface RawWorkloadSource {
  deployment(namespace: string, name: string): unknown;
  deployments(namespace: string): readonly unknown[];
  /** StatefulSets, DaemonSets, Jobs and CronJobs (the audit judges them; self-healing does not). */
  otherWorkloads(namespace: string): readonly { kind: string; apiVersion: string; object: unknown }[];
  replicaSets(namespace: string): readonly unknown[];
  pods(namespace: string): readonly unknown[];
}

export type WriteOutcome = "done" | "conflict" | "gone";

export interface HealingEvent {
  /** Deterministic: the adapter names the Event after it, so creating it twice is harmless. */
  readonly id: string;
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
}

/** The object a healing write is about, with the preconditions the write carries. */
export interface ObjectVersionRef {
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
}

/** The writes of the healer; the Kubernetes adapter implements them. */
export interface WorkloadActions {
  /** A JSON patch whose first op tests metadata.resourceVersion; a failed test is a conflict. */
  patchDeployment(namespace: string, name: string, ops: readonly JsonPatchOp[]): Promise<WriteOutcome>;
  /** Deletes with uid and resourceVersion preconditions. */
  deletePod(namespace: string, pod: ObjectVersionRef): Promise<WriteOutcome>;
  emitEvent(deployment: ObjectVersionRef & { readonly namespace: string }, event: HealingEvent): Promise<void>;
}
