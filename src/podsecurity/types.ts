/**
 * Public types of the Pod Security Standards evaluator.
 *
 * The `*Like` interfaces describe only the Pod fields the checks read. Input usually comes from
 * JSON of arbitrary shape, so the evaluator never trusts them: every field is re-read
 * defensively, and a missing or wrong-typed field counts as unset.
 */

export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

export interface PodSecurityViolation {
  /** Upstream check id, e.g. `hostNamespaces`. */
  readonly rule: string;
  /** Upstream's forbidden reason and detail, e.g. `host namespaces (hostNetwork=true)`. */
  readonly message: string;
}

export interface PodSecurityResult {
  readonly allowed: boolean;
  readonly violations: readonly PodSecurityViolation[];
}

export interface SeccompProfileLike {
  type?: string;
  localhostProfile?: string;
}

export interface AppArmorProfileLike {
  type?: string;
  localhostProfile?: string;
}

export interface SELinuxOptionsLike {
  user?: string;
  role?: string;
  type?: string;
  level?: string;
}

export interface WindowsOptionsLike {
  hostProcess?: boolean;
}

export interface CapabilitiesLike {
  add?: string[];
  drop?: string[];
}

export interface SysctlLike {
  name?: string;
  value?: string;
}

export interface PodSecurityContextLike {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  seccompProfile?: SeccompProfileLike;
  appArmorProfile?: AppArmorProfileLike;
  seLinuxOptions?: SELinuxOptionsLike;
  windowsOptions?: WindowsOptionsLike;
  sysctls?: SysctlLike[];
}

export interface ContainerSecurityContextLike {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  procMount?: string;
  capabilities?: CapabilitiesLike;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  seccompProfile?: SeccompProfileLike;
  appArmorProfile?: AppArmorProfileLike;
  seLinuxOptions?: SELinuxOptionsLike;
  windowsOptions?: WindowsOptionsLike;
}

export interface ContainerPortLike {
  containerPort?: number;
  hostPort?: number;
}

/** A probe or lifecycle handler; only the fields that can reach another host matter here. */
export interface HandlerLike {
  httpGet?: { host?: string };
  tcpSocket?: { host?: string };
}

export interface ContainerLike {
  name?: string;
  ports?: ContainerPortLike[];
  securityContext?: ContainerSecurityContextLike;
  livenessProbe?: HandlerLike;
  readinessProbe?: HandlerLike;
  startupProbe?: HandlerLike;
  lifecycle?: { postStart?: HandlerLike; preStop?: HandlerLike };
}

export interface VolumeLike {
  name?: string;
  [source: string]: unknown;
}

export interface PodSpecLike {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  hostUsers?: boolean;
  os?: { name?: string };
  securityContext?: PodSecurityContextLike;
  containers?: ContainerLike[];
  initContainers?: ContainerLike[];
  ephemeralContainers?: ContainerLike[];
  volumes?: VolumeLike[];
}

export interface PodMetadataLike {
  name?: string;
  namespace?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface PodLike {
  metadata?: PodMetadataLike;
  spec?: PodSpecLike;
}

/** A workload's `spec.template`: the same shape as a Pod. */
export type PodTemplateLike = PodLike;
