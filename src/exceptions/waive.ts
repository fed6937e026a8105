// Which violations an active AegisException waives. Pure: the caller hands in the exceptions
// already judged Active (standing.ts) and the object being judged.
import type { AegisException } from "../api/v1alpha1/index.js";
import { matchesLabelSelector, type GateEvaluation, type PolicyVerdict, type Violation } from "../policy/index.js";

/** The object an exception may cover. `changeHash` is computed only when an exception is bound to one. */
export interface ExceptionSubject {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly changeHash: () => string;
}

/** One waived violation, as evidence and warnings name it. */
export interface Waiver {
  /** `namespace/name` of the exception. */
  readonly exception: string;
  readonly policy: string;
  readonly check: string;
  readonly rule: string;
  readonly message: string;
  readonly owner: string;
  readonly expiresAt: string;
  readonly ticket?: string;
}

export function exceptionKey(exception: Pick<AegisException, "metadata">): string {
  return `${exception.metadata.namespace ?? ""}/${exception.metadata.name ?? ""}`;
}

/** Does the exception's target take in this object (same namespace, kind, name or labels, change)? */
export function exceptionCovers(
  exception: Pick<AegisException, "metadata" | "spec">,
  subject: ExceptionSubject,
): boolean {
  const { target, changeHash } = exception.spec;
  if (exception.metadata.namespace !== subject.namespace || target.kind !== subject.kind) return false;
  if (target.name !== undefined ? target.name !== subject.name : !safeSelectorMatch(target.selector, subject.labels))
    return false;
  return changeHash === undefined || changeHash === subject.changeHash();
}

/** A selector the API server let through but AEGIS cannot read covers nothing (fail closed). */
function safeSelectorMatch(
  selector: AegisException["spec"]["target"]["selector"],
  labels: Readonly<Record<string, string>>,
): boolean {
  try {
    return selector !== undefined && matchesLabelSelector(selector, labels);
  } catch {
    return false;
  }
}

/** The first covering exception that waives this violation, if any. */
export function waiverFor(
  violation: Pick<Violation, "policy" | "check">,
  covering: readonly Pick<AegisException, "metadata" | "spec">[],
): Pick<AegisException, "metadata" | "spec"> | undefined {
  return covering.find(
    (exception) =>
      exception.spec.policies.includes(violation.policy) &&
      (exception.spec.checks === undefined || exception.spec.checks.includes(violation.check)),
  );
}

function toWaiver(exception: Pick<AegisException, "metadata" | "spec">, violation: Violation): Waiver {
  return {
    exception: exceptionKey(exception),
    policy: violation.policy,
    check: violation.check,
    rule: violation.rule,
    message: violation.message,
    owner: exception.spec.owner,
    expiresAt: exception.spec.expiresAt,
    ...(exception.spec.ticket ? { ticket: exception.spec.ticket } : {}),
  };
}

/**
 * The evaluation with every violation an active, covering exception waives taken out, and the
 * waivers. Only violations of checks the policy declares are waived: a policy that did not
 * compile (it denies its scope, fail closed) is never waived by an exception.
 */
export function applyExceptions(
  evaluation: GateEvaluation,
  active: readonly Pick<AegisException, "metadata" | "spec">[],
  subject: ExceptionSubject,
): { evaluation: GateEvaluation; waived: Waiver[] } {
  if (active.length === 0) return { evaluation, waived: [] };
  const covering = active.filter((exception) => exceptionCovers(exception, subject));
  if (covering.length === 0) return { evaluation, waived: [] };
  const waived: Waiver[] = [];
  const matched = evaluation.matched.map((verdict): PolicyVerdict => {
    const kept = verdict.violations.filter((violation) => {
      const exception = verdict.checked.includes(violation.check) ? waiverFor(violation, covering) : undefined;
      if (exception) waived.push(toWaiver(exception, violation));
      return exception === undefined;
    });
    return kept.length === verdict.violations.length ? verdict : { ...verdict, violations: kept };
  });
  if (waived.length === 0) return { evaluation, waived };
  return {
    evaluation: {
      matched,
      denied: matched.filter((verdict) => verdict.enforcement === "Enforce").flatMap((verdict) => verdict.violations),
      warnings: matched.filter((verdict) => verdict.enforcement === "Audit").flatMap((verdict) => verdict.violations),
    },
    waived,
  };
}

/** `policy/check waived by AegisException ns/name (owner, ticket) until T`, for warnings. */
export function formatWaiver(waiver: Waiver): string {
  const who = [waiver.owner, waiver.ticket].filter(Boolean).join(", ");
  return `${waiver.policy}/${waiver.check} waived by AegisException ${waiver.exception} (${who}) until ${waiver.expiresAt}: ${waiver.message}`;
}
