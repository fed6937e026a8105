// Kubernetes I/O of the self-healing reconciler: informers for Deployments, ReplicaSets and Pods
// (raw JSON where hashing needs the API server's exact shape), guarded patches, precondition
// deletes and idempotent Events.
import { createHash } from "node:crypto";
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from "@kubernetes/client-node";
import type { JsonPatchOp } from "../../api/json-patch.js";
import type {
  HealingEvent,
  ObjectVersionRef,
  RawWorkloadSource,
  WorkloadActions,
  WriteOutcome,
} from "../../ports/workloads.js";
import { listWatchSource, ResilientInformer } from "../../runtime/informer.js";
import type { Logger } from "../../ports/logger.js";
import { isNotFound, kubeErrorMessage, statusCodeOf } from "./errors.js";
import { recordKubeEvent } from "./events.js";

const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);

export interface WorkloadCaches {
  source: RawWorkloadSource;
  informers: ResilientInformer<KubernetesObject>[];
  hasSynced(): boolean;
  /** Keys (`namespace/name`) of Deployments affected by a change of one of their objects. */
  onDeploymentChange(listener: (key: string) => void): void;
  /** Every Deployment in the cache (a new leadership term, a policy change). */
  deploymentKeys(): string[];
  /** The namespace of every Deployment, ReplicaSet and Pod that changed or went (for the audit). */
  onNamespaceChange(listener: (namespace: string) => void): void;
  /** Every namespace holding a cached workload. */
  namespaces(): string[];
}

function keyOf(object: KubernetesObject): string {
  return `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;
}

function controllerOwner(object: KubernetesObject, kind: string): string | undefined {
  return object.metadata?.ownerReferences?.find((owner) => owner.kind === kind && owner.controller !== false)?.name;
}

/** Informers over every namespace; Deployment and ReplicaSet lists stay raw JSON (exact hashing). */
export function createWorkloadCaches(kubeConfig: KubeConfig, logger: Logger): WorkloadCaches {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const listCluster = (group: string, plural: string) => async (): Promise<KubernetesListObject<KubernetesObject>> =>
    (await custom.listClusterCustomObject({
      group,
      version: "v1",
      plural,
    })) as KubernetesListObject<KubernetesObject>;
  const listApps = (plural: string) => listCluster("apps", plural);
  const informer = (
    name: string,
    path: string,
    list: () => Promise<KubernetesListObject<KubernetesObject>>,
  ): ResilientInformer<KubernetesObject> =>
    new ResilientInformer<KubernetesObject>({ name, source: listWatchSource({ kubeConfig, path, list }), logger });
  const deployments = informer("deployments", "/apis/apps/v1/deployments", listApps("deployments"));
  const replicaSets = informer("replicasets", "/apis/apps/v1/replicasets", listApps("replicasets"));
  const pods = informer("pods", "/api/v1/pods", async () => await core.listPodForAllNamespaces());
  const listeners: ((key: string) => void)[] = [];
  const emit = (key: string | undefined): void => {
    if (key !== undefined) listeners.forEach((listener) => listener(key));
  };
  const deploymentOfReplicaSet = (rs: KubernetesObject): string | undefined => {
    const owner = controllerOwner(rs, "Deployment");
    return owner ? `${rs.metadata?.namespace ?? ""}/${owner}` : undefined;
  };
  const deploymentOfPod = (pod: KubernetesObject): string | undefined => {
    const rsName = controllerOwner(pod, "ReplicaSet");
    const rs = rsName ? replicaSets.get(rsName, pod.metadata?.namespace) : undefined;
    return rs ? deploymentOfReplicaSet(rs) : undefined;
  };
  const on = (
    target: ResilientInformer<KubernetesObject>,
    map: (object: KubernetesObject) => string | undefined,
  ): void => {
    target.addEventHandler({ onChange: (object) => emit(map(object)), onDelete: (object) => emit(map(object)) });
  };
  on(deployments, keyOf);
  on(replicaSets, deploymentOfReplicaSet);
  on(pods, deploymentOfPod);
  // Judged by the background audit only.
  const audited = [
    {
      kind: "StatefulSet",
      apiVersion: "apps/v1",
      informer: informer("statefulsets", "/apis/apps/v1/statefulsets", listApps("statefulsets")),
    },
    {
      kind: "DaemonSet",
      apiVersion: "apps/v1",
      informer: informer("daemonsets", "/apis/apps/v1/daemonsets", listApps("daemonsets")),
    },
    {
      kind: "Job",
      apiVersion: "batch/v1",
      informer: informer("jobs", "/apis/batch/v1/jobs", listCluster("batch", "jobs")),
    },
    {
      kind: "CronJob",
      apiVersion: "batch/v1",
      informer: informer("cronjobs", "/apis/batch/v1/cronjobs", listCluster("batch", "cronjobs")),
    },
  ];
  const informers = [deployments, replicaSets, pods, ...audited.map((entry) => entry.informer)];
  const namespaceListeners: ((namespace: string) => void)[] = [];
  for (const target of informers) {
    const emitNamespace = (object: KubernetesObject): void => {
      const namespace = object.metadata?.namespace;
      if (namespace) namespaceListeners.forEach((listener) => listener(namespace));
    };
    target.addEventHandler({ onChange: emitNamespace, onDelete: emitNamespace });
  }
  return {
    source: {
      deployment: (namespace, name) => deployments.get(name, namespace),
      deployments: (namespace) => deployments.list(namespace),
      otherWorkloads: (namespace) =>
        audited.flatMap(({ kind, apiVersion, informer: source }) =>
          source.list(namespace).map((object) => ({ kind, apiVersion, object })),
        ),
      replicaSets: (namespace) => replicaSets.list(namespace),
      pods: (namespace) => pods.list(namespace),
    },
    informers,
    hasSynced: () => informers.every((i) => i.hasSynced()),
    onDeploymentChange: (listener) => listeners.push(listener),
    deploymentKeys: () => deployments.list().map(keyOf),
    onNamespaceChange: (listener) => namespaceListeners.push(listener),
    namespaces: () =>
      [...new Set(informers.flatMap((i) => i.list().map((object) => object.metadata?.namespace ?? "")))].filter(
        Boolean,
      ),
  };
}

/** A failed JSON-patch `test` is 422 (Invalid) on current API servers; 409 on some older ones. */
function isPreconditionFailure(error: unknown): boolean {
  const code = statusCodeOf(error);
  return code === 409 || code === 422;
}

/** Event name from the step id: the same step always makes the same Event. */
export function healingEventName(deploymentName: string, id: string): string {
  return `${deploymentName.slice(0, 200)}.aegis-${createHash("sha256").update(id).digest("hex").slice(0, 16)}`;
}

export class KubeWorkloadActions implements WorkloadActions {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;

  constructor(
    kubeConfig: KubeConfig,
    private readonly reportingInstance: string,
  ) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  async patchDeployment(namespace: string, name: string, ops: readonly JsonPatchOp[]): Promise<WriteOutcome> {
    try {
      await this.custom.patchNamespacedCustomObject(
        { group: "apps", version: "v1", namespace, plural: "deployments", name, body: ops },
        jsonPatch,
      );
      return "done";
    } catch (error) {
      if (isNotFound(error)) return "gone";
      if (isPreconditionFailure(error)) return "conflict";
      throw new Error(`patching Deployment ${namespace}/${name}: ${kubeErrorMessage(error)}`, { cause: error });
    }
  }

  async deletePod(namespace: string, pod: ObjectVersionRef): Promise<WriteOutcome> {
    try {
      await this.core.deleteNamespacedPod({
        namespace,
        name: pod.name,
        body: { preconditions: { uid: pod.uid, resourceVersion: pod.resourceVersion } },
      });
      return "done";
    } catch (error) {
      if (isNotFound(error)) return "gone";
      if (isPreconditionFailure(error)) return "conflict";
      throw new Error(`deleting Pod ${namespace}/${pod.name}: ${kubeErrorMessage(error)}`, { cause: error });
    }
  }

  async emitEvent(deployment: ObjectVersionRef & { readonly namespace: string }, event: HealingEvent): Promise<void> {
    const { namespace, name, uid } = deployment;
    await recordKubeEvent(this.core, {
      namespace,
      name: healingEventName(name, event.id),
      involvedObject: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        name,
        namespace,
        uid,
        resourceVersion: deployment.resourceVersion,
      },
      type: event.type,
      reason: event.reason,
      message: event.message,
      reportingInstance: this.reportingInstance,
    });
  }
}
