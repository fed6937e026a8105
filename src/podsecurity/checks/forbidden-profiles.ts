import { describeSetters, sortedUnique } from "../format.js";
import type { Pod } from "../pod-model.js";

export interface ForbiddenProfiles {
  /** e.g. `pod and container "a"` */
  readonly setters: string;
  /** The forbidden profile types set, sorted. */
  readonly types: readonly string[];
}

/** Who sets `field` (on the Pod or a container) to a profile type outside `allowedTypes`, and to what. */
export function findForbiddenProfiles(
  pod: Pod,
  field: "seccompProfile" | "appArmorProfile",
  allowedTypes: ReadonlySet<string>,
): ForbiddenProfiles | undefined {
  const forbiddenType = (profile: { readonly type: string } | undefined): string | undefined =>
    profile === undefined || allowedTypes.has(profile.type) ? undefined : profile.type;

  const podType = forbiddenType(pod.spec.securityContext[field]);
  const containers = pod.spec.containers.flatMap((container) => {
    const type = forbiddenType(container.securityContext[field]);
    return type === undefined ? [] : [{ name: container.name, type }];
  });
  if (podType === undefined && containers.length === 0) return undefined;
  return {
    setters: describeSetters(
      podType !== undefined,
      containers.map((container) => container.name),
    ),
    types: sortedUnique([
      ...(podType === undefined ? [] : [podType]),
      ...containers.map((container) => container.type),
    ]),
  };
}
