import type {
  AegisPolicy,
  AegisPolicySpec,
  ApprovalSettings,
  LabelSelector,
  PolicyCheck,
} from "../api/v1alpha1/index.js";
import { CelCompileError } from "./cel.js";
import { RegistryEntryError } from "./image.js";
import { checkFieldsOf, runnerFor, type CompiledCheck } from "./checks/index.js";
import { freezeWindowProblems } from "./freeze.js";
import { specHashOf } from "./policy-hash.js";
import { compileLabelSelector, labelSelectorProblems, type LabelMatcher } from "./selector.js";
import type { Enforcement } from "./types.js";

export { specHashOf } from "./policy-hash.js";

export interface CompileProblem {
  /** Where in the AegisPolicy, e.g. `spec.checks[2].cel`. */
  readonly path: string;
  readonly message: string;
}

export class PolicyCompileError extends Error {
  constructor(
    readonly policy: string,
    readonly problems: readonly CompileProblem[],
  ) {
    super(
      `AegisPolicy ${JSON.stringify(policy)} is invalid: ${problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`,
    );
    this.name = "PolicyCompileError";
  }
}

export interface CompiledMatch {
  readonly kinds: ReadonlySet<string>;
  /** Undefined (or empty in the spec) means every namespace. */
  readonly namespaces: ReadonlySet<string> | undefined;
  readonly namespaceSelector: LabelMatcher;
  readonly objectSelector: LabelMatcher;
  readonly excludeNamespaces: ReadonlySet<string>;
  readonly excludeUsers: ReadonlySet<string>;
  readonly excludeGroups: ReadonlySet<string>;
}

/** A validated policy, ready to be evaluated many times. */
export interface CompiledPolicy {
  readonly name: string;
  readonly specHash: string;
  readonly spec: AegisPolicySpec;
  readonly enforcement: Enforcement;
  readonly approval: ApprovalSettings | undefined;
  readonly match: CompiledMatch;
  readonly checks: readonly CompiledCheck[];
}

function selectorProblems(selector: LabelSelector | undefined, path: string): CompileProblem[] {
  if (selector === undefined) return [];
  return labelSelectorProblems(selector).map((problem) => ({
    path: `${path}.${problem.path}`,
    message: problem.message,
  }));
}

function checkStructureProblems(check: PolicyCheck, path: string, seen: Set<string>): CompileProblem[] {
  const problems: CompileProblem[] = [];
  if (seen.has(check.name))
    problems.push({ path: `${path}.name`, message: `duplicate check name ${JSON.stringify(check.name)}` });
  seen.add(check.name);
  const fields = checkFieldsOf(check);
  if (fields.length !== 1) {
    problems.push({
      path,
      message: `a check must have exactly one check field; it has ${fields.length === 0 ? "none" : fields.join(", ")}`,
    });
  }
  return problems;
}

function compileChecks(checks: readonly PolicyCheck[], problems: CompileProblem[]): CompiledCheck[] {
  const seen = new Set<string>();
  const compiled: CompiledCheck[] = [];
  checks.forEach((check, index) => {
    const path = `spec.checks[${index}]`;
    const structure = checkStructureProblems(check, path, seen);
    problems.push(...structure);
    const [field] = checkFieldsOf(check);
    if (structure.length > 0 || field === undefined) return;
    try {
      compiled.push({ name: check.name, field, run: runnerFor(check, field) });
    } catch (error) {
      if (!(error instanceof CelCompileError || error instanceof RegistryEntryError)) throw error;
      problems.push({ path: `${path}.${field}`, message: error.message });
    }
  });
  return compiled;
}

/** A policy's `match` and `exclude`, ready to test requests; `selector` compiles the label selectors. */
export function compileMatch(
  spec: AegisPolicySpec,
  selector: (labelSelector: LabelSelector | undefined) => LabelMatcher = compileLabelSelector,
): CompiledMatch {
  const { match, exclude } = spec;
  return {
    kinds: new Set(match.kinds),
    namespaces: match.namespaces === undefined || match.namespaces.length === 0 ? undefined : new Set(match.namespaces),
    namespaceSelector: selector(match.namespaceSelector),
    objectSelector: selector(match.objectSelector),
    excludeNamespaces: new Set(exclude?.namespaces ?? []),
    excludeUsers: new Set(exclude?.users ?? []),
    excludeGroups: new Set(exclude?.groups ?? []),
  };
}

/**
 * Validates what the zod schema cannot (CEL compiles, selectors are valid, check names are
 * unique) and compiles the policy once. Throws {@link PolicyCompileError} listing every problem.
 * `policy` is expected to be schema-parsed already, so defaults are filled in.
 */
export function compilePolicy(policy: AegisPolicy): CompiledPolicy {
  const name = policy.metadata.name ?? "";
  const { spec } = policy;
  const problems: CompileProblem[] = [
    ...(name === "" ? [{ path: "metadata.name", message: "a policy needs a name" }] : []),
    ...(spec.match.kinds.length === 0 ? [{ path: "spec.match.kinds", message: "at least one kind is needed" }] : []),
    ...selectorProblems(spec.match.namespaceSelector, "spec.match.namespaceSelector"),
    ...selectorProblems(spec.match.objectSelector, "spec.match.objectSelector"),
    ...(spec.freezeWindows ?? []).flatMap((window, index) =>
      freezeWindowProblems(window).map((problem) => ({
        path: `spec.freezeWindows[${index}].${problem.field}`,
        message: problem.message,
      })),
    ),
  ];
  const checks = compileChecks(spec.checks, problems);
  if (problems.length > 0) throw new PolicyCompileError(name, problems);
  return {
    name,
    specHash: specHashOf(policy),
    spec,
    enforcement: spec.enforcement,
    approval: spec.approval,
    match: compileMatch(spec),
    checks,
  };
}
