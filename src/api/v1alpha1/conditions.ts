import type { Condition } from "./common.js";

/**
 * Sets one condition, keeping lastTransitionTime when the status did not change (as
 * cert-manager's SetCertificateCondition does), so rewriting status never fakes a transition.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: Omit<Condition, "lastTransitionTime">,
  now: Date,
): Condition[] {
  const existing = conditions?.find((condition) => condition.type === next.type);
  const lastTransitionTime =
    existing && existing.status === next.status ? existing.lastTransitionTime : now.toISOString();
  const updated: Condition = { ...next, lastTransitionTime };
  return [...(conditions ?? []).filter((condition) => condition.type !== next.type), updated];
}
