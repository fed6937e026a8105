import { containerNamesWhere } from "../check.js";
import { describeContainers } from "../format.js";
import type { Pod } from "../pod-model.js";

export interface ForbiddenAdds {
  /** e.g. `containers "a", "b"` */
  readonly containers: string;
  readonly capabilities: readonly string[];
}

/** The containers adding capabilities that `isForbidden`, and those capabilities. */
export function describeForbiddenAdds(
  pod: Pod,
  isForbidden: (capability: string) => boolean,
): ForbiddenAdds | undefined {
  const forbiddenOf = (add: readonly string[]): string[] => add.filter(isForbidden);
  const names = containerNamesWhere(
    pod,
    (container) => forbiddenOf(container.securityContext.capabilities?.add ?? []).length > 0,
  );
  if (names.length === 0) return undefined;
  const capabilities = pod.spec.containers.flatMap((container) =>
    forbiddenOf(container.securityContext.capabilities?.add ?? []),
  );
  return { containers: describeContainers(names), capabilities };
}
