import { arrayOf, asRecord, recordAt, stringOf, type JsonRecord } from "../json/read-json.js";

/** A pod template (or a bare Pod): metadata and spec, empty when the object has none. */
export interface PodTemplate {
  readonly metadata: JsonRecord;
  readonly spec: JsonRecord;
}

export type ContainerType = "container" | "initContainer" | "ephemeralContainer";

export interface ContainerRef {
  readonly type: ContainerType;
  /** The container's name, or `#<index>` when it has none. */
  readonly name: string;
  /** The image reference as written; "" when missing. */
  readonly image: string;
  readonly spec: JsonRecord;
}

/** Where each kind keeps its pod template, below the object's root. */
const TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Deployment: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
  Job: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
  Pod: [],
};

export function hasPodTemplate(kind: string): boolean {
  return Object.hasOwn(TEMPLATE_PATHS, kind);
}

/**
 * The pod template of a workload, or the Pod itself for kind Pod. Undefined for a kind that has
 * no pod template; a known kind whose template is missing gets an empty one.
 */
export function podTemplateOf(kind: string, object: unknown): PodTemplate | undefined {
  const path = Object.hasOwn(TEMPLATE_PATHS, kind) ? TEMPLATE_PATHS[kind] : undefined;
  if (path === undefined) return undefined;
  const template = path.length === 0 ? asRecord(object) : recordAt(object, ...path);
  return { metadata: asRecord(template?.["metadata"]) ?? {}, spec: asRecord(template?.["spec"]) ?? {} };
}

const CONTAINER_LISTS: readonly (readonly [ContainerType, string])[] = [
  ["container", "containers"],
  ["initContainer", "initContainers"],
  ["ephemeralContainer", "ephemeralContainers"],
];

function containerRefs(type: ContainerType, list: unknown): ContainerRef[] {
  return arrayOf(list).map((item, index) => {
    const spec = asRecord(item) ?? {};
    return { type, name: stringOf(spec["name"]) ?? `#${index}`, image: stringOf(spec["image"]) ?? "", spec };
  });
}

/** Containers, then init containers, then ephemeral containers of a pod spec. */
export function containersOf(podSpec: unknown): ContainerRef[] {
  const spec = asRecord(podSpec) ?? {};
  return CONTAINER_LISTS.flatMap(([type, field]) => containerRefs(type, spec[field]));
}

const CONTAINER_TYPE_LABELS: Readonly<Record<ContainerType, string>> = {
  container: "container",
  initContainer: "init container",
  ephemeralContainer: "ephemeral container",
};

/** `container "web"`, `init container "setup"`, as messages name containers. */
export function describeContainer(container: ContainerRef): string {
  return `${CONTAINER_TYPE_LABELS[container.type]} ${JSON.stringify(container.name)}`;
}

export interface OwnerRef {
  readonly kind: string;
  readonly name: string;
}

/** The ownerReference marked `controller: true`, as the object claims it (anyone may write one). */
export function controllerOwnerOf(object: unknown): OwnerRef | undefined {
  const ownerReferences = arrayOf(recordAt(object, "metadata")?.["ownerReferences"]);
  const owner = ownerReferences.map(asRecord).find((reference) => reference?.["controller"] === true);
  if (owner === undefined) return undefined;
  return { kind: stringOf(owner["kind"]) ?? "", name: stringOf(owner["name"]) ?? "" };
}
