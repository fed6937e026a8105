import type { CheckDefinition, CheckFinding } from "../check.js";
import { describeSetters, pluralize } from "../format.js";
import type { Pod, ProfileRef } from "../pod-model.js";

const POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_ANNOTATION_PREFIX = "container.seccomp.security.alpha.kubernetes.io/";

/**
 * Seccomp must not be explicitly disabled. Before v1.19 seccomp was configured through alpha
 * annotations; from v1.19 through the `seccompProfile` fields.
 */
export const seccompProfileBaseline: CheckDefinition = {
  id: "seccompProfile_baseline",
  level: "baseline",
  versions: [
    { sinceMinor: 0, check: forbidUnconfinedAnnotations },
    { sinceMinor: 19, check: forbidUnconfinedProfiles },
  ],
};

function forbidUnconfinedAnnotations(pod: Pod): CheckFinding | undefined {
  const keys = [
    POD_ANNOTATION,
    ...pod.spec.containers.map((container) => CONTAINER_ANNOTATION_PREFIX + container.name),
  ];
  const forbidden = [...new Set(keys)]
    .filter((key) => pod.annotations.get(key) === "unconfined")
    .map((key) => `${key}="unconfined"`)
    .sort();
  if (forbidden.length === 0) return undefined;
  return {
    reason: "seccompProfile",
    detail: `forbidden ${pluralize(forbidden.length, "annotation", "annotations")} ${forbidden.join(", ")}`,
  };
}

function isUnconfined(profile: ProfileRef | undefined): boolean {
  return profile?.type === "Unconfined";
}

function forbidUnconfinedProfiles(pod: Pod): CheckFinding | undefined {
  const podIsBad = isUnconfined(pod.spec.securityContext.seccompProfile);
  const badContainers = pod.spec.containers
    .filter((container) => isUnconfined(container.securityContext.seccompProfile))
    .map((container) => container.name);
  if (!podIsBad && badContainers.length === 0) return undefined;
  return {
    reason: "seccompProfile",
    detail: `${describeSetters(podIsBad, badContainers)} must not set securityContext.seccompProfile.type to "Unconfined"`,
  };
}
