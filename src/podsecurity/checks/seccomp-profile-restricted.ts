import { exemptWindowsPods, type CheckDefinition, type CheckFinding } from "../check.js";
import { describeContainers, describeSetters, joinQuoted, sortedUnique } from "../format.js";
import type { Pod, ProfileRef } from "../pod-model.js";

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

function forbiddenType(profile: ProfileRef | undefined): string | undefined {
  return profile === undefined || ALLOWED_TYPES.has(profile.type) ? undefined : profile.type;
}

function requireConfinedSeccomp(pod: Pod): CheckFinding | undefined {
  const podProfile = pod.spec.securityContext.seccompProfile;
  const podType = forbiddenType(podProfile);
  const podProvidesProfile = podProfile !== undefined && podType === undefined;
  const explicitlyBad = pod.spec.containers.flatMap((container) => {
    const type = forbiddenType(container.securityContext.seccompProfile);
    return type === undefined ? [] : [{ name: container.name, type }];
  });
  const implicitlyBad = podProvidesProfile
    ? []
    : pod.spec.containers
        .filter((container) => container.securityContext.seccompProfile === undefined)
        .map((container) => container.name);
  if (podType === undefined && explicitlyBad.length === 0 && implicitlyBad.length === 0) return undefined;

  const problems: string[] = [];
  if (podType !== undefined || explicitlyBad.length > 0) {
    const badTypes = sortedUnique([...(podType === undefined ? [] : [podType]), ...explicitlyBad.map((c) => c.type)]);
    const setters = describeSetters(podType !== undefined, explicitlyBad.map((c) => c.name));
    problems.push(`${setters} must not set securityContext.seccompProfile.type to ${joinQuoted(badTypes)}`);
  }
  if (implicitlyBad.length > 0) {
    problems.push(
      `pod or ${describeContainers(implicitlyBad)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
    );
  }
  return { reason: "seccompProfile", detail: problems.join("; ") };
}
