/** Pod builders for the focused Pod Security tests. */
import type {
  ContainerLike,
  ContainerSecurityContextLike,
  PodLike,
  PodMetadataLike,
  PodSpecLike,
} from "../../../src/podsecurity/index.js";

/** A container that passes restricted, with `securityContext` fields replaced by `overrides`. */
export function restrictedContainer(
  name: string,
  overrides: ContainerSecurityContextLike = {},
  extra: Partial<ContainerLike> = {},
): ContainerLike {
  return {
    name,
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, ...overrides },
    ...extra,
  };
}

/** A Pod that passes restricted at every version, with `spec` fields replaced by `spec`. */
export function restrictedPod(spec: Partial<PodSpecLike> = {}, metadata: PodMetadataLike = {}): PodLike {
  return {
    metadata: { name: "pod", ...metadata },
    spec: {
      containers: [restrictedContainer("app")],
      initContainers: [restrictedContainer("init")],
      securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
      ...spec,
    },
  };
}

/** A Pod with no security settings at all: passes baseline, fails restricted. */
export function plainPod(spec: Partial<PodSpecLike> = {}, metadata: PodMetadataLike = {}): PodLike {
  return { metadata: { name: "plain", ...metadata }, spec: { containers: [{ name: "app" }], ...spec } };
}

/** A Windows Pod setting only what restricted still requires of Windows Pods. */
export function windowsPod(spec: Partial<PodSpecLike> = {}): PodLike {
  return plainPod({ os: { name: "windows" }, securityContext: { runAsNonRoot: true }, ...spec });
}
