/** Every Pod Security check, and which of them are in effect at a level and version. */
import type { CheckDefinition, CheckId, PodCheck, VersionedCheck } from "./check.js";
import { allowPrivilegeEscalation } from "./checks/allow-privilege-escalation.js";
import { appArmorProfile } from "./checks/app-armor-profile.js";
import { capabilitiesBaseline } from "./checks/capabilities-baseline.js";
import { capabilitiesRestricted } from "./checks/capabilities-restricted.js";
import { hostNamespaces } from "./checks/host-namespaces.js";
import { hostPathVolumes } from "./checks/host-path-volumes.js";
import { hostPorts } from "./checks/host-ports.js";
import { hostProbesAndHostLifecycle } from "./checks/host-probes-and-host-lifecycle.js";
import { privileged } from "./checks/privileged.js";
import { procMount, procMountRestricted } from "./checks/proc-mount.js";
import { restrictedVolumes } from "./checks/restricted-volumes.js";
import { runAsNonRoot } from "./checks/run-as-non-root.js";
import { runAsUser } from "./checks/run-as-user.js";
import { seLinuxOptions } from "./checks/se-linux-options.js";
import { seccompProfileBaseline } from "./checks/seccomp-profile-baseline.js";
import { seccompProfileRestricted } from "./checks/seccomp-profile-restricted.js";
import { sysctls } from "./checks/sysctls.js";
import { windowsHostProcess } from "./checks/windows-host-process.js";
import type { PodSecurityLevel } from "./types.js";

export const POD_SECURITY_CHECKS: readonly CheckDefinition[] = [
  // baseline
  hostNamespaces,
  privileged,
  capabilitiesBaseline,
  hostPathVolumes,
  hostPorts,
  hostProbesAndHostLifecycle,
  appArmorProfile,
  seLinuxOptions,
  procMount,
  seccompProfileBaseline,
  sysctls,
  windowsHostProcess,
  // restricted
  restrictedVolumes,
  allowPrivilegeEscalation,
  runAsNonRoot,
  runAsUser,
  seccompProfileRestricted,
  capabilitiesRestricted,
  procMountRestricted,
];

export interface ActiveCheck {
  readonly id: CheckId;
  readonly level: "baseline" | "restricted";
  readonly check: PodCheck;
  /** The baseline checks this one replaces at the evaluated version. */
  readonly overrides: readonly CheckId[];
}

const LEVELS_INCLUDED: Record<PodSecurityLevel, readonly CheckDefinition["level"][]> = {
  privileged: [],
  baseline: ["baseline"],
  restricted: ["baseline", "restricted"],
};

/** The newest behaviour of a check at `minor`, or `undefined` if the check did not exist yet. */
function versionAt(definition: CheckDefinition, minor: number): VersionedCheck | undefined {
  return definition.versions.filter((version) => version.sinceMinor <= minor).at(-1);
}

/** The checks a Pod must pass at `level` and Kubernetes minor `minor`, after restricted overrides. */
export function activeChecks(level: PodSecurityLevel, minor: number): readonly ActiveCheck[] {
  const key = `${level}:${minor}`;
  let active = activeByLevel.get(key);
  if (active === undefined) {
    active = Object.freeze(selectActiveChecks(level, minor));
    activeByLevel.set(key, active);
  }
  return active;
}

// Levels times known minors: a handful of entries, worked out once instead of per admission.
const activeByLevel = new Map<string, readonly ActiveCheck[]>();

function selectActiveChecks(level: PodSecurityLevel, minor: number): ActiveCheck[] {
  const levels = LEVELS_INCLUDED[level];
  const candidates = POD_SECURITY_CHECKS.filter((definition) => levels.includes(definition.level)).flatMap(
    (definition): ActiveCheck[] => {
      const version = versionAt(definition, minor);
      if (version === undefined) return [];
      return [{ id: definition.id, level: definition.level, check: version.check, overrides: version.overrides ?? [] }];
    },
  );
  const overridden = new Set(candidates.flatMap((candidate) => candidate.overrides));
  return candidates.filter((candidate) => !overridden.has(candidate.id));
}
