import type { AegisPolicy } from "../api/v1alpha1/index.js";

/**
 * Manual lockdown (decision): an operator sets this annotation on any AegisPolicy, its value
 * being the reason; removing it from every policy ends the manual lockdown. Policies are already
 * watched by every replica and their changes are recorded as evidence, so the switch needs no
 * new resource, no new RBAC, and leaves an audit trail.
 */
export const LOCKDOWN_ANNOTATION = "aegis.valina.ai/lockdown";

/** The reason of the first annotated policy (by name), or null when none asks for lockdown. */
export function lockdownReasonFrom(policies: readonly { readonly policy: AegisPolicy }[]): string | null {
  const annotated = policies
    .map(({ policy }) => ({
      name: policy.metadata.name ?? "",
      reason: policy.metadata.annotations?.[LOCKDOWN_ANNOTATION],
    }))
    .filter(
      (entry): entry is { name: string; reason: string } =>
        typeof entry.reason === "string" && entry.reason.trim() !== "",
    )
    .sort((a, b) => a.name.localeCompare(b.name));
  const first = annotated[0];
  return first ? `${first.reason.trim()} (AegisPolicy ${first.name})` : null;
}
