import type { CheckDefinition, CheckFinding } from "../check.js";
import { joinQuoted, pluralize } from "../format.js";
import type { Pod } from "../pod-model.js";

/** HostPath volumes expose the node's filesystem and must be forbidden. */
export const hostPathVolumes: CheckDefinition = {
  id: "hostPathVolumes",
  level: "baseline",
  versions: [{ sinceMinor: 0, check: checkHostPathVolumes }],
};

function checkHostPathVolumes(pod: Pod): CheckFinding | undefined {
  const names = pod.spec.volumes.filter((volume) => volume.sources.has("hostPath")).map((volume) => volume.name);
  if (names.length === 0) return undefined;
  return { reason: "hostPath volumes", detail: `${pluralize(names.length, "volume", "volumes")} ${joinQuoted(names)}` };
}
