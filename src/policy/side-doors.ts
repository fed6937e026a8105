import { GATED_KINDS, type GatedKind } from "../api/v1alpha1/index.js";

// Pods first (every controller ends in them), then what controllers create, then the rest.
const FIRST: readonly GatedKind[] = ["Pod", "ReplicaSet", "Job"];
const ORDER: readonly GatedKind[] = [...FIRST, ...GATED_KINDS.filter((kind) => !FIRST.includes(kind))];

/**
 * The pod-carrying kinds a policy does not name in `match.kinds`: its side doors. Pods made
 * through any of them run just the same, so the gate applies the policy's pod-template checks and
 * approval to those kinds too when they are created directly in its scope. Pods first, then
 * ReplicaSets and Jobs; empty when the policy names every pod-carrying kind.
 */
export function sideDoorKinds(kinds: readonly GatedKind[]): GatedKind[] {
  const named = new Set(kinds);
  return ORDER.filter((kind) => !named.has(kind));
}
