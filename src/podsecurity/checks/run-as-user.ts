import type { CheckDefinition, CheckFinding } from "../check.js";
import { describeSetters } from "../format.js";
import type { Pod } from "../pod-model.js";

/** Containers must not set runAsUser to 0 (root). */
export const runAsUser: CheckDefinition = {
  id: "runAsUser",
  level: "restricted",
  versions: [{ sinceMinor: 23, check: checkRunAsUser }],
};

function checkRunAsUser(pod: Pod): CheckFinding | undefined {
  const podIsBad = pod.spec.securityContext.runAsUser === 0;
  const badContainers = pod.spec.containers
    .filter((container) => container.securityContext.runAsUser === 0)
    .map((container) => container.name);
  if (!podIsBad && badContainers.length === 0) return undefined;
  return { reason: "runAsUser=0", detail: `${describeSetters(podIsBad, badContainers)} must not set runAsUser=0` };
}
