import type { CheckDefinition, CheckFinding, PodCheck } from "../check.js";
import { describeSetters, joinQuoted, pluralize, sortedUnique } from "../format.js";
import type { Pod, SELinuxOptions } from "../pod-model.js";

const ALLOWED_TYPES_V1_0: ReadonlySet<string> = new Set(["", "container_t", "container_init_t", "container_kvm_t"]);
const ALLOWED_TYPES_V1_31: ReadonlySet<string> = new Set([...ALLOWED_TYPES_V1_0, "container_engine_t"]);

/** Setting a custom SELinux user or role is forbidden, and the type is limited to the container types. */
export const seLinuxOptions: CheckDefinition = {
  id: "seLinuxOptions",
  level: "baseline",
  versions: [
    { sinceMinor: 0, check: seLinuxOptionsCheck(ALLOWED_TYPES_V1_0) },
    { sinceMinor: 31, check: seLinuxOptionsCheck(ALLOWED_TYPES_V1_31) },
  ],
};

function isForbidden(options: SELinuxOptions | undefined, allowedTypes: ReadonlySet<string>): boolean {
  if (options === undefined) return false;
  return !allowedTypes.has(options.type) || options.user !== "" || options.role !== "";
}

function describeForbiddenOptions(options: readonly SELinuxOptions[], allowedTypes: ReadonlySet<string>): string {
  const badTypes = sortedUnique(options.map((o) => o.type).filter((type) => !allowedTypes.has(type)));
  const problems = [
    badTypes.length > 0 ? `${pluralize(badTypes.length, "type", "types")} ${joinQuoted(badTypes)}` : undefined,
    options.some((o) => o.user !== "") ? "user may not be set" : undefined,
    options.some((o) => o.role !== "") ? "role may not be set" : undefined,
  ];
  return problems.filter((problem) => problem !== undefined).join("; ");
}

function seLinuxOptionsCheck(allowedTypes: ReadonlySet<string>): PodCheck {
  return (pod: Pod): CheckFinding | undefined => {
    const podOptions = pod.spec.securityContext.seLinuxOptions;
    const podIsBad = isForbidden(podOptions, allowedTypes);
    const badContainers = pod.spec.containers.filter((container) =>
      isForbidden(container.securityContext.seLinuxOptions, allowedTypes),
    );
    if (!podIsBad && badContainers.length === 0) return undefined;
    const badOptions = [
      ...(podIsBad && podOptions !== undefined ? [podOptions] : []),
      ...badContainers.flatMap((container) => container.securityContext.seLinuxOptions ?? []),
    ];
    const setters = describeSetters(
      podIsBad,
      badContainers.map((container) => container.name),
    );
    return {
      reason: "seLinuxOptions",
      detail: `${setters} set forbidden securityContext.seLinuxOptions: ${describeForbiddenOptions(badOptions, allowedTypes)}`,
    };
  };
}
