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
  add?: readonly string[];
  drop?: readonly string[];
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
  sysctls?: readonly SysctlLike[];
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
  ports?: readonly ContainerPortLike[];
  securityContext?: ContainerSecurityContextLike;
  livenessProbe?: HandlerLike;
  readinessProbe?: HandlerLike;
  startupProbe?: HandlerLike;
  lifecycle?: { postStart?: HandlerLike; preStop?: HandlerLike };
}

/** A volume's name and its source; only which source is set matters, not its contents. */
export interface VolumeLike {
  name?: string;
  hostPath?: object;
  emptyDir?: object;
  gcePersistentDisk?: object;
  awsElasticBlockStore?: object;
  gitRepo?: object;
  secret?: object;
  nfs?: object;
  iscsi?: object;
  glusterfs?: object;
  persistentVolumeClaim?: object;
  rbd?: object;
  flexVolume?: object;
  cinder?: object;
  cephfs?: object;
  flocker?: object;
  downwardAPI?: object;
  fc?: object;
  azureFile?: object;
  configMap?: object;
  vsphereVolume?: object;
  quobyte?: object;
  azureDisk?: object;
  photonPersistentDisk?: object;
  projected?: object;
  portworxVolume?: object;
  scaleIO?: object;
  storageos?: object;
  csi?: object;
  ephemeral?: object;
  image?: object;
}

export interface PodSpecLike {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  hostUsers?: boolean;
  os?: { name?: string };
  securityContext?: PodSecurityContextLike;
  containers?: readonly ContainerLike[];
  initContainers?: readonly ContainerLike[];
  ephemeralContainers?: readonly ContainerLike[];
  volumes?: readonly VolumeLike[];
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
