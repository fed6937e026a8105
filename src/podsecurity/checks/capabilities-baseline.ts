import type { CheckDefinition, CheckFinding } from "../check.js";
import { joinQuoted, sortedUnique } from "../format.js";
import type { Pod } from "../pod-model.js";
import { describeForbiddenAdds } from "./capability-adds.js";

/** The container runtime's default capability set; adding anything else is forbidden. */
const DEFAULT_CAPABILITIES: ReadonlySet<string> = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);

export const capabilitiesBaseline: CheckDefinition = {
  id: "capabilities_baseline",
  level: "baseline",
  versions: [{ sinceMinor: 0, check: checkCapabilitiesBaseline }],
};

function checkCapabilitiesBaseline(pod: Pod): CheckFinding | undefined {
  const forbiddenAdds = describeForbiddenAdds(pod, (capability) => !DEFAULT_CAPABILITIES.has(capability));
  if (forbiddenAdds === undefined) return undefined;
  return {
    reason: "non-default capabilities",
    detail: `${forbiddenAdds.containers} must not include ${joinQuoted(sortedUnique(forbiddenAdds.capabilities))} in securityContext.capabilities.add`,
  };
}
