import type { CheckDefinition, CheckFinding } from "../check.js";
import type { Pod } from "../pod-model.js";

/** Sharing the host's network, PID or IPC namespace must be disallowed. */
export const hostNamespaces: CheckDefinition = {
  id: "hostNamespaces",
  level: "baseline",
  versions: [{ sinceMinor: 0, check: checkHostNamespaces }],
};

function checkHostNamespaces(pod: Pod): CheckFinding | undefined {
  const { hostNetwork, hostPID, hostIPC } = pod.spec;
  const shared = [
    hostNetwork === true ? "hostNetwork=true" : undefined,
    hostPID === true ? "hostPID=true" : undefined,
    hostIPC === true ? "hostIPC=true" : undefined,
  ].filter((setting) => setting !== undefined);
  if (shared.length === 0) return undefined;
  return { reason: "host namespaces", detail: shared.join(", ") };
}
