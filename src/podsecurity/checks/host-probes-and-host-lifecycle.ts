import { containerNamesWhere, type CheckDefinition, type CheckFinding } from "../check.js";
import { describeContainers, sortedUnique } from "../format.js";
import type { Container, Handler, Pod } from "../pod-model.js";

/**
 * Probes and lifecycle hooks must not target another host: the kubelet would make the request on
 * the Pod's behalf from the node's network. Only an unset or empty `host` is allowed.
 */
export const hostProbesAndHostLifecycle: CheckDefinition = {
  id: "hostProbesAndHostLifecycle",
  level: "baseline",
  versions: [{ sinceMinor: 34, check: checkHostProbesAndHostLifecycle }],
};

function forbiddenHostFields(handler: Handler): string[] {
  const fields: string[] = [];
  if (handler.httpGetHost !== undefined && handler.httpGetHost !== "") fields.push(`${handler.field}.httpGet.host`);
  if (handler.tcpSocketHost !== undefined && handler.tcpSocketHost !== "")
    fields.push(`${handler.field}.tcpSocket.host`);
  return fields;
}

function forbiddenHostFieldsOf(container: Container): string[] {
  return container.handlers.flatMap(forbiddenHostFields);
}

function checkHostProbesAndHostLifecycle(pod: Pod): CheckFinding | undefined {
  const names = containerNamesWhere(pod, (container) => forbiddenHostFieldsOf(container).length > 0);
  if (names.length === 0) return undefined;
  const fields = sortedUnique(pod.spec.containers.flatMap(forbiddenHostFieldsOf));
  return {
    reason: "probe or lifecycle host",
    detail: `${describeContainers(names)} must not set ${fields.join(", ")}`,
  };
}
