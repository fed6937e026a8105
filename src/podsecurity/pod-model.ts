/**
 * The evaluator's own view of a Pod: only the fields the checks read, already type-checked, with
 * lists always present. Built once per evaluation from input of any shape by `readPod`.
 */
import {
  arrayOf,
  asRecord,
  booleanOf,
  integerOf,
  recordOrEmpty,
  stringListOf,
  stringMapOf,
  stringOf,
  type JsonRecord,
} from "../json/read-json.js";

export interface ProfileRef {
  /** `""` when the profile object is present without a type (which API validation would reject). */
  readonly type: string;
}

export interface SELinuxOptions {
  readonly user: string;
  readonly role: string;
  readonly type: string;
}

interface CommonSecurityContext {
  readonly runAsNonRoot: boolean | undefined;
  readonly runAsUser: number | undefined;
  readonly seccompProfile: ProfileRef | undefined;
  readonly appArmorProfile: ProfileRef | undefined;
  readonly seLinuxOptions: SELinuxOptions | undefined;
  readonly windowsHostProcess: boolean | undefined;
}

export interface PodSecurityContext extends CommonSecurityContext {
  readonly sysctlNames: readonly string[];
}

export interface Capabilities {
  readonly add: readonly string[];
  readonly drop: readonly string[];
}

export interface ContainerSecurityContext extends CommonSecurityContext {
  readonly privileged: boolean | undefined;
  readonly allowPrivilegeEscalation: boolean | undefined;
  readonly procMount: string | undefined;
  readonly capabilities: Capabilities | undefined;
}

export const HANDLER_FIELDS = [
  "livenessProbe",
  "readinessProbe",
  "startupProbe",
  "lifecycle.postStart",
  "lifecycle.preStop",
] as const;
export type HandlerField = (typeof HANDLER_FIELDS)[number];

/** A probe or lifecycle handler, reduced to the hosts it may connect to. */
export interface Handler {
  readonly field: HandlerField;
  readonly httpGetHost: string | undefined;
  readonly tcpSocketHost: string | undefined;
}

export interface Container {
  readonly name: string;
  readonly securityContext: ContainerSecurityContext;
  readonly hostPorts: readonly number[];
  readonly handlers: readonly Handler[];
}

export interface Volume {
  readonly name: string;
  /** The volume source fields that are set, e.g. `hostPath`. */
  readonly sources: ReadonlySet<string>;
}

export interface PodSpec {
  readonly hostNetwork: boolean | undefined;
  readonly hostPID: boolean | undefined;
  readonly hostIPC: boolean | undefined;
  readonly hostUsers: boolean | undefined;
  readonly osName: string | undefined;
  readonly securityContext: PodSecurityContext;
  /** Init, regular and ephemeral containers, in upstream's visiting order. */
  readonly containers: readonly Container[];
  readonly volumes: readonly Volume[];
}

export interface Pod {
  readonly annotations: ReadonlyMap<string, string>;
  readonly spec: PodSpec;
}

export function readPod(input: unknown): Pod {
  const pod = recordOrEmpty(input);
  return {
    annotations: new Map(Object.entries(stringMapOf(recordOrEmpty(pod["metadata"])["annotations"]))),
    spec: readPodSpec(recordOrEmpty(pod["spec"])),
  };
}

function readPodSpec(spec: JsonRecord): PodSpec {
  return {
    hostNetwork: booleanOf(spec["hostNetwork"]),
    hostPID: booleanOf(spec["hostPID"]),
    hostIPC: booleanOf(spec["hostIPC"]),
    hostUsers: booleanOf(spec["hostUsers"]),
    osName: stringOf(recordOrEmpty(spec["os"])["name"]),
    securityContext: readPodSecurityContext(recordOrEmpty(spec["securityContext"])),
    containers: ["initContainers", "containers", "ephemeralContainers"].flatMap((field) =>
      arrayOf(spec[field]).flatMap(readContainer),
    ),
    volumes: arrayOf(spec["volumes"]).flatMap(readVolume),
  };
}

function readCommonSecurityContext(context: JsonRecord): CommonSecurityContext {
  return {
    runAsNonRoot: booleanOf(context["runAsNonRoot"]),
    runAsUser: integerOf(context["runAsUser"]),
    seccompProfile: readProfileRef(context["seccompProfile"]),
    appArmorProfile: readProfileRef(context["appArmorProfile"]),
    seLinuxOptions: readSELinuxOptions(context["seLinuxOptions"]),
    windowsHostProcess: booleanOf(recordOrEmpty(context["windowsOptions"])["hostProcess"]),
  };
}

function readPodSecurityContext(context: JsonRecord): PodSecurityContext {
  return {
    ...readCommonSecurityContext(context),
    sysctlNames: arrayOf(context["sysctls"]).flatMap((sysctl) => {
      const record = asRecord(sysctl);
      return record === undefined ? [] : [stringOf(record["name"]) ?? ""];
    }),
  };
}

function readContainerSecurityContext(context: JsonRecord): ContainerSecurityContext {
  return {
    ...readCommonSecurityContext(context),
    privileged: booleanOf(context["privileged"]),
    allowPrivilegeEscalation: booleanOf(context["allowPrivilegeEscalation"]),
    procMount: stringOf(context["procMount"]),
    capabilities: readCapabilities(context["capabilities"]),
  };
}

function readProfileRef(value: unknown): ProfileRef | undefined {
  const profile = asRecord(value);
  if (profile === undefined) return undefined;
  return { type: stringOf(profile["type"]) ?? "" };
}

function readSELinuxOptions(value: unknown): SELinuxOptions | undefined {
  const options = asRecord(value);
  if (options === undefined) return undefined;
  return {
    user: stringOf(options["user"]) ?? "",
    role: stringOf(options["role"]) ?? "",
    type: stringOf(options["type"]) ?? "",
  };
}

function readCapabilities(value: unknown): Capabilities | undefined {
  const capabilities = asRecord(value);
  if (capabilities === undefined) return undefined;
  return { add: stringListOf(capabilities["add"]), drop: stringListOf(capabilities["drop"]) };
}

function readContainer(value: unknown): Container[] {
  const container = asRecord(value);
  if (container === undefined) return [];
  return [
    {
      name: stringOf(container["name"]) ?? "",
      securityContext: readContainerSecurityContext(recordOrEmpty(container["securityContext"])),
      hostPorts: arrayOf(container["ports"]).flatMap((port) => {
        const hostPort = integerOf(asRecord(port)?.["hostPort"]);
        return hostPort === undefined ? [] : [hostPort];
      }),
      handlers: readHandlers(container),
    },
  ];
}

function readHandlers(container: JsonRecord): Handler[] {
  const lifecycle = recordOrEmpty(container["lifecycle"]);
  const handlerValues: Record<HandlerField, unknown> = {
    livenessProbe: container["livenessProbe"],
    readinessProbe: container["readinessProbe"],
    startupProbe: container["startupProbe"],
    "lifecycle.postStart": lifecycle["postStart"],
    "lifecycle.preStop": lifecycle["preStop"],
  };
  return HANDLER_FIELDS.flatMap((field) => {
    const handler = asRecord(handlerValues[field]);
    if (handler === undefined) return [];
    return [
      {
        field,
        httpGetHost: stringOf(asRecord(handler["httpGet"])?.["host"]),
        tcpSocketHost: stringOf(asRecord(handler["tcpSocket"])?.["host"]),
      },
    ];
  });
}

function readVolume(value: unknown): Volume[] {
  const volume = asRecord(value);
  if (volume === undefined) return [];
  const sources = Object.entries(volume)
    .filter(([field, source]) => field !== "name" && asRecord(source) !== undefined)
    .map(([field]) => field);
  return [{ name: stringOf(volume["name"]) ?? "", sources: new Set(sources) }];
}
