import type { CheckDefinition, CheckFinding } from "../check.js";
import { joinQuoted, pluralize } from "../format.js";
import type { Pod } from "../pod-model.js";
import { findForbiddenProfiles } from "./forbidden-profiles.js";

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
  const profiles = findForbiddenProfiles(pod, "appArmorProfile", ALLOWED_PROFILE_TYPES);
  const annotations = forbiddenAnnotations(pod);
  if (profiles === undefined && annotations.length === 0) return undefined;

  const problems: string[] = [];
  if (profiles !== undefined) {
    problems.push(
      `${profiles.setters} must not set securityContext.appArmorProfile.type to ${joinQuoted(profiles.types)}`,
    );
  }
  if (annotations.length > 0) problems.push(annotations.join(", "));
  const count = (profiles?.types.length ?? 0) + annotations.length;
  return {
    reason: pluralize(count, "forbidden AppArmor profile", "forbidden AppArmor profiles"),
    detail: problems.join("; "),
  };
}
