import type { CheckDefinition, CheckFinding } from "../check.js";
import { describeSetters } from "../format.js";
import type { Pod } from "../pod-model.js";

/** Windows HostProcess containers get privileged access to the Windows node and must be forbidden. */
export const windowsHostProcess: CheckDefinition = {
  id: "windowsHostProcess",
  level: "baseline",
  versions: [{ sinceMinor: 0, check: checkWindowsHostProcess }],
};

function checkWindowsHostProcess(pod: Pod): CheckFinding | undefined {
  const podIsBad = pod.spec.securityContext.windowsHostProcess === true;
  const badContainers = pod.spec.containers
    .filter((container) => container.securityContext.windowsHostProcess === true)
    .map((container) => container.name);
  if (!podIsBad && badContainers.length === 0) return undefined;
  return {
    reason: "hostProcess",
    detail: `${describeSetters(podIsBad, badContainers)} must not set securityContext.windowsOptions.hostProcess=true`,
  };
}
