// The AegisPolicy reconciler: Ready says what the gate does with the policy (enforce it, or fail
// closed on its scope when it does not compile), and which side doors it also covers.
import { describe, expect, it } from "vitest";
import { ConditionReason, type AegisPolicy, type Condition } from "../../../src/api/v1alpha1/index.js";
import { specHashOf } from "../../../src/policy/index.js";
import { reconcileAegisPolicy } from "../../../src/reconcilers/aegis-policy.js";
import { MemoryEvidence, MemoryPolicySource } from "../../fakes/memory-ports.js";

const AEGIS = "system:serviceaccount:aegis-system:aegis-sa";

function stored(spec: Record<string, unknown>, name = "prod-gate"): Record<string, unknown> {
  return {
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "AegisPolicy",
    metadata: { name, uid: `uid-${name}`, generation: 3 },
    spec,
  };
}

async function reconcile(spec: Record<string, unknown>) {
  const policies = new MemoryPolicySource([stored(spec)]);
  const evidence = new MemoryEvidence();
  const written: Condition[] = [];
  await reconcileAegisPolicy("prod-gate", {
    policies,
    actions: {
      patchStatus: (_policy: AegisPolicy, status: NonNullable<AegisPolicy["status"]>) => {
        written.push(...(status.conditions ?? []));
        return Promise.resolve();
      },
    },
    evidence,
    now: () => new Date("2026-11-26T12:00:00Z"),
    actor: AEGIS,
  });
  return { ready: written.find((condition) => condition.type === "Ready"), evidence, policies };
}

const broken = [{ name: "replicas", cel: "object.spec.replicas <=" }];

describe("reconcileAegisPolicy", () => {
  it("sets Ready=False (Invalid) on a policy that does not compile, saying its scope is denied (fail closed)", async () => {
    const { ready } = await reconcile({ match: { kinds: ["Deployment"] }, checks: broken });
    expect(ready).toMatchObject({ status: "False", reason: ConditionReason.Invalid, observedGeneration: 3 });
    expect(ready?.message).toMatch(/spec\.checks\[0\]\.cel: syntax error: /);
    expect(ready?.message).toMatch(/until it is fixed, the gate denies every workload in its scope \(fail closed\)$/);
  });

  it("says a broken Audit policy's scope is admitted with a warning", async () => {
    const { ready } = await reconcile({ enforcement: "Audit", match: { kinds: ["Deployment"] }, checks: broken });
    expect(ready?.status).toBe("False");
    expect(ready?.message).toMatch(/the gate admits the workloads in its scope with a warning .*\(Audit\)$/);
  });

  it("notes on Ready=True the pod-carrying kinds it also applies to when created directly", async () => {
    const { ready } = await reconcile({ match: { kinds: ["Deployment", "StatefulSet", "DaemonSet", "CronJob"] } });
    expect(ready).toMatchObject({ status: "True", reason: ConditionReason.Valid });
    expect(ready?.message).toMatch(
      /^enforcing 0 check\(s\); spec sha256:[0-9a-f]{12}; also applied to Pods, ReplicaSets and Jobs created directly in its scope$/,
    );
    const one = await reconcile({
      match: { kinds: ["Pod", "ReplicaSet", "Job", "Deployment", "StatefulSet", "CronJob"] },
    });
    expect(one.ready?.message).toMatch(/; also applied to DaemonSets created directly in its scope$/);
  });

  it("adds no note when the policy names every pod-carrying kind", async () => {
    const { ready } = await reconcile({
      match: { kinds: ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"] },
    });
    expect(ready?.message).toMatch(/^enforcing 0 check\(s\); spec sha256:[0-9a-f]{12}$/);
  });

  it("records a spec the webhook never saw as Observed by AEGIS, once", async () => {
    const spec = { match: { kinds: ["Deployment"] }, checks: broken };
    const { evidence, policies } = await reconcile(spec);
    const specHash = specHashOf(policies.get("prod-gate")!);
    expect(evidence.records).toHaveLength(1);
    expect(evidence.records[0]).toMatchObject({
      id: `policy-change:uid-prod-gate:${specHash}`,
      type: "policy.change",
      subject: "AegisPolicy/prod-gate",
      actor: AEGIS,
      data: { operation: "Observed", specHash, generation: 3, uid: "uid-prod-gate", ready: false },
    });
    expect(evidence.records[0]?.data["error"]).toMatch(/syntax error/);
  });
});
