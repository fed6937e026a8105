import type { CheckDefinition, CheckFinding } from "../check.js";
import { describeSetters, joinQuoted, pluralize, sortedUnique } from "../format.js";
import type { Pod, ProfileRef } from "../pod-model.js";

const ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/";
const ALLOWED_PROFILE_TYPES: ReadonlySet<string> = new Set(["RuntimeDefault", "Localhost"]);

/**
 * Overriding or disabling the default AppArmor profile must be prevented: through the
 * `appArmorProfile` fields (type `RuntimeDefault` or `Localhost`) or the deprecated beta
 * annotations (`runtime/default`, `localhost/*` or empty).
 */
export const appArmorProfile: CheckDefinition = {
  id: "appArmorProfile",
  level: "baseline",
  versions: [{ sinceMinor: 0, check: checkAppArmorProfile }],
};

/** The profile type when it is a forbidden one, `undefined` when unset or allowed. */
function forbiddenType(profile: ProfileRef | undefined): string | undefined {
  return profile === undefined || ALLOWED_PROFILE_TYPES.has(profile.type) ? undefined : profile.type;
}

function isAllowedAnnotationValue(value: string): boolean {
  return value === "" || value === "runtime/default" || value.startsWith("localhost/");
}

function forbiddenAnnotations(pod: Pod): string[] {
  return [...pod.annotations]
    .filter(([key, value]) => key.startsWith(ANNOTATION_PREFIX) && !isAllowedAnnotationValue(value))
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .sort();
}

function checkAppArmorProfile(pod: Pod): CheckFinding | undefined {
  const podType = forbiddenType(pod.spec.securityContext.appArmorProfile);
  const badContainers = pod.spec.containers.flatMap((container) => {
    const type = forbiddenType(container.securityContext.appArmorProfile);
    return type === undefined ? [] : [{ name: container.name, type }];
  });
  const annotations = forbiddenAnnotations(pod);
  if (podType === undefined && badContainers.length === 0 && annotations.length === 0) return undefined;

  const badTypes = [...(podType === undefined ? [] : [podType]), ...badContainers.map((container) => container.type)];
  const badValues = [...sortedUnique(badTypes), ...annotations];
  const setters = [
    describeSetters(podType !== undefined, badContainers.map((container) => container.name)),
    annotationSetter(annotations),
  ].filter((setter) => setter !== "");
  return {
    reason: pluralize(badValues.length, "forbidden AppArmor profile", "forbidden AppArmor profiles"),
    detail: `${setters.join(" and ")} must not set AppArmor profile type to ${joinQuoted(badValues)}`,
  };
}

function annotationSetter(annotations: readonly string[]): string {
  if (annotations.length === 0) return "";
  return pluralize(annotations.length, "annotation", "annotations");
}
