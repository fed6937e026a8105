import type { LabelSelector } from "../api/v1alpha1/index.js";

export type Labels = Readonly<Record<string, string>>;
export type LabelMatcher = (labels: Labels) => boolean;

export interface SelectorProblem {
  /** Path below the selector, e.g. `matchExpressions[0].values`. */
  readonly path: string;
  readonly message: string;
}

export class LabelSelectorError extends Error {
  constructor(readonly problems: readonly SelectorProblem[]) {
    super(`invalid label selector: ${problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`);
    this.name = "LabelSelectorError";
  }
}

type Requirement = NonNullable<LabelSelector["matchExpressions"]>[number];

const OPERATORS: ReadonlySet<string> = new Set(["In", "NotIn", "Exists", "DoesNotExist"]);
const NAME_PART_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Kubernetes' qualified-name rule for label keys: `[prefix/]name`. */
function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN_RE.test(prefix))) {
    return `label key ${JSON.stringify(key)} has an invalid prefix: it must be a DNS subdomain`;
  }
  if (name.length > 63 || !NAME_PART_RE.test(name)) {
    return `invalid label key ${JSON.stringify(key)}: the name part must be 1-63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`;
  }
  return undefined;
}

function labelValueProblem(value: string): string | undefined {
  if (value === "" || (value.length <= 63 && NAME_PART_RE.test(value))) return undefined;
  return `invalid label value ${JSON.stringify(value)}: at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`;
}

function requirementProblems(requirement: Requirement, path: string): SelectorProblem[] {
  const problems: SelectorProblem[] = [];
  const keyProblem = labelKeyProblem(requirement.key);
  if (keyProblem !== undefined) problems.push({ path: `${path}.key`, message: keyProblem });
  if (!OPERATORS.has(requirement.operator)) {
    problems.push({
      path: `${path}.operator`,
      message: `unknown operator ${JSON.stringify(requirement.operator)}: use In, NotIn, Exists or DoesNotExist`,
    });
  }
  const values = requirement.values ?? [];
  const needsValues = requirement.operator === "In" || requirement.operator === "NotIn";
  if (needsValues && values.length === 0) {
    problems.push({ path: `${path}.values`, message: `operator ${requirement.operator} needs at least one value` });
  }
  if (!needsValues && values.length > 0) {
    problems.push({ path: `${path}.values`, message: `operator ${requirement.operator} takes no values` });
  }
  values.forEach((value, index) => {
    const problem = labelValueProblem(value);
    if (problem !== undefined) problems.push({ path: `${path}.values[${index}]`, message: problem });
  });
  return problems;
}

function matchLabelsProblems(matchLabels: Labels): SelectorProblem[] {
  return Object.entries(matchLabels).flatMap(([key, value]) => {
    const problem = labelKeyProblem(key) ?? labelValueProblem(value);
    return problem === undefined ? [] : [{ path: `matchLabels[${JSON.stringify(key)}]`, message: problem }];
  });
}

/** What Kubernetes would refuse in this selector; empty when it is valid. */
export function labelSelectorProblems(selector: LabelSelector): SelectorProblem[] {
  const expressions = selector.matchExpressions ?? [];
  return [
    ...matchLabelsProblems(selector.matchLabels ?? {}),
    ...expressions.flatMap((requirement, index) => requirementProblems(requirement, `matchExpressions[${index}]`)),
  ];
}

function requirementMatcher(requirement: Requirement): LabelMatcher {
  const { key } = requirement;
  const values = new Set(requirement.values ?? []);
  switch (requirement.operator) {
    case "In":
      return (labels) => Object.hasOwn(labels, key) && values.has(labels[key] ?? "");
    case "NotIn":
      return (labels) => !Object.hasOwn(labels, key) || !values.has(labels[key] ?? "");
    case "Exists":
      return (labels) => Object.hasOwn(labels, key);
    case "DoesNotExist":
      return (labels) => !Object.hasOwn(labels, key);
    default:
      return () => false;
  }
}

/**
 * Compiles a selector with Kubernetes semantics: every matchLabels entry AND every expression
 * must hold; an empty or absent selector matches everything. Throws {@link LabelSelectorError}
 * for a selector the API server would refuse (e.g. `In` without values).
 */
export function compileLabelSelector(selector: LabelSelector | undefined): LabelMatcher {
  if (selector === undefined) return () => true;
  const problems = labelSelectorProblems(selector);
  if (problems.length > 0) throw new LabelSelectorError(problems);
  const matchers: LabelMatcher[] = [
    ...Object.entries(selector.matchLabels ?? {}).map(
      ([key, value]): LabelMatcher =>
        (labels) =>
          Object.hasOwn(labels, key) && labels[key] === value,
    ),
    ...(selector.matchExpressions ?? []).map(requirementMatcher),
  ];
  return (labels) => matchers.every((matches) => matches(labels));
}

/** One-off form of {@link compileLabelSelector}; throws on an invalid selector. */
export function matchesLabelSelector(selector: LabelSelector | undefined, labels: Labels): boolean {
  return compileLabelSelector(selector)(labels);
}
