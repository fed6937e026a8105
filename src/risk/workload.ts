import { arrayOf, asRecord, numberOf, recordAt, stringOf, type JsonRecord } from "../json/read-json.js";
import {
  containersOf,
  describeContainer,
  parseImageReference,
  podTemplateOf,
  type ContainerRef,
  type ImageReference,
} from "../policy/index.js";

/** The parts of a workload (or bare Pod) that risk factors read, derived once per object. */
export interface WorkloadView {
  readonly podSpec: JsonRecord;
  readonly containers: readonly ContainerRef[];
  readonly images: readonly ImageReference[];
  readonly replicas: number | undefined;
}

export function workloadView(kind: string, object: unknown): WorkloadView {
  const podSpec = podTemplateOf(kind, object)?.spec ?? {};
  const containers = containersOf(podSpec);
  return {
    podSpec,
    containers,
    images: containers.filter((c) => c.image.trim() !== "").map((c) => parseImageReference(c.image)),
    replicas: numberOf(recordAt(object, "spec")?.["replicas"]),
  };
}

/** Stable key of a container across old and new objects: its list and its name. */
export function containerKey(container: ContainerRef): string {
  return `${container.type}/${container.name}`;
}

function securityContextSignals(context: JsonRecord | undefined, who: string): string[] {
  if (context === undefined) return [];
  const signals: string[] = [];
  if (context["privileged"] === true) signals.push(`${who} is privileged`);
  if (context["allowPrivilegeEscalation"] === true) signals.push(`${who} allows privilege escalation`);
  if (context["runAsUser"] === 0) signals.push(`${who} runs as root (runAsUser 0)`);
  if (context["runAsNonRoot"] === false) signals.push(`${who} may run as root (runAsNonRoot false)`);
  const added = arrayOf(recordAt(context, "capabilities")?.["add"])
    .map(stringOf)
    .filter((c) => c !== undefined);
  signals.push(...added.map((capability) => `${who} adds capability ${capability}`));
  return signals;
}

/**
 * Privilege-bearing settings, one readable string each, so old and new can be compared as sets.
 * Only explicit settings count (an unset allowPrivilegeEscalation is not flagged).
 */
export function privilegeSignals(view: WorkloadView): Set<string> {
  return new Set([
    ...securityContextSignals(asRecord(view.podSpec["securityContext"]), "pod"),
    ...view.containers.flatMap((c) =>
      securityContextSignals(asRecord(c.spec["securityContext"]), describeContainer(c)),
    ),
  ]);
}

function hostPortSignals(container: ContainerRef): string[] {
  return arrayOf(container.spec["ports"])
    .map((port) => numberOf(asRecord(port)?.["hostPort"]))
    .filter((hostPort): hostPort is number => hostPort !== undefined && hostPort > 0)
    .map((hostPort) => `${describeContainer(container)} hostPort ${hostPort}`);
}

function hostPathSignals(podSpec: JsonRecord): string[] {
  return arrayOf(podSpec["volumes"]).flatMap((volume) => {
    const hostPath = recordAt(volume, "hostPath");
    if (hostPath === undefined) return [];
    const name = stringOf(asRecord(volume)?.["name"]) ?? "?";
    return [`hostPath volume ${JSON.stringify(name)} (${stringOf(hostPath["path"]) ?? "?"})`];
  });
}

/** Host namespaces, hostPath volumes and hostPorts the pod spec asks for. */
export function hostAccessSignals(view: WorkloadView): string[] {
  const namespaces = ["hostNetwork", "hostPID", "hostIPC"].filter((field) => view.podSpec[field] === true);
  return [...namespaces, ...hostPathSignals(view.podSpec), ...view.containers.flatMap(hostPortSignals)];
}

/** Volumes that bring secrets into the pod: `secret`, or a `projected` volume with a secret source. */
export function secretVolumes(view: WorkloadView): Map<string, unknown> {
  const volumes = new Map<string, unknown>();
  for (const volume of arrayOf(view.podSpec["volumes"])) {
    const record = asRecord(volume);
    const projectsSecret = arrayOf(recordAt(record, "projected")?.["sources"]).some(
      (source) => asRecord(source)?.["secret"] !== undefined,
    );
    if (record !== undefined && (record["secret"] !== undefined || projectsSecret)) {
      volumes.set(stringOf(record["name"]) ?? "?", volume);
    }
  }
  return volumes;
}
