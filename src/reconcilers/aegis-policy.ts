import { ConditionReason, ConditionType, setCondition } from "../api/v1alpha1/index.js";
import { specHashOf } from "../policy/index.js";
import type { EvidenceRecorder } from "../ports/evidence.js";
import type { PolicySource } from "../ports/kube.js";
import type { AegisPolicyActions } from "../ports/status.js";

export interface PolicyReconcilerDependencies {
  policies: PolicySource<unknown>;
  actions: AegisPolicyActions;
  evidence: EvidenceRecorder;
  now: () => Date;
  actor: string;
}

/**
 * Sets a policy's Ready condition from what the engine made of it (the gate already uses the
 * compiled set) and records each distinct spec once as a policy.change evidence record.
 */
export async function reconcileAegisPolicy(name: string, deps: PolicyReconcilerDependencies): Promise<void> {
  const entry = deps.policies.list().find(({ policy }) => policy.metadata.name === name);
  if (!entry) return;
  const { policy, compileError } = entry;
  const specHash = specHashOf(policy);
  await deps.evidence.record({
    id: `policy-change:${policy.metadata.uid ?? name}:${specHash}`,
    type: "policy.change",
    subject: `AegisPolicy/${name}`,
    actor: deps.actor,
    data: {
      specHash,
      generation: policy.metadata.generation ?? 0,
      spec: policy.spec,
      ready: compileError === undefined,
      error: compileError ?? null,
    },
  });
  const generation = policy.metadata.generation ?? 0;
  const conditions = setCondition(
    policy.status?.conditions,
    compileError === undefined
      ? {
          type: ConditionType.Ready,
          status: "True",
          reason: ConditionReason.Valid,
          message: `enforcing ${policy.spec.checks.length} check(s); spec ${specHash.slice(0, 19)}`,
          observedGeneration: generation,
        }
      : {
          type: ConditionType.Ready,
          status: "False",
          reason: ConditionReason.Invalid,
          message: compileError,
          observedGeneration: generation,
        },
    deps.now(),
  );
  const current = policy.status;
  const same =
    current?.observedGeneration === generation &&
    JSON.stringify(current.conditions?.map((c) => [c.type, c.status, c.reason, c.message])) ===
      JSON.stringify(conditions.map((c) => [c.type, c.status, c.reason, c.message]));
  if (!same) await deps.actions.patchStatus(policy, { observedGeneration: generation, conditions });
}
