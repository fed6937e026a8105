// The reconciler over fakes at its ports: what it writes, records and announces, and that a
// replay, a dry run or a lost race never acts or records twice.
import { describe, expect, it } from "vitest";
import { aegisPolicySchema } from "../../../src/api/v1alpha1/index.js";
import type { EvidenceEvent } from "../../../src/ports/evidence.js";
import { compilePolicy } from "../../../src/policy/index.js";
import { reconcileSelfHealing, type SelfHealingDependencies } from "../../../src/reconcilers/self-healing.js";
import type { HealingEvent, WriteOutcome } from "../../../src/ports/workloads.js";
import {
  deploymentView,
  DEFAULT_HEALING_TUNING,
  HISTORY_ANNOTATION,
  parseHistory,
  type PodView,
} from "../../../src/selfhealing/index.js";
import type { JsonPatchOp } from "../../../src/api/json-patch.js";
import { NOW, pod, rawDeployment, replicaSet } from "./fixtures.js";

function policy(dryRun = false, namespaces = ["prod"]) {
  return compilePolicy(
    aegisPolicySchema.parse({
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "AegisPolicy",
      metadata: { name: "heal" },
      spec: {
        match: { kinds: ["Deployment"], namespaces },
        selfHealing: {
          restartOnCrashLoop: { enabled: true, minRestarts: 3 },
          rollbackOnFailedRollout: { enabled: true },
          dryRun,
        },
      },
    }),
  );
}

/** Applies the healer's JSON patches to one in-memory Deployment, with the rv test enforced. */
class FakeCluster {
  raw = rawDeployment();
  readonly patches: JsonPatchOp[][] = [];
  readonly events: HealingEvent[] = [];
  readonly deleted: string[] = [];
  conflictNext = false;

  patchDeployment(_ns: string, _name: string, ops: readonly JsonPatchOp[]): Promise<WriteOutcome> {
    const metadata = this.raw["metadata"] as { resourceVersion: string; annotations?: Record<string, string> };
    if (this.conflictNext || ops[0]?.value !== metadata.resourceVersion) return Promise.resolve("conflict");
    this.patches.push([...ops]);
    for (const op of ops.filter((o) => o.path.startsWith("/metadata/annotations"))) {
      metadata.annotations =
        op.path === "/metadata/annotations"
          ? (op.value as Record<string, string>)
          : { ...metadata.annotations, [HISTORY_ANNOTATION]: op.value as string };
    }
    metadata.resourceVersion = String(Number(metadata.resourceVersion) + 1);
    return Promise.resolve("done");
  }

  deletePod(_ns: string, p: PodView): Promise<WriteOutcome> {
    this.deleted.push(p.name);
    return Promise.resolve("done");
  }

  emitEvent(_d: unknown, event: HealingEvent): Promise<void> {
    if (!this.events.some((e) => e.id === event.id)) this.events.push(event);
    return Promise.resolve();
  }
}

function setup(options: { dryRun?: boolean; namespaces?: string[] } = {}) {
  const cluster = new FakeCluster();
  const records: EvidenceEvent[] = [];
  const metrics: string[] = [];
  const compiled = [policy(options.dryRun, options.namespaces)];
  const deps: SelfHealingDependencies = {
    workloads: {
      deployment: () => deploymentView(cluster.raw),
      replicaSets: () => [replicaSet("web-3", 3, "ghcr.io/acme/web:3"), replicaSet("web-1", 1, "ghcr.io/acme/web:1")],
      pods: () => [pod("web-3-a", "web-3", { restarts: 9, waiting: "CrashLoopBackOff" })],
    },
    actions: cluster,
    policies: { compiled: () => compiled },
    namespaceLabels: () => ({}),
    approved: { approvedAmong: () => Promise.resolve(new Set<string>()) },
    evidence: { record: (event) => Promise.resolve(void records.push(event)) },
    metrics: { inc: ({ action, result }) => void metrics.push(`${action}/${result}`) },
    now: () => NOW,
    actor: "aegis",
    tuning: DEFAULT_HEALING_TUNING,
    announced: new Set(),
  };
  return { cluster, records, metrics, deps };
}

describe("the self-healing reconciler", () => {
  it("restarts once with a guarded patch, then waits; one record, one Event, one metric", async () => {
    const { cluster, records, metrics, deps } = setup();
    expect(await reconcileSelfHealing("prod/web", deps)).toEqual({ requeueAfterMs: 30_000 });
    expect(cluster.patches).toHaveLength(1);
    expect(cluster.patches[0]?.[0]).toEqual({ op: "test", path: "/metadata/resourceVersion", value: "100" });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      type: "selfhealing.action",
      subject: "Deployment/prod/web",
      data: { action: "restart", dryRun: false, policy: "heal" },
    });
    expect(cluster.events).toEqual([
      expect.objectContaining({ id: records[0]?.id, reason: "SelfHealingRestart", type: "Warning" }),
    ]);
    expect(metrics).toEqual(["restart/done"]);

    const again = await reconcileSelfHealing("prod/web", deps);
    expect(again.requeueAfterMs).toBeGreaterThan(50_000);
    expect(cluster.patches).toHaveLength(1);
    expect(records).toHaveLength(1);
  });

  it("on a lost race (resourceVersion changed) records nothing and retries soon", async () => {
    const { cluster, records, metrics, deps } = setup();
    cluster.conflictNext = true;
    expect(await reconcileSelfHealing("prod/web", deps)).toEqual({ requeueAfterMs: 500 });
    expect(records).toEqual([]);
    expect(cluster.events).toEqual([]);
    expect(metrics).toEqual(["restart/conflict"]);
  });

  it("escalates without an approved revision to roll back to", async () => {
    const { cluster, records, deps } = setup();
    await reconcileSelfHealing("prod/web", deps);
    const later = { ...deps, now: () => new Date(NOW.getTime() + 120_000) };
    await reconcileSelfHealing("prod/web", later);
    expect(
      parseHistory(
        (cluster.raw["metadata"] as { annotations: Record<string, string> }).annotations[HISTORY_ANNOTATION],
      ).map((e) => e.action),
    ).toEqual(["restart", "escalate"]);
    expect(records.map((r) => [r.data["action"], r.data["reason"]])).toEqual([
      ["restart", "CrashLoop"],
      ["escalate", "NoApprovedRevision"],
    ]);
    // The escalation records the symptom it gave up on, like the steps do.
    expect(records[1]?.data["symptom"]).toEqual(records[0]?.data["symptom"]);
    expect(records[1]?.data["symptom"]).toMatchObject({ kind: "CrashLoop" });
    expect(cluster.events.map((e) => e.reason)).toEqual(["SelfHealingRestart", "SelfHealingEscalated"]);
  });

  it("dry run: records and announces the step once, changes nothing", async () => {
    const { cluster, records, metrics, deps } = setup({ dryRun: true });
    await reconcileSelfHealing("prod/web", deps);
    await reconcileSelfHealing("prod/web", deps);
    expect(cluster.patches).toEqual([]);
    expect(records).toHaveLength(1);
    expect(records[0]?.data).toMatchObject({ action: "restart", dryRun: true });
    expect(cluster.events[0]?.message).toMatch(/^\[dry run\] would restart/);
    expect(metrics).toEqual(["restart/dry-run"]);
  });

  it("a new leader announces the last step again under the same id (ledger and Event dedupe it)", async () => {
    const first = setup();
    await reconcileSelfHealing("prod/web", first.deps);
    const successor = { ...first.deps, announced: new Set<string>(), now: () => new Date(NOW.getTime() + 1_000) };
    await reconcileSelfHealing("prod/web", successor);
    expect(first.records.map((r) => r.id)).toEqual([first.records[0]?.id, first.records[0]?.id]);
    expect(first.cluster.events).toHaveLength(1);
    expect(first.cluster.patches).toHaveLength(1);
    const muchLater = { ...first.deps, announced: new Set<string>(), now: () => new Date(NOW.getTime() + 20 * 60_000) };
    await reconcileSelfHealing("prod/web", muchLater);
    expect(first.records.filter((r) => r.data["action"] === "restart")).toHaveLength(2);
  });

  it("leaves Deployments no healing policy governs alone", async () => {
    const { cluster, records, deps } = setup({ namespaces: ["staging"] });
    expect(await reconcileSelfHealing("prod/web", deps)).toEqual({});
    expect(cluster.patches).toEqual([]);
    expect(records).toEqual([]);
  });
});
