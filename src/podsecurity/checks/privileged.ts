import { containerNamesWhere, type CheckDefinition, type CheckFinding } from "../check.js";
import { describeContainers } from "../format.js";
import type { Pod } from "../pod-model.js";

/** Privileged containers disable most security mechanisms and must be disallowed. */
export const privileged: CheckDefinition = {
  id: "privileged",
  level: "baseline",
  versions: [{ sinceMinor: 0, check: checkPrivileged }],
};

function checkPrivileged(pod: Pod): CheckFinding | undefined {
  const names = containerNamesWhere(pod, (container) => container.securityContext.privileged === true);
  if (names.length === 0) return undefined;
  return {
    reason: "privileged",
    detail: `${describeContainers(names)} must not set securityContext.privileged=true`,
  };
}
