/** Input comes from JSON of any shape: the evaluator must never throw, and treats wrong types as unset. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  evaluatePodSecurity,
  evaluatePodTemplateSecurity,
  type PodLike,
  type PodSecurityLevel,
} from "../../../src/podsecurity/index.js";

const LEVELS: readonly PodSecurityLevel[] = ["privileged", "baseline", "restricted"];
const VERSIONS = ["v1.0", "v1.18", "v1.25", "v1.35", "latest"];

/** Casts untrusted JSON the way a caller decoding a request body would. */
function asPod(value: unknown): PodLike {
  return value as PodLike;
}

function evaluateEverywhere(value: unknown): void {
  for (const level of LEVELS) {
    for (const version of VERSIONS) {
      evaluatePodSecurity(asPod(value), level, version);
      evaluatePodTemplateSecurity(asPod(value), level, version);
    }
  }
}

const MALFORMED: readonly unknown[] = [
  null,
  undefined,
  42,
  "pod",
  [],
  { metadata: "x", spec: 7 },
  { metadata: { annotations: ["a"] }, spec: { containers: "app" } },
  { metadata: { annotations: { "container.apparmor.security.beta.kubernetes.io/app": 5 } } },
  { spec: { containers: [null, 1, "x", { name: 3, securityContext: "privileged" }] } },
  { spec: { containers: [{ ports: [null, { hostPort: "80" }], securityContext: { capabilities: { add: "ALL" } } }] } },
  { spec: { containers: [{ livenessProbe: "x", lifecycle: { postStart: [], preStop: { httpGet: 1 } } }] } },
  { spec: { initContainers: {}, ephemeralContainers: [[]], volumes: [null, "v", { name: 1, hostPath: "x" }] } },
  { spec: { securityContext: { sysctls: [null, {}, { name: 1 }], seccompProfile: "Unconfined", seLinuxOptions: [] } } },
  { spec: { os: "windows", hostUsers: "false", securityContext: { windowsOptions: null, appArmorProfile: 1 } } },
];

describe("malformed input", () => {
  it.each(MALFORMED.map((value) => [JSON.stringify(value) ?? "undefined", value]))(
    "%s does not throw",
    (_label, value) => {
      expect(() => evaluateEverywhere(value)).not.toThrow();
    },
  );

  it("arbitrary JSON values never throw", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => evaluateEverywhere(value)),
      { numRuns: 300 },
    );
  });

  it("Pod-shaped objects with arbitrary field values never throw", () => {
    const anyValue = fc.oneof(fc.jsonValue(), fc.constant(undefined));
    const container = fc.record({
      name: anyValue,
      securityContext: anyValue,
      ports: anyValue,
      livenessProbe: anyValue,
    });
    const pod = fc.record({
      metadata: fc.record({ annotations: anyValue }),
      spec: fc.record({
        hostNetwork: anyValue,
        os: anyValue,
        securityContext: anyValue,
        containers: fc.oneof(fc.array(container), anyValue),
        volumes: anyValue,
      }),
    });
    fc.assert(
      fc.property(pod, (value) => evaluateEverywhere(value)),
      { numRuns: 300 },
    );
  });

  it("wrong-typed fields count as unset", () => {
    const pod = asPod({
      spec: {
        hostNetwork: "true",
        containers: [
          { name: "app", securityContext: { privileged: "true", runAsUser: "0" }, ports: [{ hostPort: "80" }] },
        ],
        securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
      },
    });
    expect(evaluatePodSecurity(pod, "baseline", "latest")).toEqual({ allowed: true, violations: [] });
  });

  it("an empty or missing Pod passes every level", () => {
    for (const level of LEVELS) {
      expect(evaluatePodSecurity({}, level, "latest").allowed).toBe(true);
      expect(evaluatePodSecurity(asPod(null), level, "latest").allowed).toBe(true);
    }
  });
});
