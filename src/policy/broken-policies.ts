import type { AegisPolicy, LabelSelector } from "../api/v1alpha1/index.js";
import { compileMatch, type CompiledPolicy } from "./compile.js";
import { matchScopeOf, policyMismatch } from "./match.js";
import { specHashOf } from "./policy-hash.js";
import { compileLabelSelector, type LabelMatcher } from "./selector.js";
import type { Enforcement, GateEvaluation, GateRequest, PolicyVerdict, Violation } from "./types.js";

/** A stored policy and why it did not compile (undefined when it did), as PolicySource.list() gives it. */
export interface PolicyEntry {
  readonly policy: AegisPolicy;
  readonly compileError: string | undefined;
}

/** The check and rule a broken policy's violation names (`prod-gate/compile: …` in a denial). */
export const BROKEN_POLICY_CHECK = "compile";
export const BROKEN_POLICY_RULE = "policyNotCompiled";

/** An invalid selector cannot say what it leaves out, so it leaves nothing out (fail closed). */
function selectorOrEverything(selector: LabelSelector | undefined): LabelMatcher {
  try {
    return compileLabelSelector(selector);
  } catch {
    return () => true;
  }
}

// The stored policy object is replaced when it changes, so it keys its scope and spec hash.
const scopes = new WeakMap<AegisPolicy, CompiledPolicy>();

/** The broken policy as something `policyMismatch` can read: its scope, no checks. */
function scopeOnly(policy: AegisPolicy): CompiledPolicy {
  let scoped = scopes.get(policy);
  if (scoped === undefined) {
    scoped = {
      name: policy.metadata.name ?? "",
      specHash: specHashOf(policy),
      spec: policy.spec,
      enforcement: policy.spec.enforcement,
      approval: undefined,
      match: compileMatch(policy.spec, selectorOrEverything),
      checks: [],
    };
    scopes.set(policy, scoped);
  }
  return scoped;
}

/** A policy whose matching throws selects the request (it fails closed, as in the engine). */
function selects(policy: CompiledPolicy, request: GateRequest): boolean {
  try {
    return policyMismatch(policy, request) === undefined;
  } catch {
    return true;
  }
}

/** `AegisPolicy "x" is invalid: spec.checks[0].cel: …` → `spec.checks[0].cel: …`. */
function problemsOf(compileError: string): string {
  return compileError.replace(/^AegisPolicy "(?:[^"\\]|\\.)*" is invalid: /, "");
}

/** What a denial (Enforce) or warning (Audit) says about a policy that did not compile. */
export function brokenPolicyMessage(name: string, compileError: string, enforcement: Enforcement): string {
  const until =
    enforcement === "Enforce"
      ? "its scope is denied until then"
      : "it is an Audit policy, so its scope is admitted with this warning until then";
  return `policy ${name} cannot be evaluated (it did not compile: ${problemsOf(compileError)}); fix the policy — ${until}`;
}

/**
 * Fail closed at run time: one verdict for every stored policy that did not compile (stored
 * before the policy webhook existed, or by an older AEGIS) and whose `match`/`exclude` selects the
 * request, with one violation saying so. Such a policy's checks cannot run, so an Enforce policy
 * denies its whole scope and an Audit one warns across it; an invalid selector selects everything.
 * Policies that compiled (compileError undefined) are left to {@link evaluate}. Pure; never throws.
 */
export function brokenPolicyVerdicts(entries: readonly PolicyEntry[], request: GateRequest): PolicyVerdict[] {
  const verdicts: PolicyVerdict[] = [];
  for (const { policy, compileError } of entries) {
    if (compileError === undefined) continue;
    const scoped = scopeOnly(policy);
    if (!selects(scoped, request)) continue;
    const violation: Violation = {
      policy: scoped.name,
      check: BROKEN_POLICY_CHECK,
      rule: BROKEN_POLICY_RULE,
      message: brokenPolicyMessage(scoped.name, compileError, scoped.enforcement),
    };
    const verdict = {
      policy: scoped.name,
      specHash: scoped.specHash,
      enforcement: scoped.enforcement,
      violations: [violation],
      approval: undefined,
      freezeWindows: [],
      scope: matchScopeOf(scoped, request.kind) ?? "listed",
      checked: [BROKEN_POLICY_CHECK],
    };
    verdicts.push(verdict);
  }
  return verdicts;
}

/** `evaluation` with `verdicts` added: their Enforce violations deny, their Audit ones warn. */
export function withVerdicts(evaluation: GateEvaluation, verdicts: readonly PolicyVerdict[]): GateEvaluation {
  if (verdicts.length === 0) return evaluation;
  const of = (enforcement: Enforcement): Violation[] =>
    verdicts.filter((verdict) => verdict.enforcement === enforcement).flatMap((verdict) => verdict.violations);
  return {
    matched: [...evaluation.matched, ...verdicts],
    denied: [...evaluation.denied, ...of("Enforce")],
    warnings: [...evaluation.warnings, ...of("Audit")],
  };
}
