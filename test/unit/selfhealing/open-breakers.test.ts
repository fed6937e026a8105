// openBreakers: what aegis_selfhealing_breaker_open reports — governed Deployments whose history
// has an escalate since the last recovery.
import { describe, expect, it } from "vitest";
import { aegisPolicySchema } from "../../../src/api/v1alpha1/index.js";
import { compilePolicy } from "../../../src/policy/index.js";
import { openBreakers } from "../../../src/reconcilers/self-healing.js";
import {
  deploymentView,
  HISTORY_ANNOTATION,
  serializeHistory,
  type DeploymentView,
  type HistoryEntry,
} from "../../../src/selfhealing/index.js";
import { minutesAgo, rawDeployment } from "./fixtures.js";

const healProd = compilePolicy(
  aegisPolicySchema.parse({
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "AegisPolicy",
    metadata: { name: "heal" },
    spec: {
      match: { kinds: ["Deployment"], namespaces: ["prod"] },
      selfHealing: { restartOnCrashLoop: { enabled: true, minRestarts: 3 } },
    },
  }),
);

const restart: HistoryEntry = { action: "restart", at: minutesAgo(20), reason: "CrashLoop" };
const escalate: HistoryEntry = { action: "escalate", at: minutesAgo(10), reason: "NoApprovedRevision" };
const recovered: HistoryEntry = { action: "recovered", at: minutesAgo(5), reason: "Healthy" };

function withHistory(namespace: string, name: string, history?: HistoryEntry[]): DeploymentView {
  const raw = rawDeployment(history ? { annotations: { [HISTORY_ANNOTATION]: serializeHistory(history) } } : {});
  const metadata = raw["metadata"] as Record<string, unknown>;
  metadata["namespace"] = namespace;
  metadata["name"] = name;
  const view = deploymentView(raw);
  if (!view) throw new Error("bad fixture");
  return view;
}

function count(deployments: DeploymentView[]): number {
  const byKey = new Map(deployments.map((d) => [`${d.namespace}/${d.name}`, d]));
  return openBreakers([...byKey.keys(), "prod/gone"], {
    workloads: {
      deployment: (namespace, name) => byKey.get(`${namespace}/${name}`),
      replicaSets: () => [],
      pods: () => [],
    },
    policies: { compiled: () => [healProd] },
    namespaceLabels: () => ({}),
  });
}

describe("openBreakers", () => {
  it("counts governed Deployments whose current episode escalated", () => {
    expect(
      count([
        withHistory("prod", "a", [restart, escalate]),
        withHistory("prod", "b", [restart, escalate]),
        withHistory("prod", "c", [restart]),
        withHistory("prod", "d"),
      ]),
    ).toBe(2);
  });

  it("does not count a breaker closed by a recovery, nor a Deployment no policy governs any more", () => {
    expect(
      count([withHistory("prod", "a", [restart, escalate, recovered]), withHistory("dev", "b", [restart, escalate])]),
    ).toBe(0);
    expect(count([withHistory("prod", "a", [restart, escalate, recovered, restart, escalate])])).toBe(1);
  });
});
