import { containerNamesWhere, exemptWindowsPods, type CheckDefinition, type CheckFinding } from "../check.js";
import { describeContainers, joinQuoted, sortedUnique } from "../format.js";
import type { Pod } from "../pod-model.js";
import { describeForbiddenAdds } from "./capability-adds.js";

/** Containers must drop ALL capabilities and may add back only NET_BIND_SERVICE. */
export const capabilitiesRestricted: CheckDefinition = {
  id: "capabilities_restricted",
  level: "restricted",
  versions: [
    { sinceMinor: 22, check: requireMinimalCapabilities, overrides: ["capabilities_baseline"] },
    { sinceMinor: 25, check: exemptWindowsPods(requireMinimalCapabilities), overrides: ["capabilities_baseline"] },
  ],
};

function requireMinimalCapabilities(pod: Pod): CheckFinding | undefined {
  const notDroppingAll = containerNamesWhere(
    pod,
    (container) => !(container.securityContext.capabilities?.drop ?? []).includes("ALL"),
  );
  const forbiddenAdds = describeForbiddenAdds(pod, (capability) => capability !== "NET_BIND_SERVICE");
  if (notDroppingAll.length === 0 && forbiddenAdds === undefined) return undefined;

  const problems: string[] = [];
  if (notDroppingAll.length > 0) {
    problems.push(`${describeContainers(notDroppingAll)} must set securityContext.capabilities.drop=["ALL"]`);
  }
  if (forbiddenAdds !== undefined) {
    const capabilities = joinQuoted(sortedUnique(forbiddenAdds.capabilities));
    problems.push(`${forbiddenAdds.containers} must not include ${capabilities} in securityContext.capabilities.add`);
  }
  return { reason: "unrestricted capabilities", detail: problems.join("; ") };
}
