import { containerNamesWhere, exemptWindowsPods, type CheckDefinition, type CheckFinding } from "../check.js";
import { describeContainers } from "../format.js";
import type { Pod } from "../pod-model.js";

/** Privilege escalation (e.g. via setuid binaries) must be explicitly disallowed in every container. */
export const allowPrivilegeEscalation: CheckDefinition = {
  id: "allowPrivilegeEscalation",
  level: "restricted",
  versions: [
    { sinceMinor: 8, check: requireNoPrivilegeEscalation },
    { sinceMinor: 25, check: exemptWindowsPods(requireNoPrivilegeEscalation) },
  ],
};

function requireNoPrivilegeEscalation(pod: Pod): CheckFinding | undefined {
  const names = containerNamesWhere(pod, (container) => container.securityContext.allowPrivilegeEscalation !== false);
  if (names.length === 0) return undefined;
  return {
    reason: "allowPrivilegeEscalation != false",
    detail: `${describeContainers(names)} must set securityContext.allowPrivilegeEscalation=false`,
  };
}
