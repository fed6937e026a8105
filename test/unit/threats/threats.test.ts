import { describe, expect, it } from "vitest";
import { aegisPolicySchema } from "../../../src/api/v1alpha1/index.js";
import { AegisMetrics } from "../../../src/observability/metrics.js";
import {
  LOCKDOWN_ANNOTATION,
  lockdownReasonFrom,
  denialBurstDetector,
  newRegistryDetector,
  observationFromDecision,
  observationOf,
  offHoursDetector,
  privilegedBurstDetector,
  rateAnomalyDetector,
  runLocally,
  threatEvidence,
  ThreatDetector,
  type AdmissionObservation,
  type Threat,
} from "../../../src/threats/index.js";

const T0 = new Date("2026-03-03T10:00:00Z"); // a Tuesday, working hours

function obs(overrides: Partial<AdmissionObservation> = {}, offsetMs = 0): AdmissionObservation {
  return {
    at: new Date(T0.getTime() + offsetMs),
    user: "mallory",
    groups: ["developers"],
    namespace: "prod",
    kind: "Deployment",
    allowed: true,
    reason: "ChecksPassed",
    privileged: false,
    registries: ["ghcr.io/acme"],
    ...overrides,
  };
}

describe("the threat detector", () => {
  it("raises a threat for 50 denied requests from one user in a minute, in status() and in the metrics", async () => {
    const metrics = new AegisMetrics({ defaultMetrics: false });
    const raised: Threat[] = [];
    const now = { value: T0 };
    const detector = new ThreatDetector({
      now: () => now.value,
      onThreat: (threat) => {
        raised.push(threat);
        metrics.threats.inc({ severity: threat.severity });
      },
    });
    for (let i = 0; i < 50; i += 1) {
      now.value = new Date(T0.getTime() + i * 1_000);
      detector.observe(obs({ allowed: false, reason: "PolicyViolation" }, i * 1_000));
    }
    await detector.flush();
    const status = await detector.status();
    expect(status.observed).toBe(50);
    expect(status.counts.high).toBeGreaterThanOrEqual(1);
    expect(status.recent).toContainEqual(
      expect.objectContaining({
        detector: "denial-burst",
        severity: "high",
        source: { type: "user", name: "mallory" },
      }),
    );
    expect(status.topSources[0]).toMatchObject({ type: "user", name: "mallory", highest: "high" });
    expect(status.mode).toBe("lockdown");
    expect(detector.extraApprovals()).toBe(1);
    const highs = raised.filter((t) => t.severity === "high").length;
    expect(await metrics.registry.metrics()).toMatch(new RegExp(`aegis_threats_total\\{severity="high"\\} ${highs}`));
    expect(raised.filter((t) => t.detector === "denial-burst").map((t) => t.severity)).toEqual(["medium", "high"]);
  });

  it("ends an automatic lockdown after its period, keeps a manual one until cleared", async () => {
    const now = { value: T0 };
    const modes: string[] = [];
    const detector = new ThreatDetector({
      now: () => now.value,
      lockdownMs: 60_000,
      onModeChange: (mode) => modes.push(mode),
    });
    for (let i = 0; i < 30; i += 1) detector.observe(obs({ allowed: false }, i));
    await detector.flush();
    expect(detector.mode()).toBe("lockdown");
    now.value = new Date(T0.getTime() + 61_000);
    expect(detector.mode()).toBe("normal");
    detector.setManualLockdown("incident 42");
    now.value = new Date(T0.getTime() + 10 * 3_600_000);
    expect(await detector.status()).toMatchObject({
      mode: "lockdown",
      lockdown: { manual: true, reason: "incident 42" },
      extraApprovals: 1,
    });
    detector.setManualLockdown("incident 42");
    detector.setManualLockdown(null);
    expect(detector.mode()).toBe("normal");
    expect(modes).toEqual(["lockdown", "normal", "lockdown", "normal"]);
  });

  it("a manual clear leaves an automatic lockdown running; clearLockdown ends it", async () => {
    const detector = new ThreatDetector({ now: () => T0 });
    for (let i = 0; i < 30; i += 1) detector.observe(obs({ allowed: false }, i));
    await detector.flush();
    detector.setManualLockdown(null);
    expect(detector.mode()).toBe("lockdown");
    await detector.clearLockdown();
    expect(detector.mode()).toBe("normal");
  });

  it("reads a manual lockdown from an AegisPolicy annotation", () => {
    const policy = (name: string, annotations?: Record<string, string>) => ({
      policy: aegisPolicySchema.parse({
        apiVersion: "aegis.valina.ai/v1alpha1",
        kind: "AegisPolicy",
        metadata: { name, ...(annotations ? { annotations } : {}) },
        spec: { match: { kinds: ["Deployment"] } },
      }),
    });
    expect(lockdownReasonFrom([policy("a"), policy("b")])).toBeNull();
    expect(lockdownReasonFrom([policy("b", { [LOCKDOWN_ANNOTATION]: "incident 7" }), policy("a")])).toBe(
      "incident 7 (AegisPolicy b)",
    );
  });
});

describe("detectors", () => {
  it("denial bursts: nothing below the threshold, once per level per cooldown", () => {
    const detect = runLocally(
      denialBurstDetector({ windowMs: 60_000, levels: { medium: 5, high: 10 }, cooldownMs: 300_000 }),
    );
    const results = Array.from({ length: 12 }, (_, i) => detect.observe(obs({ allowed: false }, i * 100)));
    expect(results.map((r) => r.map((t) => t.severity).join())).toEqual([
      "",
      "",
      "",
      "",
      "medium",
      "",
      "",
      "",
      "",
      "high",
      "",
      "",
    ]);
    expect(detect.observe(obs({ allowed: true }, 2_000))).toEqual([]);
    // Spread over more than the window, the same number of denials is no burst.
    const slow = runLocally(denialBurstDetector({ windowMs: 60_000, levels: { medium: 5 }, cooldownMs: 1 }));
    expect(Array.from({ length: 10 }, (_, i) => slow.observe(obs({ allowed: false }, i * 20_000))).flat()).toEqual([]);
  });

  it("privileged attempts: a denied one is low, repeated ones high; admitted privilege is not counted", () => {
    const detect = runLocally(privilegedBurstDetector());
    expect(detect.observe(obs({ privileged: true, allowed: true }))).toEqual([]);
    expect(detect.observe(obs({ privileged: true, allowed: false }))[0]?.severity).toBe("low");
    const later = [1, 2, 3, 4].flatMap((i) => detect.observe(obs({ privileged: true, allowed: false }, i * 1_000)));
    expect(later.map((t) => t.severity)).toEqual(["high"]);
  });

  it("rate anomalies: a user far above their usual rate", () => {
    const detect = runLocally(
      rateAnomalyDetector("user", {
        alpha: 0.2,
        zThreshold: 4,
        minPerMinute: 20,
        warmUpMinutes: 10,
        cooldownMs: 600_000,
      }),
    );
    const quiet = Array.from({ length: 30 }, (_, minute) =>
      [0, 1].flatMap((k) => detect.observe(obs({}, minute * 60_000 + k * 1_000))),
    ).flat();
    expect(quiet).toEqual([]);
    const burst = Array.from({ length: 40 }, (_, i) => detect.observe(obs({}, 30 * 60_000 + i * 500))).flat();
    expect(burst[0]).toMatchObject({
      detector: "user-rate",
      severity: "medium",
      source: { type: "user", name: "mallory" },
    });
    expect(burst).toHaveLength(1);
  });

  it("namespace rate uses the namespace as the source, and is silent while warming up", () => {
    const detect = runLocally(
      rateAnomalyDetector("namespace", {
        alpha: 0.2,
        zThreshold: 2,
        minPerMinute: 5,
        warmUpMinutes: 3,
        cooldownMs: 600_000,
      }),
    );
    expect(Array.from({ length: 50 }, (_, i) => detect.observe(obs({ user: `u${i}` }, i))).flat()).toEqual([]);
    const threats = Array.from({ length: 100 }, (_, i) =>
      detect.observe(obs({ user: `u${i}` }, 5 * 60_000 + i)),
    ).flat();
    expect(threats[0]?.source).toEqual({ type: "namespace", name: "prod" });
  });

  it("a busy fresh replica does not lock down: 100 allowed requests in a minute raise nothing high", async () => {
    const detector = new ThreatDetector({ now: () => T0 });
    for (let i = 0; i < 100; i += 1) detector.observe(obs({}, i * 500));
    await detector.flush();
    expect(await detector.status()).toMatchObject({ mode: "normal", counts: { high: 0, critical: 0 } });
  });

  it("off-hours activity: low, once an hour per user", () => {
    const detect = runLocally(offHoursDetector());
    expect(detect.observe(obs())).toEqual([]);
    const night = (ms: number): AdmissionObservation => ({
      ...obs(),
      at: new Date(Date.parse("2026-03-03T23:30:00Z") + ms),
    });
    expect(detect.observe(night(0))[0]).toMatchObject({ severity: "low", detector: "off-hours" });
    expect(detect.observe(night(60_000))).toEqual([]);
    expect(detect.observe({ ...obs(), at: new Date("2026-03-07T12:00:00Z") })).toHaveLength(1); // Saturday
  });

  it("registries never seen: silent while learning, then medium (high when privileged)", () => {
    const detect = runLocally(newRegistryDetector({ known: ["ghcr.io/acme/"], learningMs: 60_000 }));
    expect(detect.observe(obs({ registries: ["quay.io/learnt"] }))).toEqual([]);
    expect(detect.observe(obs({ registries: ["ghcr.io/acme", "quay.io/learnt"] }, 120_000))).toEqual([]);
    const [threat] = detect.observe(obs({ registries: ["evil.example.com/x"], privileged: true }, 121_000));
    expect(threat).toMatchObject({ severity: "high", source: { type: "registry", name: "evil.example.com/x" } });
    expect(detect.observe(obs({ registries: ["evil.example.com/x"] }, 122_000))).toEqual([]);
  });
});

describe("gate glue", () => {
  it("reads privilege and registries from the object", () => {
    const object = {
      spec: {
        template: { spec: { hostNetwork: true, containers: [{ name: "a", image: "docker.io/library/nginx:1" }] } },
      },
    };
    const observation = observationOf({
      at: T0,
      user: "u",
      groups: [],
      namespace: "n",
      kind: "Deployment",
      object,
      allowed: false,
      reason: "PolicyViolation",
    });
    expect(observation.privileged).toBe(true);
    expect(observation.registries).toHaveLength(1);
  });

  it("makes one threat.detected record per threat id", () => {
    const detect = runLocally(denialBurstDetector({ windowMs: 60_000, levels: { medium: 1 }, cooldownMs: 1 }));
    const [threat] = detect.observe(obs({ allowed: false }));
    if (!threat) throw new Error("no threat");
    expect(threatEvidence(threat, "aegis")).toMatchObject({
      id: threat.id,
      type: "threat.detected",
      subject: "user/mallory",
      data: { severity: "medium" },
    });
  });
});

describe("the gate's onDecision payload", () => {
  it("maps to an observation, inferring privilege from Pod Security violations", () => {
    const decision = {
      at: T0,
      user: "u",
      groups: ["g"],
      namespace: "prod",
      kind: "Deployment",
      name: "web",
      operation: "UPDATE",
      allowed: false,
      reason: "PolicyViolation",
      policies: ["p"],
      violations: [{ policy: "p", check: "pss", rule: "privileged", message: "m" }],
      images: ["ghcr.io/acme/web:1", "ghcr.io/acme/api:2", "quay.io/x/y@sha256:abc"],
      riskScore: undefined,
    };
    const observation = observationFromDecision(decision);
    expect(observation).toMatchObject({ user: "u", allowed: false, privileged: true });
    expect(observation.registries).toHaveLength(2);
    expect(observationFromDecision({ ...decision, violations: [] }).privileged).toBe(false);
    expect(observationFromDecision({ ...decision, violations: [], privileged: true }).privileged).toBe(true);
  });
});
