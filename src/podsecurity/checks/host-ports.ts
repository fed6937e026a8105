import { containerNamesWhere, type CheckDefinition, type CheckFinding } from "../check.js";
import { describeContainers, pluralize } from "../format.js";
import type { Pod } from "../pod-model.js";

/** HostPorts should be disallowed entirely (0, the unset value, is fine). */
export const hostPorts: CheckDefinition = {
  id: "hostPorts",
  level: "baseline",
  versions: [{ sinceMinor: 0, check: checkHostPorts }],
};

function checkHostPorts(pod: Pod): CheckFinding | undefined {
  const usesHostPort = (port: number): boolean => port !== 0;
  const names = containerNamesWhere(pod, (container) => container.hostPorts.some(usesHostPort));
  if (names.length === 0) return undefined;
  const ports = pod.spec.containers.flatMap((container) => container.hostPorts.filter(usesHostPort));
  return {
    reason: "hostPort",
    detail: `${describeContainers(names)} ${pluralize(names.length, "uses", "use")} ${pluralize(ports.length, "hostPort", "hostPorts")} ${ports.join(", ")}`,
  };
}
