import { exemptWindowsPods, type CheckDefinition, type CheckFinding } from "../check.js";
import { describeContainers, joinQuoted } from "../format.js";
import type { Pod } from "../pod-model.js";
import { findForbiddenProfiles } from "./forbidden-profiles.js";

const ALLOWED_TYPES: ReadonlySet<string> = new Set(["RuntimeDefault", "Localhost"]);

/**
 * Seccomp must be explicitly set to `RuntimeDefault` or `Localhost`: on the Pod, or on every
 * container that does not inherit it (a container's profile overrides the Pod's).
 */
export const seccompProfileRestricted: CheckDefinition = {
  id: "seccompProfile_restricted",
  level: "restricted",
  versions: [
    { sinceMinor: 19, check: requireConfinedSeccomp, overrides: ["seccompProfile_baseline"] },
    { sinceMinor: 25, check: exemptWindowsPods(requireConfinedSeccomp), overrides: ["seccompProfile_baseline"] },
  ],
};

function requireConfinedSeccomp(pod: Pod): CheckFinding | undefined {
  const podProfile = pod.spec.securityContext.seccompProfile;
  const podProvidesProfile = podProfile !== undefined && ALLOWED_TYPES.has(podProfile.type);
  const forbidden = findForbiddenProfiles(pod, "seccompProfile", ALLOWED_TYPES);
  // A container without its own profile inherits the Pod's, so it is only unconfined if the Pod's is missing.
  const unconfined = podProvidesProfile
    ? []
    : pod.spec.containers
        .filter((container) => container.securityContext.seccompProfile === undefined)
        .map((container) => container.name);
  if (forbidden === undefined && unconfined.length === 0) return undefined;

  const problems: string[] = [];
  if (forbidden !== undefined) {
    problems.push(
      `${forbidden.setters} must not set securityContext.seccompProfile.type to ${joinQuoted(forbidden.types)}`,
    );
  }
  if (unconfined.length > 0) {
    problems.push(
      `pod or ${describeContainers(unconfined)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
    );
  }
  return { reason: "seccompProfile", detail: problems.join("; ") };
}
