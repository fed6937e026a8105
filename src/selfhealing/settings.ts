import type { AegisPolicySpec } from "../api/v1alpha1/index.js";

/** A policy's `selfHealing`, resolved: absent or disabled steps are undefined. */
export interface HealingSettings {
  /** The policy that governs the Deployment (first by name when several match). */
  readonly policy: string;
  readonly restart: { readonly minRestarts: number; readonly maxActionsPerHour: number } | undefined;
  readonly rollback: { readonly maxActionsPerHour: number } | undefined;
  readonly dryRun: boolean;
}

/** Timings that are not part of the policy API (operator flags; short in tests). */
export interface HealingTuning {
  /** Wait after the first action of an episode; doubles after each further action. */
  readonly baseBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Available=False for this long counts as lasting unavailability. */
  readonly unavailableAfterMs: number;
  /** A pod terminating or not ready for this long is stuck. */
  readonly stuckPodAfterMs: number;
}

export const DEFAULT_HEALING_TUNING: HealingTuning = {
  baseBackoffMs: 60_000,
  maxBackoffMs: 30 * 60_000,
  unavailableAfterMs: 10 * 60_000,
  stuckPodAfterMs: 10 * 60_000,
};

/** Undefined when the policy heals nothing. */
export function healingSettingsOf(policy: string, spec: AegisPolicySpec): HealingSettings | undefined {
  const healing = spec.selfHealing;
  const restart = healing?.restartOnCrashLoop;
  const rollback = healing?.rollbackOnFailedRollout;
  if (!restart?.enabled && !rollback?.enabled) return undefined;
  return {
    policy,
    restart: restart?.enabled
      ? { minRestarts: restart.minRestarts, maxActionsPerHour: restart.maxActionsPerHour }
      : undefined,
    rollback: rollback?.enabled ? { maxActionsPerHour: rollback.maxActionsPerHour } : undefined,
    dryRun: healing?.dryRun ?? false,
  };
}
