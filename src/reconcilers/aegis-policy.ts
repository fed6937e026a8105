import { ConditionReason, ConditionType, setCondition, type AegisPolicy } from "../api/v1alpha1/index.js";
import { policyChangeId, sideDoorKinds, specHashOf } from "../policy/index.js";
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
 * Sets a policy's Ready condition from what the engine made of it: Ready=True when it compiled,
 * Ready=False (Invalid) when it did not, in which case the gate fails closed on its scope.
 *
 * It also records each distinct spec as a policy.change record, as a backstop: the policy webhook
 * records the change first, under the same id and naming the user, so this one is dropped by the
 * ledger (idempotent by id). It is kept only for a spec the webhook never saw (stored before the
 * webhook covered AegisPolicies), as operation "Observed" with AEGIS as the actor, since the author
 * is not known.
 */
export async function reconcileAegisPolicy(name: string, deps: PolicyReconcilerDependencies): Promise<void> {
  const entry = deps.policies.list().find(({ policy }) => policy.metadata.name === name);
  if (!entry) return;
  const { policy, compileError } = entry;
  const specHash = specHashOf(policy);
  const generation = policy.metadata.generation ?? 0;
  await deps.evidence.record({
    id: policyChangeId(policy, specHash),
    type: "policy.change",
    subject: `AegisPolicy/${name}`,
    actor: deps.actor,
    data: {
      operation: "Observed",
      specHash,
      generation,
      spec: policy.spec,
      uid: policy.metadata.uid ?? null,
      ready: compileError === undefined,
      error: compileError ?? null,
    },
  });
  const conditions = setCondition(
    policy.status?.conditions,
    compileError === undefined
      ? {
          type: ConditionType.Ready,
          status: "True",
          reason: ConditionReason.Valid,
          message: readyMessage(policy, specHash),
          observedGeneration: generation,
        }
      : {
          type: ConditionType.Ready,
          status: "False",
          reason: ConditionReason.Invalid,
          message: invalidMessage(policy, compileError),
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

function readyMessage(policy: AegisPolicy, specHash: string): string {
  const message = `enforcing ${policy.spec.checks.length} check(s); spec ${specHash.slice(0, 19)}`;
  const doors = sideDoorKinds(policy.spec.match.kinds);
  if (doors.length === 0) return message;
  return `${message}; also applied to ${listOf(doors.map((kind) => `${kind}s`))} created directly in its scope`;
}

/** The compiler's message, then what the gate does meanwhile: it fails closed. */
function invalidMessage(policy: AegisPolicy, compileError: string): string {
  const meanwhile =
    policy.spec.enforcement === "Enforce"
      ? "until it is fixed, the gate denies every workload in its scope (fail closed)"
      : "until it is fixed, the gate admits the workloads in its scope with a warning that it cannot be evaluated (Audit)";
  return `${compileError}; ${meanwhile}`;
}

/** `A`, `A and B`, `A, B and C`. */
function listOf(items: readonly string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1) ?? ""}`;
}
