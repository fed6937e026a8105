import { createCheckContext, type CheckContext, type CompiledCheck } from "./checks/index.js";
import type { CompiledPolicy } from "./compile.js";
import { matchScopeOf, policyMatches, type MatchScope } from "./match.js";
import { policyIndexOf } from "./policy-index.js";
import { POD_TEMPLATE_CHECKS } from "./checks/index.js";
import type { CheckFinding, GateEvaluation, GateRequest, PolicyVerdict, Violation } from "./types.js";

/** A check that throws fails closed with one finding instead of failing the whole request. */
function runCheck(check: CompiledCheck, context: CheckContext): readonly CheckFinding[] {
  try {
    return check.run(context);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return [{ rule: "checkError", message: `check could not be evaluated: ${reason}` }];
  }
}

function verdictFor(policy: CompiledPolicy, context: CheckContext, scope: MatchScope): PolicyVerdict {
  const checks =
    scope === "listed" ? policy.checks : policy.checks.filter((check) => POD_TEMPLATE_CHECKS.has(check.field));
  const violations = checks.flatMap((check) =>
    runCheck(check, context).map((finding): Violation => ({ policy: policy.name, check: check.name, ...finding })),
  );
  return {
    policy: policy.name,
    specHash: policy.specHash,
    enforcement: policy.enforcement,
    violations,
    approval: policy.approval,
    freezeWindows: policy.spec.freezeWindows ?? [],
    scope,
    checked: checks.map((check) => check.name),
  };
}

/**
 * Evaluates every matching policy against one request and lists every violated check.
 * Enforce violations deny, Audit violations warn. Pure and total: it never throws.
 */
export function evaluate(policies: readonly CompiledPolicy[], request: GateRequest): GateEvaluation {
  const context = createCheckContext(request);
  const matched = candidatesFor(policies, request)
    .filter((policy) => safeMatches(policy, request))
    .map((policy) => verdictFor(policy, context, matchScopeOf(policy, request.kind) ?? "listed"));
  return {
    matched,
    denied: matched.filter((verdict) => verdict.enforcement === "Enforce").flatMap((verdict) => verdict.violations),
    warnings: matched.filter((verdict) => verdict.enforcement === "Audit").flatMap((verdict) => verdict.violations),
  };
}

/** Below this many policies a linear scan is as cheap as looking the candidates up. */
const INDEXED_FROM = 16;

function candidatesFor(policies: readonly CompiledPolicy[], request: GateRequest): readonly CompiledPolicy[] {
  return policies.length < INDEXED_FROM ? policies : policyIndexOf(policies).candidates(request);
}

/** Matching reads only compiled sets and plain labels, but a policy must never crash the gate. */
function safeMatches(policy: CompiledPolicy, request: GateRequest): boolean {
  try {
    return policyMatches(policy, request);
  } catch {
    return true;
  }
}

/** `policy/check: message`, the line a denial shows for each violation. */
export function formatViolation(violation: Violation): string {
  return `${violation.policy}/${violation.check}: ${violation.message}`;
}
