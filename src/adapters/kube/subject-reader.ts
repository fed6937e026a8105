// What `aegis evidence collect` reads from the cluster about one subject, with the collector's
// own credentials (never AEGIS's): the object as stored now and the Events about it.
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { isNotFound, kubeErrorMessage } from "./errors.js";

interface KindInfo {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

/** The kinds evidence records name as subjects (`Kind/namespace/name`, or `Kind/name` when cluster-scoped). */
export const SUBJECT_KINDS: Readonly<Record<string, KindInfo>> = {
  Deployment: { group: "apps", version: "v1", plural: "deployments", namespaced: true },
  StatefulSet: { group: "apps", version: "v1", plural: "statefulsets", namespaced: true },
  DaemonSet: { group: "apps", version: "v1", plural: "daemonsets", namespaced: true },
  ReplicaSet: { group: "apps", version: "v1", plural: "replicasets", namespaced: true },
  Job: { group: "batch", version: "v1", plural: "jobs", namespaced: true },
  CronJob: { group: "batch", version: "v1", plural: "cronjobs", namespaced: true },
  Pod: { group: "", version: "v1", plural: "pods", namespaced: true },
  ApprovalRequest: { group: "aegis.valina.ai", version: "v1alpha1", plural: "approvalrequests", namespaced: true },
  AegisPolicy: { group: "aegis.valina.ai", version: "v1alpha1", plural: "aegispolicies", namespaced: false },
};

export interface SubjectRef {
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly name: string;
}

/** The object now, or null when it does not exist. */
export async function readSubjectObject(
  kubeConfig: KubeConfig,
  subject: SubjectRef,
): Promise<Record<string, unknown> | null> {
  const info = SUBJECT_KINDS[subject.kind];
  if (info === undefined) throw new Error(`cannot read a ${subject.kind} from the cluster`);
  try {
    let object: unknown;
    if (info.group === "") {
      object = await kubeConfig
        .makeApiClient(CoreV1Api)
        .readNamespacedPod({ name: subject.name, namespace: subject.namespace ?? "" });
    } else if (info.namespaced) {
      object = await kubeConfig.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
        group: info.group,
        version: info.version,
        plural: info.plural,
        namespace: subject.namespace ?? "",
        name: subject.name,
      });
    } else {
      object = await kubeConfig
        .makeApiClient(CustomObjectsApi)
        .getClusterCustomObject({ group: info.group, version: info.version, plural: info.plural, name: subject.name });
    }
    return JSON.parse(JSON.stringify(object)) as Record<string, unknown>;
  } catch (error) {
    if (isNotFound(error)) return null;
    throw new Error(`reading ${subject.kind} ${subject.namespace ?? ""}/${subject.name}: ${kubeErrorMessage(error)}`, {
      cause: error,
    });
  }
}

/** Events whose involvedObject is the subject (namespaced subjects only: cluster ones have theirs in default). */
export async function listSubjectEvents(
  kubeConfig: KubeConfig,
  subject: SubjectRef,
): Promise<Record<string, unknown>[]> {
  const namespace = subject.namespace ?? "default";
  try {
    const list = await kubeConfig.makeApiClient(CoreV1Api).listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.kind=${subject.kind},involvedObject.name=${subject.name}`,
    });
    const events = JSON.parse(JSON.stringify(list.items)) as Record<string, unknown>[];
    return events.sort((a, b) => eventTime(a).localeCompare(eventTime(b)));
  } catch (error) {
    throw new Error(`listing Events about ${subject.kind} ${namespace}/${subject.name}: ${kubeErrorMessage(error)}`, {
      cause: error,
    });
  }
}

function eventTime(event: Record<string, unknown>): string {
  const time = event["lastTimestamp"] ?? event["eventTime"];
  return typeof time === "string" ? time : "";
}
