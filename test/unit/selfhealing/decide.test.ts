import { describe, expect, it } from "vitest";
import {
  backoffMs,
  DEFAULT_HEALING_TUNING,
  decideHealing,
  lastApprovedRevision,
  rollbackCandidates,
  type HealingInput,
  type HealingSettings,
  type HistoryEntry,
} from "../../../src/selfhealing/index.js";
import { deployment, hashFor, minutesAgo, NOW, pod, replicaSet } from "./fixtures.js";

const settings: HealingSettings = {
  policy: "prod",
  restart: { minRestarts: 5, maxActionsPerHour: 3 },
  rollback: { maxActionsPerHour: 2 },
  dryRun: false,
};
const tuning = DEFAULT_HEALING_TUNING;
const owned = [
  replicaSet("web-3", 3, "ghcr.io/acme/web:3"),
  replicaSet("web-2", 2, "ghcr.io/acme/web:2"),
  replicaSet("web-1", 1, "ghcr.io/acme/web:1"),
];
const crashing = [pod("web-3-a", "web-3", { restarts: 6, waiting: "CrashLoopBackOff" })];

function input(overrides: Partial<HealingInput> = {}): HealingInput {
  const d = deployment();
  return {
    deployment: d,
    pods: crashing,
    settings,
    tuning,
    history: [],
    rollbackTarget: lastApprovedRevision(rollbackCandidates(d, owned), new Set([hashFor("ghcr.io/acme/web:1")])),
    now: NOW,
    ...overrides,
  };
}

const entry = (action: HistoryEntry["action"], minutes: number, reason = "CrashLoop"): HistoryEntry => ({
  action,
  at: minutesAgo(minutes),
  reason,
});

describe("the healing ladder", () => {
  it("restarts a crash-looping Deployment first", () => {
    expect(decideHealing(input())).toMatchObject({ kind: "act", action: "restart", symptom: { kind: "CrashLoop" } });
  });

  it("counts a pod in CrashLoopBackOff below minRestarts, and ignores healthy pods", () => {
    expect(
      decideHealing(input({ pods: [pod("p", "web-3", { restarts: 1, waiting: "CrashLoopBackOff" })] })),
    ).toMatchObject({ kind: "act", action: "restart" });
    expect(decideHealing(input({ pods: [pod("p", "web-3", { restarts: 4 })] }))).toEqual({
      kind: "none",
      why: "no symptom",
    });
  });

  it("waits for the backoff after an action before judging it", () => {
    const decision = decideHealing(input({ history: [entry("restart", 0.5)] }));
    expect(decision).toMatchObject({ kind: "wait", untilMs: Date.parse(minutesAgo(0.5)) + tuning.baseBackoffMs });
  });

  it("rolls back to the newest approved older revision when the restart did not help", () => {
    const decision = decideHealing(input({ history: [entry("restart", 2)] }));
    expect(decision).toMatchObject({
      kind: "act",
      action: "rollback",
      rollbackTo: { replicaSet: { name: "web-1" }, changeHash: hashFor("ghcr.io/acme/web:1") },
    });
  });

  it("opens the breaker when the rollback did not help either", () => {
    const decision = decideHealing(input({ history: [entry("restart", 10), entry("rollback", 5)] }));
    expect(decision).toMatchObject({ kind: "escalate", reason: "NothingHelped" });
  });

  it("escalates instead of rolling back to an unapproved revision", () => {
    expect(decideHealing(input({ history: [entry("restart", 2)], rollbackTarget: undefined }))).toMatchObject({
      kind: "escalate",
      reason: "NoApprovedRevision",
    });
  });

  it("never goes beyond the hourly budget, even across recovered episodes", () => {
    const history = [
      entry("restart", 50),
      entry("recovered", 45, "Healthy"),
      entry("restart", 40),
      entry("recovered", 35, "Healthy"),
      entry("restart", 30),
      entry("recovered", 25, "Healthy"),
    ];
    const restartOnly = { ...settings, rollback: undefined };
    expect(decideHealing(input({ history, settings: restartOnly }))).toMatchObject({
      kind: "escalate",
      reason: "BudgetExhausted",
    });
    // With rollback enabled, a crash loop that restarts keep failing to cure climbs to the next step.
    expect(decideHealing(input({ history }))).toMatchObject({ kind: "act", action: "rollback" });
    const later = new Date(NOW.getTime() + 31 * 60_000);
    expect(decideHealing(input({ history, settings: restartOnly, now: later }))).toMatchObject({
      kind: "act",
      action: "restart",
    });
  });

  it("does nothing while the breaker is open, and recovers when healthy", () => {
    const history = [entry("restart", 10), entry("rollback", 5), entry("escalate", 1, "NothingHelped")];
    expect(decideHealing(input({ history }))).toMatchObject({
      kind: "none",
      why: expect.stringContaining("breaker") as string,
    });
    const healthy = deployment({
      status: { availableReplicas: 2 },
      conditions: [{ type: "Available", status: "True" }],
    });
    expect(decideHealing(input({ history, deployment: healthy, pods: [] }))).toEqual({ kind: "recover" });
  });

  it("keeps the episode open while an older ReplicaSet's pods still serve", () => {
    // A rolling update (maxUnavailable 0): the old pods keep the Deployment Available while the
    // new ones crash-loop, and between two crashes no new pod is in CrashLoopBackOff.
    const history = [entry("restart", 5)];
    const rolling = deployment({
      status: { replicas: 4, updatedReplicas: 2, availableReplicas: 2 },
      conditions: [{ type: "Available", status: "True" }],
    });
    const between = [pod("web-3-a", "web-3", { restarts: 1, lastTerminated: { reason: "Error", exitCode: 1 } })];
    expect(decideHealing(input({ history, deployment: rolling, pods: between }))).toEqual({
      kind: "none",
      why: "no symptom",
    });
    const rolledOut = deployment({
      status: { replicas: 2, updatedReplicas: 2, availableReplicas: 2 },
      conditions: [{ type: "Available", status: "True" }],
    });
    expect(decideHealing(input({ history, deployment: rolledOut, pods: [] }))).toEqual({ kind: "recover" });
  });

  it("rolls back a failed rollout directly", () => {
    const failed = deployment({
      conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }],
    });
    expect(decideHealing(input({ deployment: failed, pods: [] }))).toMatchObject({ kind: "act", action: "rollback" });
  });

  it("deletes stuck pods of a lastingly unavailable Deployment, then restarts", () => {
    const unavailable = deployment({
      conditions: [{ type: "Available", status: "False", lastTransitionTime: minutesAgo(20) }],
    });
    const stuck = [
      pod("web-3-x", "web-3", { deletingMinutesAgo: 15 }),
      pod("web-3-y", "web-3", { phase: "Pending", createdMinutesAgo: 2 }),
    ];
    expect(decideHealing(input({ deployment: unavailable, pods: stuck }))).toMatchObject({
      kind: "act",
      action: "delete-pods",
      pods: [{ name: "web-3-x" }],
    });
    expect(
      decideHealing(input({ deployment: unavailable, pods: stuck, history: [entry("delete-pods", 5, "Unavailable")] })),
    ).toMatchObject({ kind: "act", action: "restart" });
  });

  it("leaves a recently unavailable Deployment alone", () => {
    const unavailable = deployment({
      conditions: [{ type: "Available", status: "False", lastTransitionTime: minutesAgo(2) }],
    });
    expect(decideHealing(input({ deployment: unavailable, pods: [] }))).toEqual({ kind: "none", why: "no symptom" });
  });

  it("skips disabled steps: without rollback, a failed restart escalates", () => {
    const noRollback = { ...settings, rollback: undefined };
    expect(decideHealing(input({ settings: noRollback, history: [entry("restart", 2)] }))).toMatchObject({
      kind: "escalate",
      reason: "NothingHelped",
    });
    expect(decideHealing(input({ settings: { ...settings, restart: undefined }, history: [] }))).toMatchObject({
      kind: "act",
      action: "rollback",
    });
  });

  it("doubles the backoff per action, capped", () => {
    expect([1, 2, 3].map((n) => backoffMs(n, tuning))).toEqual([60_000, 120_000, 240_000]);
    expect(backoffMs(20, tuning)).toBe(tuning.maxBackoffMs);
  });
});
