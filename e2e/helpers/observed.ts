// What the cluster's own components wrote, as a watch saw it: every status a pod's containers went
// through (the kubelet's restartCount, waiting and terminated reasons) and every condition a
// Deployment had (the Deployment controller's), with the field managers that wrote them. Status
// that changes for a moment (a container between two crashes, a condition a rollback clears) stays
// on record, so a test can show what an action was a reaction to.
import { Watch, type KubeConfig } from "@kubernetes/client-node";

export interface ObservedPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** The ReplicaSet that owns it. */
  readonly replicaSet: string | undefined;
  /** The highest restartCount of any of its containers. */
  restarts: number;
  /** Every `state.waiting.reason` seen (CrashLoopBackOff, ErrImagePull, …). */
  readonly waiting: Set<string>;
  /** Every termination seen, as `<reason> exit <code>` (`Error exit 1`, `OOMKilled exit 137`). */
  readonly terminated: Set<string>;
  /** Seen running and ready. */
  ready: boolean;
  /** The field managers that wrote its `status.containerStatuses`. */
  readonly containerStatusWriters: Set<string>;
}

export interface ObservedCondition {
  readonly namespace: string;
  readonly name: string;
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly lastTransitionTime: string;
  /** The field managers that wrote the object's `status.conditions` then. */
  readonly writers: readonly string[];
}

interface Meta {
  namespace?: string;
  name?: string;
  uid?: string;
  ownerReferences?: { kind: string; name: string }[];
  managedFields?: { manager?: string; fieldsV1?: Record<string, unknown> }[];
}

interface ContainerStatus {
  restartCount?: number;
  ready?: boolean;
  state?: ContainerState;
  lastState?: ContainerState;
}

interface ContainerState {
  waiting?: { reason?: string };
  running?: unknown;
  terminated?: { reason?: string; exitCode?: number };
}

interface Watched {
  metadata?: Meta;
  status?: {
    containerStatuses?: ContainerStatus[];
    conditions?: { type: string; status: string; reason?: string; lastTransitionTime?: string }[];
  };
}

/** Managers whose managed fields include the path (`f:status`, `f:containerStatuses`). */
function writersOf(meta: Meta | undefined, ...fieldPath: string[]): string[] {
  return (meta?.managedFields ?? []).flatMap((entry) => {
    let fields: unknown = entry.fieldsV1;
    for (const key of fieldPath) fields = (fields as Record<string, unknown> | undefined)?.[key];
    return fields !== undefined && entry.manager ? [entry.manager] : [];
  });
}

/** One watch that reconnects until stopped (the API server ends watches after a while). */
class Rewatch {
  private stopped = false;
  private controller: AbortController | undefined;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly path: string,
    private readonly labelSelector: string,
    private readonly onObject: (object: Watched) => void,
  ) {}

  async start(): Promise<void> {
    if (this.stopped) return;
    try {
      this.controller = await new Watch(this.kubeConfig).watch(
        this.path,
        { labelSelector: this.labelSelector },
        (_phase, object: Watched) => this.onObject(object),
        () => this.again(),
      );
    } catch {
      this.again();
    }
  }

  private again(): void {
    if (!this.stopped) setTimeout(() => void this.start(), 500);
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }
}

/** Watches the pods and Deployments carrying `labelSelector` in every namespace. */
export class ClusterObserver {
  private readonly pods = new Map<string, ObservedPod>();
  private readonly conditionsSeen: ObservedCondition[] = [];
  private readonly watches: Rewatch[];

  constructor(kubeConfig: KubeConfig, labelSelector: string) {
    this.watches = [
      new Rewatch(kubeConfig, "/api/v1/pods", labelSelector, (pod) => this.seePod(pod)),
      new Rewatch(kubeConfig, "/apis/apps/v1/deployments", labelSelector, (d) => this.seeDeployment(d)),
    ];
  }

  async start(): Promise<void> {
    await Promise.all(this.watches.map((watch) => watch.start()));
  }

  stop(): void {
    this.watches.forEach((watch) => watch.stop());
  }

  private seePod(pod: Watched): void {
    const meta = pod.metadata;
    if (!meta?.uid || !meta.name) return;
    const seen = this.pods.get(meta.uid) ?? {
      namespace: meta.namespace ?? "",
      name: meta.name,
      uid: meta.uid,
      replicaSet: meta.ownerReferences?.find((owner) => owner.kind === "ReplicaSet")?.name,
      restarts: 0,
      waiting: new Set<string>(),
      terminated: new Set<string>(),
      ready: false,
      containerStatusWriters: new Set<string>(),
    };
    this.pods.set(meta.uid, seen);
    for (const writer of writersOf(meta, "f:status", "f:containerStatuses")) seen.containerStatusWriters.add(writer);
    for (const container of pod.status?.containerStatuses ?? []) {
      seen.restarts = Math.max(seen.restarts, container.restartCount ?? 0);
      if (container.ready && container.state?.running) seen.ready = true;
      if (container.state?.waiting?.reason) seen.waiting.add(container.state.waiting.reason);
      for (const terminated of [container.state?.terminated, container.lastState?.terminated]) {
        if (terminated?.reason) seen.terminated.add(`${terminated.reason} exit ${terminated.exitCode ?? "?"}`);
      }
    }
  }

  private seeDeployment(deployment: Watched): void {
    const meta = deployment.metadata;
    const writers = writersOf(meta, "f:status", "f:conditions");
    for (const condition of deployment.status?.conditions ?? []) {
      const seen: ObservedCondition = {
        namespace: meta?.namespace ?? "",
        name: meta?.name ?? "",
        type: condition.type,
        status: condition.status,
        reason: condition.reason ?? "",
        lastTransitionTime: condition.lastTransitionTime ?? "",
        writers,
      };
      const known = this.conditionsSeen.some(
        (c) =>
          c.namespace === seen.namespace &&
          c.name === seen.name &&
          c.type === seen.type &&
          c.status === seen.status &&
          c.reason === seen.reason,
      );
      if (!known) this.conditionsSeen.push(seen);
    }
  }

  /** The pods seen in a namespace, in no particular order. */
  podsIn(namespace: string): ObservedPod[] {
    return [...this.pods.values()].filter((pod) => pod.namespace === namespace);
  }

  pod(namespace: string, name: string): ObservedPod | undefined {
    return this.podsIn(namespace).find((pod) => pod.name === name);
  }

  /** Each distinct (type, status, reason) a Deployment's conditions had, first sighting kept. */
  conditions(namespace: string, name: string): ObservedCondition[] {
    return this.conditionsSeen.filter((c) => c.namespace === namespace && c.name === name);
  }
}
