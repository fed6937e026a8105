import { containerNamesWhere, type CheckDefinition, type CheckFinding } from "../check.js";
import { describeContainers, joinQuoted, sortedUnique } from "../format.js";
import type { Pod } from "../pod-model.js";

/**
 * The default /proc masks reduce attack surface and are required: `procMount` must be unset or
 * `Default`. From v1.35 baseline allows any procMount in a user namespace (`hostUsers: false`),
 * where an unmasked /proc cannot reach the host; restricted keeps requiring the masks.
 */
export const procMount: CheckDefinition = {
  id: "procMount",
  level: "baseline",
  versions: [
    { sinceMinor: 0, check: requireDefaultProcMount },
    { sinceMinor: 35, check: requireDefaultProcMountOutsideUserNamespace },
  ],
};

export const procMountRestricted: CheckDefinition = {
  id: "procMount_restricted",
  level: "restricted",
  versions: [{ sinceMinor: 35, check: requireDefaultProcMount, overrides: ["procMount"] }],
};

function isForbiddenProcMount(value: string | undefined): boolean {
  return value !== undefined && value !== "Default";
}

function requireDefaultProcMount(pod: Pod): CheckFinding | undefined {
  const names = containerNamesWhere(pod, (container) => isForbiddenProcMount(container.securityContext.procMount));
  if (names.length === 0) return undefined;
  const values = sortedUnique(
    pod.spec.containers.flatMap((container) => container.securityContext.procMount ?? []).filter(isForbiddenProcMount),
  );
  return {
    reason: "procMount",
    detail: `${describeContainers(names)} must not set securityContext.procMount to ${joinQuoted(values)}`,
  };
}

function requireDefaultProcMountOutsideUserNamespace(pod: Pod): CheckFinding | undefined {
  return pod.spec.hostUsers === false ? undefined : requireDefaultProcMount(pod);
}
