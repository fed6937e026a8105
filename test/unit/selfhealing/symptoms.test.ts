import { describe, expect, it } from "vitest";
import {
  DEFAULT_HEALING_TUNING,
  detectSymptoms,
  podView,
  type HealingSettings,
} from "../../../src/selfhealing/index.js";
import { deployment, NOW, pod } from "./fixtures.js";

const settings: HealingSettings = {
  policy: "prod",
  restart: { minRestarts: 3, maxActionsPerHour: 1 },
  rollback: undefined,
  dryRun: false,
};

const symptomsOf = (pods: Parameters<typeof detectSymptoms>[0]["pods"]) =>
  detectSymptoms({ deployment: deployment(), pods, settings, tuning: DEFAULT_HEALING_TUNING, now: NOW });

describe("crash-loop symptoms", () => {
  it("say how each crash-looping container last stopped", () => {
    const [symptom] = symptomsOf([
      pod("web-3-a", "web-3", {
        restarts: 2,
        waiting: "CrashLoopBackOff",
        lastTerminated: { reason: "Error", exitCode: 1 },
      }),
    ]);
    expect(symptom).toEqual({
      kind: "CrashLoop",
      detail: "1 pod(s) crash-looping: web-3-a (2 restarts, CrashLoopBackOff, last Error exit 1)",
    });
  });

  it("report the containers the kernel OOM-killed", () => {
    const [symptom] = symptomsOf([
      pod("web-3-a", "web-3", { restarts: 4, lastTerminated: { reason: "OOMKilled", exitCode: 137 } }),
      pod("web-3-b", "web-3", {
        restarts: 1,
        waiting: "CrashLoopBackOff",
        lastTerminated: { reason: "Error", exitCode: 2 },
      }),
      pod("web-3-c", "web-3", { restarts: 0, lastTerminated: { reason: "OOMKilled", exitCode: 137 } }),
    ]);
    expect(symptom?.oomKilled).toEqual(["web-3-a/web"]);
    expect(symptom?.detail).toBe(
      "2 pod(s) crash-looping: web-3-a (4 restarts, last OOMKilled exit 137), " +
        "web-3-b (1 restarts, CrashLoopBackOff, last Error exit 2); " +
        "OOMKilled by the kernel (over their memory limit): web-3-a/web",
    );
  });
});

describe("pod views", () => {
  it("take a container's current termination over its previous one", () => {
    const view = podView({
      metadata: { name: "p" },
      status: {
        containerStatuses: [
          {
            name: "app",
            restartCount: 1,
            state: { terminated: { reason: "OOMKilled", exitCode: 137 } },
            lastState: { terminated: { reason: "Error", exitCode: 1 } },
          },
          { name: "side", restartCount: 0, state: { running: {} } },
        ],
      },
    });
    expect(view?.terminations).toEqual([{ container: "app", reason: "OOMKilled", exitCode: 137 }]);
  });
});
