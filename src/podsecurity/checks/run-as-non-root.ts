import type { CheckDefinition, CheckFinding } from "../check.js";
import { describeContainers, describeSetters } from "../format.js";
import type { Pod } from "../pod-model.js";

/**
 * Containers must run as non-root: `runAsNonRoot: true` on the Pod or on every container, and
 * never `runAsNonRoot: false` anywhere (a container's setting overrides the Pod's).
 */
export const runAsNonRoot: CheckDefinition = {
  id: "runAsNonRoot",
  level: "restricted",
  versions: [{ sinceMinor: 0, check: checkRunAsNonRoot }],
};

function checkRunAsNonRoot(pod: Pod): CheckFinding | undefined {
  const podSetting = pod.spec.securityContext.runAsNonRoot;
  const explicitlyBad = pod.spec.containers
    .filter((container) => container.securityContext.runAsNonRoot === false)
    .map((container) => container.name);
  const implicitlyBad =
    podSetting === true
      ? []
      : pod.spec.containers
          .filter((container) => container.securityContext.runAsNonRoot === undefined)
          .map((container) => container.name);
  const podIsBad = podSetting === false;
  if (!podIsBad && explicitlyBad.length === 0 && implicitlyBad.length === 0) return undefined;

  const problems: string[] = [];
  if (podIsBad || explicitlyBad.length > 0) {
    problems.push(`${describeSetters(podIsBad, explicitlyBad)} must not set securityContext.runAsNonRoot=false`);
  }
  if (implicitlyBad.length > 0) {
    problems.push(`pod or ${describeContainers(implicitlyBad)} must set securityContext.runAsNonRoot=true`);
  }
  return { reason: "runAsNonRoot != true", detail: problems.join("; ") };
}
