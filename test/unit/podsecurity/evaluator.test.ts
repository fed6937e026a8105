import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  evaluatePodSecurity,
  evaluatePodTemplateSecurity,
  podSecurityChecksInEffect,
  type PodLike,
  type PodSecurityLevel,
} from "../../../src/podsecurity/index.js";
import { plainPod, restrictedContainer, restrictedPod, windowsPod } from "./pods.js";

function rulesOf(pod: PodLike, level: PodSecurityLevel, version: string): string[] {
  return evaluatePodSecurity(pod, level, version).violations.map((violation) => violation.rule);
}

const everythingForbidden: PodLike = plainPod(
  {
    hostNetwork: true,
    hostPID: true,
    hostIPC: true,
    containers: [
      {
        name: "app",
        ports: [{ containerPort: 80, hostPort: 80 }],
        securityContext: { privileged: true, capabilities: { add: ["SYS_ADMIN"] }, runAsUser: 0 },
      },
    ],
    securityContext: { sysctls: [{ name: "kernel.msgmax", value: "1" }] },
    volumes: [{ name: "root", hostPath: { path: "/" } }],
  },
  { annotations: { "container.apparmor.security.beta.kubernetes.io/app": "unconfined" } },
);

describe("levels", () => {
  it("privileged allows everything", () => {
    expect(evaluatePodSecurity(everythingForbidden, "privileged", "latest")).toEqual({ allowed: true, violations: [] });
    expect(podSecurityChecksInEffect("privileged", "latest")).toEqual([]);
  });

  it("baseline names every failing rule with upstream's wording", () => {
    const result = evaluatePodSecurity(everythingForbidden, "baseline", "latest");
    expect(result.allowed).toBe(false);
    expect(result.violations).toEqual([
      { rule: "hostNamespaces", message: "host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)" },
      { rule: "privileged", message: 'privileged (container "app" must not set securityContext.privileged=true)' },
      {
        rule: "capabilities_baseline",
        message:
          'non-default capabilities (container "app" must not include "SYS_ADMIN" in securityContext.capabilities.add)',
      },
      { rule: "hostPathVolumes", message: 'hostPath volumes (volume "root")' },
      { rule: "hostPorts", message: 'hostPort (container "app" uses hostPort 80)' },
      {
        rule: "appArmorProfile",
        message: 'forbidden AppArmor profile (container.apparmor.security.beta.kubernetes.io/app="unconfined")',
      },
      { rule: "sysctls", message: "forbidden sysctls (kernel.msgmax)" },
    ]);
  });

  it("restricted includes every baseline rule", () => {
    const baseline = podSecurityChecksInEffect("baseline", "latest").map((check) => check.rule);
    const restricted = podSecurityChecksInEffect("restricted", "latest");
    const replaced = new Set(restricted.flatMap((check) => check.overrides));
    for (const rule of baseline) {
      expect(restricted.some((check) => check.rule === rule) || replaced.has(rule)).toBe(true);
    }
    expect(rulesOf(restrictedPod({ hostNetwork: true }), "restricted", "latest")).toEqual(["hostNamespaces"]);
  });

  it("a plain Pod passes baseline but not restricted", () => {
    expect(evaluatePodSecurity(plainPod(), "baseline", "latest").allowed).toBe(true);
    expect(rulesOf(plainPod(), "restricted", "latest")).toEqual([
      "allowPrivilegeEscalation",
      "runAsNonRoot",
      "seccompProfile_restricted",
      "capabilities_restricted",
    ]);
  });
});

describe("restricted rules replace their baseline counterparts", () => {
  const addsNetRaw = restrictedPod({
    containers: [restrictedContainer("app", { capabilities: { drop: ["ALL"], add: ["NET_RAW"] } })],
  });

  it("capabilities_restricted replaces capabilities_baseline from v1.22", () => {
    expect(rulesOf(addsNetRaw, "restricted", "v1.21")).toEqual(["capabilities_baseline"]);
    expect(rulesOf(addsNetRaw, "restricted", "v1.22")).toEqual(["capabilities_restricted"]);
  });

  it("restrictedVolumes replaces hostPathVolumes", () => {
    const pod = restrictedPod({ volumes: [{ name: "host", hostPath: { path: "/" } }] });
    expect(rulesOf(pod, "baseline", "latest")).toEqual(["hostPathVolumes"]);
    expect(rulesOf(pod, "restricted", "latest")).toEqual(["restrictedVolumes"]);
  });

  it("seccompProfile_restricted replaces seccompProfile_baseline from v1.19", () => {
    const pod = restrictedPod({}, { annotations: { "seccomp.security.alpha.kubernetes.io/pod": "unconfined" } });
    expect(rulesOf(pod, "restricted", "v1.18")).toEqual(["seccompProfile_baseline"]);
    expect(rulesOf(pod, "restricted", "v1.19")).toEqual([]);
  });
});

describe("version-gated rules", () => {
  it("allowPrivilegeEscalation exists from v1.8", () => {
    const pod = restrictedPod({ containers: [{ name: "app", securityContext: { capabilities: { drop: ["ALL"] } } }] });
    expect(rulesOf(pod, "restricted", "v1.7")).toEqual([]);
    expect(rulesOf(pod, "restricted", "v1.8")).toEqual(["allowPrivilegeEscalation"]);
  });

  it("runAsUser exists from v1.23", () => {
    const pod = restrictedPod({ containers: [restrictedContainer("app", { runAsUser: 0 })] });
    expect(rulesOf(pod, "restricted", "v1.22")).toEqual([]);
    expect(rulesOf(pod, "restricted", "v1.23")).toEqual(["runAsUser"]);
  });

  it("seccompProfile_baseline reads annotations before v1.19 and fields from v1.19", () => {
    const byAnnotation = plainPod(
      {},
      { annotations: { "container.seccomp.security.alpha.kubernetes.io/app": "unconfined" } },
    );
    const byField = plainPod({ securityContext: { seccompProfile: { type: "Unconfined" } } });
    expect(rulesOf(byAnnotation, "baseline", "v1.18")).toEqual(["seccompProfile_baseline"]);
    expect(rulesOf(byAnnotation, "baseline", "v1.19")).toEqual([]);
    expect(rulesOf(byField, "baseline", "v1.18")).toEqual([]);
    expect(rulesOf(byField, "baseline", "v1.19")).toEqual(["seccompProfile_baseline"]);
  });

  it("hostProbesAndHostLifecycle exists from v1.34", () => {
    const pod = plainPod({
      containers: [{ name: "app", lifecycle: { preStop: { httpGet: { host: "example.com" } } } }],
    });
    expect(rulesOf(pod, "baseline", "v1.33")).toEqual([]);
    expect(evaluatePodSecurity(pod, "baseline", "v1.34").violations).toEqual([
      {
        rule: "hostProbesAndHostLifecycle",
        message: 'probe or lifecycle host (container "app" must not set lifecycle.preStop.httpGet.host)',
      },
    ]);
  });

  it.each([
    ["net.ipv4.ip_local_reserved_ports", "v1.26", "v1.27"],
    ["net.ipv4.tcp_keepalive_time", "v1.28", "v1.29"],
    ["net.ipv4.tcp_rmem", "v1.31", "v1.32"],
    ["net.ipv4.tcp_notsent_lowat", "v1.36", "v1.37"],
  ])("sysctl %s is forbidden at %s and allowed from %s", (name, before, since) => {
    const pod = plainPod({ securityContext: { sysctls: [{ name, value: "1" }] } });
    expect(rulesOf(pod, "baseline", before)).toEqual(["sysctls"]);
    expect(rulesOf(pod, "baseline", since)).toEqual([]);
  });

  it("seLinuxOptions allows container_engine_t from v1.31", () => {
    const pod = plainPod({ securityContext: { seLinuxOptions: { type: "container_engine_t" } } });
    expect(rulesOf(pod, "baseline", "v1.30")).toEqual(["seLinuxOptions"]);
    expect(rulesOf(pod, "baseline", "v1.31")).toEqual([]);
  });

  it("procMount: baseline allows Unmasked in a user namespace from v1.35, restricted never does", () => {
    const unmasked = [restrictedContainer("app", { procMount: "Unmasked" })];
    const inUserNamespace = restrictedPod({ hostUsers: false, containers: unmasked });
    const onHostUsers = restrictedPod({ containers: unmasked });
    expect(rulesOf(inUserNamespace, "baseline", "v1.34")).toEqual(["procMount"]);
    expect(rulesOf(inUserNamespace, "baseline", "v1.35")).toEqual([]);
    expect(rulesOf(onHostUsers, "baseline", "v1.35")).toEqual(["procMount"]);
    expect(rulesOf(inUserNamespace, "restricted", "v1.34")).toEqual(["procMount"]);
    expect(rulesOf(inUserNamespace, "restricted", "v1.35")).toEqual(["procMount_restricted"]);
  });
});

describe("Windows Pods", () => {
  it("are exempt from the Linux-only restricted rules from v1.25", () => {
    expect(rulesOf(windowsPod(), "restricted", "v1.24")).toEqual([
      "allowPrivilegeEscalation",
      "seccompProfile_restricted",
      "capabilities_restricted",
    ]);
    expect(rulesOf(windowsPod(), "restricted", "v1.25")).toEqual([]);
    expect(rulesOf(windowsPod(), "restricted", "latest")).toEqual([]);
  });

  it("still have to run as non-root", () => {
    expect(rulesOf(windowsPod({ securityContext: {} }), "restricted", "latest")).toEqual(["runAsNonRoot"]);
  });

  it("must not use HostProcess containers", () => {
    const pod = windowsPod({
      hostNetwork: true,
      containers: [{ name: "app", securityContext: { windowsOptions: { hostProcess: true } } }],
    });
    expect(rulesOf(pod, "baseline", "latest")).toEqual(["hostNamespaces", "windowsHostProcess"]);
  });

  it("escape the baseline capability rule under restricted, as upstream's override does", () => {
    const pod = windowsPod({ containers: [{ name: "app", securityContext: { capabilities: { add: ["NET_RAW"] } } }] });
    expect(rulesOf(pod, "baseline", "latest")).toEqual(["capabilities_baseline"]);
    expect(rulesOf(pod, "restricted", "latest")).toEqual([]);
  });

  it("are only those declaring spec.os.name windows", () => {
    expect(rulesOf(windowsPod({ os: { name: "linux" } }), "restricted", "latest")).toHaveLength(3);
  });
});

describe("rule details", () => {
  it("ephemeral containers are checked like the others", () => {
    const pod = restrictedPod({
      ephemeralContainers: [restrictedContainer("debugger", { privileged: true, allowPrivilegeEscalation: true })],
    });
    expect(rulesOf(pod, "restricted", "latest")).toEqual(["privileged", "allowPrivilegeEscalation"]);
  });

  it("a volume without a source is an implicit emptyDir, allowed by restricted", () => {
    expect(rulesOf(restrictedPod({ volumes: [{ name: "scratch" }] }), "restricted", "latest")).toEqual([]);
  });

  it("runAsNonRoot on every container stands in for the Pod's", () => {
    const pod = restrictedPod({
      securityContext: { seccompProfile: { type: "RuntimeDefault" } },
      containers: [restrictedContainer("app", { runAsNonRoot: true })],
      initContainers: [restrictedContainer("init", { runAsNonRoot: true })],
    });
    expect(rulesOf(pod, "restricted", "latest")).toEqual([]);
  });

  it("AppArmor profile fields must be RuntimeDefault or Localhost", () => {
    const pod = plainPod({
      securityContext: { appArmorProfile: { type: "Unconfined" } },
      containers: [{ name: "app", securityContext: { appArmorProfile: { type: "Localhost", localhostProfile: "p" } } }],
    });
    expect(evaluatePodSecurity(pod, "baseline", "latest").violations).toEqual([
      {
        rule: "appArmorProfile",
        message: 'forbidden AppArmor profile (pod must not set securityContext.appArmorProfile.type to "Unconfined")',
      },
    ]);
  });
});

describe("input types", () => {
  it("accepts @kubernetes/client-node Pods", () => {
    const pod: V1Pod = {
      metadata: { name: "web" },
      spec: {
        containers: [{ name: "web", image: "nginx" }],
        volumes: [{ name: "logs", hostPath: { path: "/var/log" } }],
      },
    };
    expect(rulesOf(pod, "baseline", "latest")).toEqual(["hostPathVolumes"]);
  });
});

describe("evaluatePodTemplateSecurity", () => {
  it("evaluates a workload's pod template like a Pod", () => {
    const template = { metadata: { labels: { app: "web" } }, spec: { hostPID: true, containers: [{ name: "web" }] } };
    expect(evaluatePodTemplateSecurity(template, "baseline", "latest")).toEqual({
      allowed: false,
      violations: [{ rule: "hostNamespaces", message: "host namespaces (hostPID=true)" }],
    });
    expect(evaluatePodTemplateSecurity({}, "restricted", "latest")).toEqual({ allowed: true, violations: [] });
  });
});
