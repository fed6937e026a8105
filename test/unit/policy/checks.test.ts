import { describe, expect, it } from "vitest";
import { evaluate, type GateRequest, type Violation } from "../../../src/policy/index.js";
import { DIGEST, compliantContainer, deployment, gateRequest, policyWithChecks } from "./fixtures.js";

function violationsOf(check: Record<string, unknown>, request: GateRequest): Violation[] {
  return [...evaluate([policyWithChecks([{ name: "c", ...check }])], request).denied];
}

function messages(
  check: Record<string, unknown>,
  object: Record<string, unknown>,
  overrides: Partial<GateRequest> = {},
): string[] {
  return violationsOf(check, gateRequest(object, overrides)).map((violation) => violation.message);
}

const withImages = (...images: string[]): Record<string, unknown> =>
  deployment({ containers: images.map((image, index) => compliantContainer(`c${index}`, image)) });

describe("podSecurity", () => {
  const check = { podSecurity: { level: "restricted", version: "latest" } };

  it("passes a restricted pod template", () => {
    expect(messages(check, deployment())).toEqual([]);
  });

  it("gives one violation per failing PSA rule, naming the rule", () => {
    const object = deployment({
      containers: [{ name: "web", image: "ghcr.io/acme/web:1" }],
      podSpec: { hostNetwork: true },
    });
    const violations = violationsOf(check, gateRequest(object));
    expect(violations.map((v) => v.rule)).toEqual(
      expect.arrayContaining([
        "hostNamespaces",
        "allowPrivilegeEscalation",
        "runAsNonRoot",
        "seccompProfile_restricted",
        "capabilities_restricted",
      ]) as unknown,
    );
    for (const violation of violations) {
      expect(violation.message).toContain(violation.rule);
      expect(violation.message).toContain('PodSecurity "restricted:latest"');
    }
  });

  it("baseline allows what restricted refuses", () => {
    const object = deployment({ containers: [{ name: "web", image: "ghcr.io/acme/web:1" }] });
    expect(messages({ podSecurity: { level: "baseline", version: "latest" } }, object)).toEqual([]);
    expect(
      messages({ podSecurity: { level: "baseline", version: "v1.30" } }, deployment({ podSpec: { hostPID: true } })),
    ).toHaveLength(1);
  });

  it("applies to a bare Pod and to a CronJob's template", () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: { hostIPC: true, containers: [compliantContainer()] },
    };
    expect(violationsOf(check, gateRequest(pod)).map((v) => v.rule)).toEqual(["hostNamespaces"]);
    const cronJob = {
      kind: "CronJob",
      metadata: { name: "cj" },
      spec: { jobTemplate: { spec: { template: { spec: { hostPID: true, containers: [compliantContainer()] } } } } },
    };
    expect(violationsOf(check, gateRequest(cronJob)).map((v) => v.rule)).toEqual(["hostNamespaces"]);
  });
});

describe("allowedRegistries", () => {
  const check = { allowedRegistries: ["ghcr.io/acme/", "docker.io/library/"] };

  it("passes images under an allowed prefix, normalising Docker Hub names", () => {
    expect(messages(check, withImages("ghcr.io/acme/web:1", "nginx:1.25", "library/redis:7"))).toEqual([]);
  });

  it("gives one violation per offending container and notes the normalisation", () => {
    const found = messages(check, withImages("ghcr.io/acme/web:1", "bitnami/redis:7", "quay.io/evil/x:1"));
    expect(found).toEqual([
      'container "c1" uses image "bitnami/redis:7" (normalised to docker.io/bitnami/redis:7), not from an allowed registry (ghcr.io/acme/, docker.io/library/)',
      'container "c2" uses image "quay.io/evil/x:1", not from an allowed registry (ghcr.io/acme/, docker.io/library/)',
    ]);
  });

  it("checks init containers too and refuses a missing image", () => {
    const object = deployment({ initContainers: [{ name: "init", image: "quay.io/x/y:1" }, { name: "none" }] });
    expect(messages(check, object)).toEqual([
      expect.stringMatching(/^init container "init" uses image "quay.io\/x\/y:1"/) as unknown,
      'init container "none" has no image',
    ]);
  });
});

describe("requireImageDigest", () => {
  it("passes @sha256 digests and flags tags", () => {
    expect(messages({ requireImageDigest: true }, withImages(`ghcr.io/acme/web@${DIGEST}`))).toEqual([]);
    expect(
      messages({ requireImageDigest: true }, withImages("ghcr.io/acme/web:1.3", "ghcr.io/acme/web@sha256:123")),
    ).toEqual([
      'container "c0" uses image "ghcr.io/acme/web:1.3" without a digest (@sha256:<64 hex>)',
      'container "c1" uses image "ghcr.io/acme/web@sha256:123", which is not a valid image reference: digest "sha256:123" is not algorithm:hex (e.g. sha256:<64 hex digits>)',
    ]);
  });

  it("is off when false", () => {
    expect(messages({ requireImageDigest: false }, withImages("nginx"))).toEqual([]);
  });
});

describe("disallowLatestTag", () => {
  it("flags latest and an untagged image without a digest", () => {
    expect(
      messages({ disallowLatestTag: true }, withImages("nginx:latest", "nginx", "nginx:1.25", `nginx@${DIGEST}`)),
    ).toEqual([
      'container "c0" uses image "nginx:latest" with the tag latest',
      'container "c1" uses image "nginx" with no tag and no digest, which means latest',
    ]);
  });

  it("is off when false", () => {
    expect(messages({ disallowLatestTag: false }, withImages("nginx"))).toEqual([]);
  });
});

describe("requireResources", () => {
  const check = { requireResources: { requests: ["cpu", "memory"], limits: ["memory"] } };

  it("passes containers that set them", () => {
    expect(messages(check, deployment())).toEqual([]);
  });

  it("lists what each container and init container misses", () => {
    const object = deployment({
      containers: [{ name: "web", image: "x", resources: { requests: { cpu: "1", memory: "" } } }],
      initContainers: [{ name: "init", image: "x" }],
    });
    expect(messages(check, object)).toEqual([
      'container "web" does not set resources requests.memory, limits.memory',
      'init container "init" does not set resources requests.cpu, requests.memory, limits.memory',
    ]);
  });

  it("ignores ephemeral containers, which cannot have resources", () => {
    const object = deployment({ podSpec: { ephemeralContainers: [{ name: "debug", image: "busybox" }] } });
    expect(messages(check, object)).toEqual([]);
  });
});

describe("requiredLabels", () => {
  const check = { requiredLabels: ["app.kubernetes.io/name", "team"] };

  it("passes when the object's metadata has every label", () => {
    expect(messages(check, deployment())).toEqual([]);
  });

  it("gives one violation per missing label and points at template-only labels", () => {
    const object = deployment({ labels: {} });
    (object["spec"] as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels[
      "team"
    ] = "payments";
    expect(messages(check, object)).toEqual([
      'Deployment has no label "app.kubernetes.io/name" in metadata.labels',
      'Deployment has no label "team" in metadata.labels (it is set on the pod template only)',
    ]);
  });
});

describe("cel", () => {
  it("passes a true expression and reports the message of a false one", () => {
    expect(
      messages({ cel: "object.spec.replicas <= 10", message: "at most 10 replicas" }, deployment({ replicas: 10 })),
    ).toEqual([]);
    expect(
      messages({ cel: "object.spec.replicas <= 10", message: "at most 10 replicas" }, deployment({ replicas: 11 })),
    ).toEqual(["at most 10 replicas"]);
  });

  it("defaults the message to one naming the expression", () => {
    expect(messages({ cel: "object.spec.replicas <= 2" }, deployment())).toEqual([
      'CEL expression "object.spec.replicas <= 2" is false',
    ]);
  });

  it("sees oldObject as null on CREATE and the old object on UPDATE", () => {
    const noScaleDown = {
      cel: "oldObject == null || object.spec.replicas >= oldObject.spec.replicas",
      message: "no scale-down",
    };
    expect(messages(noScaleDown, deployment({ replicas: 1 }))).toEqual([]);
    const update = { operation: "UPDATE" as const, oldObject: deployment({ replicas: 3 }) };
    expect(messages(noScaleDown, deployment({ replicas: 2 }), update)).toEqual(["no scale-down"]);
    expect(messages(noScaleDown, deployment({ replicas: 4 }), update)).toEqual([]);
  });

  it("fails closed on an evaluation error, without throwing", () => {
    const violations = violationsOf({ cel: "object.spec.paused == false" }, gateRequest(deployment()));
    expect(violations).toEqual([
      expect.objectContaining({
        rule: "celError",
        message: expect.stringMatching(
          /^CEL expression "object.spec.paused == false" could not be evaluated: .*paused/,
        ) as unknown,
      }),
    ]);
  });

  it("fails closed on a non-bool result", () => {
    expect(messages({ cel: "object.metadata.name" }, deployment())).toEqual([
      'CEL expression "object.metadata.name" returned "web", not a bool',
    ]);
  });

  it("can use has() and macros over containers", () => {
    const allPinned = { cel: "object.spec.template.spec.containers.all(c, c.image.contains('@sha256:'))" };
    expect(messages(allPinned, deployment())).toEqual([]);
    expect(messages(allPinned, withImages("nginx:1"))).toHaveLength(1);
    expect(messages({ cel: "!has(object.spec.paused) || !object.spec.paused" }, deployment())).toEqual([]);
  });
});
