import type { CheckFinding, CheckId, PodCheck } from "./check.js";
import { readPod, type Pod } from "./pod-model.js";
import { activeChecks } from "./registry.js";
import type { PodLike, PodSecurityLevel, PodSecurityResult, PodSecurityViolation, PodTemplateLike } from "./types.js";
import { effectiveMinor } from "./version.js";

/**
 * Evaluates a Pod against a Pod Security Standards level pinned to a version (`v1.N` or `latest`),
 * as upstream Pod Security Admission would. Throws only for an invalid version string.
 */
export function evaluatePodSecurity(pod: PodLike, level: PodSecurityLevel, version: string): PodSecurityResult {
  return evaluateReadPod(readPod(pod), level, version);
}

/** Evaluates a workload's pod template (`spec.template`) as the Pod it would create. */
export function evaluatePodTemplateSecurity(
  template: PodTemplateLike,
  level: PodSecurityLevel,
  version: string,
): PodSecurityResult {
  return evaluateReadPod(readPod(template), level, version);
}

export interface PodSecurityCheckInfo {
  readonly rule: CheckId;
  readonly level: "baseline" | "restricted";
  /** Baseline rules this rule replaces at that version (restricted rules only). */
  readonly overrides: readonly CheckId[];
}

/** The rules a Pod must pass at a level and version. */
export function podSecurityChecksInEffect(level: PodSecurityLevel, version: string): PodSecurityCheckInfo[] {
  return activeChecks(level, effectiveMinor(version)).map(({ id, level: checkLevel, overrides }) => ({
    rule: id,
    level: checkLevel,
    overrides,
  }));
}

/**
 * Evaluates one pod template at any number of levels and versions, reading the template once and
 * running each check once: policies at `restricted` and at `baseline` share the baseline checks.
 */
export function podTemplateSecurityEvaluator(
  template: PodTemplateLike,
): (level: PodSecurityLevel, version: string) => PodSecurityResult {
  const pod = readPod(template);
  const findings = new Map<PodCheck, CheckFinding | undefined>();
  const run = (check: PodCheck): CheckFinding | undefined => {
    if (!findings.has(check)) findings.set(check, check(pod));
    return findings.get(check);
  };
  return (level, version) => evaluateReadPod(pod, level, version, run);
}

function evaluateReadPod(
  pod: Pod,
  level: PodSecurityLevel,
  version: string,
  run: (check: PodCheck) => CheckFinding | undefined = (check) => check(pod),
): PodSecurityResult {
  const violations = activeChecks(level, effectiveMinor(version)).flatMap((active): PodSecurityViolation[] => {
    const finding = run(active.check);
    if (finding === undefined) return [];
    return [
      { rule: active.id, message: finding.detail === "" ? finding.reason : `${finding.reason} (${finding.detail})` },
    ];
  });
  return { allowed: violations.length === 0, violations };
}
