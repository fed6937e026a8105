import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  RISK_FACTOR_NAMES,
  RISK_FACTOR_POINTS,
  formatRiskFactors,
  scoreRisk,
  type RiskInput,
} from "../../../src/risk/index.js";

const DIGEST = `sha256:${"cd".repeat(32)}`;
const WEDNESDAY_NOON = new Date("2024-05-15T12:00:00Z");

function deployment(
  options: {
    image?: string;
    replicas?: number;
    container?: Record<string, unknown>;
    podSpec?: Record<string, unknown>;
  } = {},
): Record<string, unknown> {
  return {
    kind: "Deployment",
    metadata: { name: "web", namespace: "prod" },
    spec: {
      replicas: options.replicas ?? 2,
      template: {
        spec: {
          containers: [{ name: "web", image: options.image ?? `ghcr.io/acme/web:1.2@${DIGEST}`, ...options.container }],
          ...options.podSpec,
        },
      },
    },
  };
}

function update(
  oldObject: Record<string, unknown>,
  object: Record<string, unknown>,
  extra: Partial<RiskInput> = {},
): RiskInput {
  return {
    operation: "UPDATE",
    kind: "Deployment",
    object,
    oldObject,
    namespaceLabels: {},
    now: WEDNESDAY_NOON,
    ...extra,
  };
}

function factorNames(input: RiskInput): string[] {
  return scoreRisk(input).factors.map((factor) => factor.name);
}

function factor(input: RiskInput, name: string): { name: string; points: number; detail: string } | undefined {
  return scoreRisk(input).factors.find((f) => f.name === name);
}

describe("scoreRisk", () => {
  it("scores an unchanged pinned workload on a weekday at noon as 0", () => {
    expect(scoreRisk(update(deployment(), deployment()))).toEqual({ score: 0, factors: [] });
  });

  it("new-workload on CREATE", () => {
    const input: RiskInput = { ...update(deployment(), deployment()), operation: "CREATE", oldObject: null };
    expect(factorNames(input)).toEqual(["new-workload"]);
    expect(factor(input, "new-workload")).toEqual({ name: "new-workload", points: 10, detail: "new Deployment" });
  });

  it("new-registry against the old object's image sources", () => {
    const input = update(deployment(), deployment({ image: `ghcr.io/evil/web:1.2@${DIGEST}` }));
    expect(factor(input, "new-registry")).toEqual({
      name: "new-registry",
      points: RISK_FACTOR_POINTS["new-registry"],
      detail: "images from ghcr.io/evil, not used by this Deployment before",
    });
    expect(
      factor(update(deployment(), deployment({ image: `ghcr.io/acme/api:9@${DIGEST}` })), "new-registry"),
    ).toBeUndefined();
  });

  it("new-registry against knownRegistries on CREATE, and not at all without a baseline", () => {
    const create = (knownRegistries?: string[]): RiskInput => ({
      operation: "CREATE",
      kind: "Deployment",
      object: deployment({ image: `quay.io/acme/web@${DIGEST}` }),
      oldObject: null,
      namespaceLabels: {},
      now: WEDNESDAY_NOON,
      ...(knownRegistries === undefined ? {} : { knownRegistries }),
    });
    expect(factorNames(create())).not.toContain("new-registry");
    expect(factorNames(create(["ghcr.io/acme"]))).toContain("new-registry");
    expect(factorNames(create(["quay.io/acme/"]))).not.toContain("new-registry");
    expect(factorNames(create(["quay.io"]))).not.toContain("new-registry");
  });

  it("new-image and new-owner against the namespace's approved history, and not at all without one", () => {
    const create = (image: string, history?: RiskInput["approvedHistory"], requester = "dev"): RiskInput => ({
      operation: "CREATE",
      kind: "Deployment",
      object: deployment({ image }),
      oldObject: null,
      namespaceLabels: {},
      now: WEDNESDAY_NOON,
      requester,
      knownRegistries: ["ghcr.io/acme"],
      ...(history === undefined ? {} : { approvedHistory: history }),
    });
    const history = { repositories: ["ghcr.io/acme/web"], requesters: ["dev"] };
    expect(factorNames(create(`ghcr.io/acme/web@${DIGEST}`))).not.toContain("new-image");
    expect(factorNames(create(`ghcr.io/acme/web@${DIGEST}`, history))).not.toContain("new-image");
    expect(factor(create(`ghcr.io/acme/miner@${DIGEST}`, history), "new-image")?.detail).toBe(
      "ghcr.io/acme/miner: in no change approved in this namespace",
    );
    // A new source is new-registry's to count, not new-image's as well.
    const fromElsewhere = factorNames(create(`quay.io/evil/miner@${DIGEST}`, history));
    expect(fromElsewhere).toContain("new-registry");
    expect(fromElsewhere).not.toContain("new-image");
    expect(factorNames(create(`ghcr.io/acme/web@${DIGEST}`, history, "dev"))).not.toContain("new-owner");
    expect(factor(create(`ghcr.io/acme/web@${DIGEST}`, history, "mallory"), "new-owner")?.detail).toBe(
      "mallory has no approved change in this namespace yet",
    );
    expect(factorNames(create(`ghcr.io/acme/web@${DIGEST}`, undefined, "mallory"))).not.toContain("new-owner");
  });

  it("mutable-tag for images without a digest", () => {
    const input = update(deployment(), deployment({ image: "ghcr.io/acme/web:1.3" }));
    expect(factor(input, "mutable-tag")?.detail).toBe("not pinned by digest: ghcr.io/acme/web:1.3");
  });

  it("privilege-increase only for privileges the old version did not have", () => {
    const privileged = deployment({
      container: { securityContext: { privileged: true, capabilities: { add: ["NET_ADMIN"] } } },
    });
    expect(factor(update(deployment(), privileged), "privilege-increase")?.detail).toBe(
      'container "web" is privileged, container "web" adds capability NET_ADMIN',
    );
    expect(factor(update(privileged, privileged), "privilege-increase")).toBeUndefined();
    const root = deployment({
      podSpec: { securityContext: { runAsUser: 0, runAsNonRoot: false } },
      container: { securityContext: { allowPrivilegeEscalation: true } },
    });
    expect(factor(update(deployment(), root), "privilege-increase")?.detail).toBe(
      'pod runs as root (runAsUser 0), pod may run as root (runAsNonRoot false), container "web" allows privilege escalation',
    );
  });

  it("host-access for host namespaces, hostPath and hostPorts", () => {
    const host = deployment({
      podSpec: {
        hostNetwork: true,
        hostPID: true,
        volumes: [{ name: "docker", hostPath: { path: "/var/run/docker.sock" } }],
      },
      container: { ports: [{ containerPort: 80, hostPort: 8080 }] },
    });
    expect(factor(update(deployment(), host), "host-access")?.detail).toBe(
      'hostNetwork, hostPID, hostPath volume "docker" (/var/run/docker.sock), container "web" hostPort 8080',
    );
  });

  it("critical-namespace from the namespace label", () => {
    expect(
      factorNames(update(deployment(), deployment(), { namespaceLabels: { "aegis.valina.ai/critical": "true" } })),
    ).toEqual(["critical-namespace"]);
    expect(
      factorNames(update(deployment(), deployment(), { namespaceLabels: { "aegis.valina.ai/critical": "false" } })),
    ).toEqual([]);
  });

  it("replicas-jump when replicas more than double or grow by 10", () => {
    expect(factor(update(deployment({ replicas: 2 }), deployment({ replicas: 5 })), "replicas-jump")?.detail).toBe(
      "replicas 2 -> 5",
    );
    expect(factor(update(deployment({ replicas: 2 }), deployment({ replicas: 4 })), "replicas-jump")).toBeUndefined();
    expect(factor(update(deployment({ replicas: 20 }), deployment({ replicas: 30 })), "replicas-jump")).toBeDefined();
    expect(factor(update(deployment({ replicas: 20 }), deployment({ replicas: 29 })), "replicas-jump")).toBeUndefined();
  });

  it.each([
    ["2024-05-18T12:00:00Z", "Saturday 12:00 UTC is a weekend"],
    ["2024-05-19T09:00:00Z", "Sunday 09:00 UTC is a weekend"],
    ["2024-05-15T07:59:00Z", "Wednesday 07:59 UTC is outside 08:00-18:00 UTC"],
    ["2024-05-15T18:00:00Z", "Wednesday 18:00 UTC is outside 08:00-18:00 UTC"],
  ])("outside-working-hours at %s", (time, detail) => {
    expect(factor(update(deployment(), deployment(), { now: new Date(time) }), "outside-working-hours")?.detail).toBe(
      detail,
    );
  });

  it("no outside-working-hours at 08:00 and 17:59 on a weekday", () => {
    for (const time of ["2024-05-15T08:00:00Z", "2024-05-15T17:59:59Z"]) {
      expect(factorNames(update(deployment(), deployment(), { now: new Date(time) }))).toEqual([]);
    }
  });

  it("secret-or-env-change for env, envFrom and secret volumes", () => {
    const withEnv = deployment({ container: { env: [{ name: "A", value: "1" }] } });
    const changedEnv = deployment({ container: { env: [{ name: "A", value: "2" }] } });
    expect(factor(update(withEnv, changedEnv), "secret-or-env-change")?.detail).toBe('changed: env of container "web"');
    expect(factor(update(withEnv, withEnv), "secret-or-env-change")).toBeUndefined();
    const envFrom = deployment({ container: { envFrom: [{ secretRef: { name: "s" } }] } });
    expect(factorNames(update(deployment(), envFrom))).toContain("secret-or-env-change");
    const secretVolume = (secretName: string): Record<string, unknown> =>
      deployment({ podSpec: { volumes: [{ name: "creds", secret: { secretName } }] } });
    expect(factor(update(secretVolume("a"), secretVolume("b")), "secret-or-env-change")?.detail).toBe(
      'changed: secret volume "creds"',
    );
    const projected = deployment({
      podSpec: { volumes: [{ name: "p", projected: { sources: [{ secret: { name: "x" } }] } }] },
    });
    expect(factor(update(deployment(), projected), "secret-or-env-change")?.detail).toBe('changed: secret volume "p"');
    const configMap = deployment({ podSpec: { volumes: [{ name: "cm", configMap: { name: "x" } }] } });
    expect(factor(update(deployment(), configMap), "secret-or-env-change")).toBeUndefined();
  });

  it("image-change with small points", () => {
    const input = update(deployment({ image: "ghcr.io/acme/web:1.2" }), deployment({ image: "ghcr.io/acme/web:1.3" }));
    expect(factor(input, "image-change")).toEqual({
      name: "image-change",
      points: 5,
      detail: "image ghcr.io/acme/web:1.2 -> ghcr.io/acme/web:1.3",
    });
  });

  it("sums points and clamps at 100", () => {
    const worst = deployment({
      image: "docker.io/evil/miner",
      replicas: 50,
      podSpec: { hostNetwork: true, securityContext: { runAsUser: 0 } },
      container: { env: [{ name: "X", value: "y" }], securityContext: { privileged: true } },
    });
    const input = update(deployment(), worst, {
      namespaceLabels: { "aegis.valina.ai/critical": "true" },
      now: new Date("2024-05-18T03:00:00Z"),
    });
    const result = scoreRisk(input);
    expect(result.factors.reduce((sum, f) => sum + f.points, 0)).toBeGreaterThan(100);
    expect(result.score).toBe(100);
  });

  it("formats factors for denial messages", () => {
    expect(
      formatRiskFactors([
        { name: "new-registry", points: 20, detail: "" },
        { name: "mutable-tag", points: 10, detail: "" },
      ]),
    ).toBe("new-registry +20, mutable-tag +10");
  });

  it("exports a points table covering every factor", () => {
    expect(RISK_FACTOR_NAMES).toHaveLength(12);
    expect(Object.values(RISK_FACTOR_POINTS).every((points) => Number.isInteger(points) && points > 0)).toBe(true);
  });

  it("always scores 0-100 with known factors on random input (property)", () => {
    const object = fc.dictionary(fc.string(), fc.jsonValue()) as fc.Arbitrary<Record<string, unknown>>;
    fc.assert(
      fc.property(
        fc.constantFrom("Deployment", "Pod", "CronJob", "Service"),
        object,
        fc.option(object),
        fc.date({ noInvalidDate: true }),
        (kind, newObject, oldObject, now) => {
          const result = scoreRisk({
            operation: oldObject === null ? "CREATE" : "UPDATE",
            kind,
            object: newObject,
            oldObject,
            namespaceLabels: {},
            now,
          });
          expect(result.score).toBeGreaterThanOrEqual(0);
          expect(result.score).toBeLessThanOrEqual(100);
          expect(result.factors.every((f) => (RISK_FACTOR_NAMES as string[]).includes(f.name))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
