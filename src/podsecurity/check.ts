/** What a Pod Security check is, and the pieces several checks share. */
import type { Container, Pod } from "./pod-model.js";

export type CheckId =
  | "hostNamespaces"
  | "privileged"
  | "capabilities_baseline"
  | "hostPathVolumes"
  | "hostPorts"
  | "hostProbesAndHostLifecycle"
  | "appArmorProfile"
  | "seLinuxOptions"
  | "procMount"
  | "seccompProfile_baseline"
  | "sysctls"
  | "windowsHostProcess"
  | "restrictedVolumes"
  | "allowPrivilegeEscalation"
  | "runAsNonRoot"
  | "runAsUser"
  | "seccompProfile_restricted"
  | "capabilities_restricted"
  | "procMount_restricted";

/** Why a Pod fails a check, in upstream's terms: `reason (detail)`. */
export interface CheckFinding {
  readonly reason: string;
  readonly detail: string;
}

/** Returns a finding when the Pod fails, `undefined` when it passes. */
export type PodCheck = (pod: Pod) => CheckFinding | undefined;

export interface VersionedCheck {
  /** The first Kubernetes minor (`v1.N`) this behaviour applies to; it holds until the next entry's. */
  readonly sinceMinor: number;
  readonly check: PodCheck;
  /** Baseline checks this restricted check replaces while this version is in effect. */
  readonly overrides?: readonly CheckId[];
}

export interface CheckDefinition {
  readonly id: CheckId;
  readonly level: "baseline" | "restricted";
  /** Ordered by `sinceMinor`, ascending. */
  readonly versions: readonly VersionedCheck[];
}

export function containerNamesWhere(pod: Pod, predicate: (container: Container) => boolean): string[] {
  return pod.spec.containers.filter(predicate).map((container) => container.name);
}

export function isWindowsPod(pod: Pod): boolean {
  return pod.spec.osName === "windows";
}

/** Since v1.25 the Linux-only restricted checks do not apply to Pods declaring `spec.os.name: windows`. */
export function exemptWindowsPods(check: PodCheck): PodCheck {
  return (pod) => (isWindowsPod(pod) ? undefined : check(pod));
}
