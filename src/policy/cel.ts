import { celEnv, isCelError, parse, plan, type CelInput, type CelValue } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";

/** The variables a policy's CEL expressions see. */
export const CEL_VARIABLES = ["object", "oldObject"] as const;

// Type names are identifiers in CEL (`type(x) == int`).
const CEL_TYPE_NAMES = ["int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type", "dyn"];

// The strings extension gives what Kubernetes' CEL has for strings (lowerAscii, split, …).
const ENV = celEnv({ funcs: strings });

type ParsedExpr = ReturnType<typeof parse>["expr"];

export type CelOutcome =
  { readonly ok: true; readonly value: CelValue } | { readonly ok: false; readonly error: string };

export type CelProgram = (bindings: Readonly<Record<(typeof CEL_VARIABLES)[number], CelInput>>) => CelOutcome;

export class CelCompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CelCompileError";
  }
}

/** Operators and macro internals are planned specially and not in the function resolver. */
function isInternalFunction(name: string): boolean {
  return name.startsWith("_") || name.startsWith("@");
}

function childScopes(expr: ParsedExpr, scope: ReadonlySet<string>): [ParsedExpr | undefined, ReadonlySet<string>][] {
  const kind = expr.exprKind;
  switch (kind.case) {
    case "selectExpr":
      return [[kind.value.operand, scope]];
    case "callExpr":
      return [kind.value.target, ...kind.value.args].map((child) => [child, scope]);
    case "listExpr":
      return kind.value.elements.map((child) => [child, scope]);
    case "structExpr":
      return kind.value.entries.flatMap((entry) => [
        [entry.keyKind.case === "mapKey" ? entry.keyKind.value : undefined, scope],
        [entry.value, scope],
      ]);
    case "comprehensionExpr": {
      const c = kind.value;
      const loopScope = new Set([...scope, c.iterVar, c.iterVar2, c.accuVar].filter((name) => name !== ""));
      const resultScope = new Set([...scope, c.accuVar]);
      return [
        [c.iterRange, scope],
        [c.accuInit, scope],
        [c.loopCondition, loopScope],
        [c.loopStep, loopScope],
        [c.result, resultScope],
      ];
    }
    default:
      return [];
  }
}

function ownProblem(expr: ParsedExpr, scope: ReadonlySet<string>): string | undefined {
  const kind = expr.exprKind;
  if (kind.case === "identExpr" && !scope.has(kind.value.name)) {
    return `undeclared reference to ${JSON.stringify(kind.value.name)} (the variables are ${CEL_VARIABLES.join(" and ")})`;
  }
  if (
    kind.case === "callExpr" &&
    !isInternalFunction(kind.value.function) &&
    ENV.funcs.find(kind.value.function) === undefined
  ) {
    return `unknown function ${JSON.stringify(kind.value.function)}`;
  }
  return undefined;
}

/** Finds what CEL's type checker would: undeclared variables and unknown functions. */
function referenceProblems(root: ParsedExpr): string[] {
  const problems: string[] = [];
  const pending: [ParsedExpr | undefined, ReadonlySet<string>][] = [
    [root, new Set([...CEL_VARIABLES, ...CEL_TYPE_NAMES])],
  ];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [expr, scope] = next;
    if (expr === undefined) continue;
    const problem = ownProblem(expr, scope);
    if (problem !== undefined && !problems.includes(problem)) problems.push(problem);
    pending.push(...childScopes(expr, scope));
  }
  return problems;
}

function parseExpression(expression: string): ParsedExpr {
  try {
    return parse(expression).expr;
  } catch (error) {
    throw new CelCompileError(`syntax error: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Parses and plans a CEL expression once; the program is then run for every request. Throws
 * {@link CelCompileError} for a syntax error, an undeclared variable or an unknown function.
 * The program itself never throws: an evaluation error comes back as `{ ok: false }`.
 */
export function compileCel(expression: string): CelProgram {
  const expr = parseExpression(expression);
  const problems = referenceProblems(expr);
  if (problems.length > 0) throw new CelCompileError(problems.join("; "));
  const program = plan(ENV, expr);
  return (bindings) => {
    try {
      const value = program(bindings);
      return isCelError(value) ? { ok: false, error: value.message } : { ok: true, value };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  };
}

/**
 * Converts JSON to CEL input. JSON integers become CEL ints (bigint), as Kubernetes' CEL types
 * integer fields from the schema, so `object.spec.replicas * 2` works; other numbers stay doubles.
 */
export function toCelInput(value: unknown): CelInput {
  switch (typeof value) {
    case "number":
      return Number.isSafeInteger(value) ? BigInt(value) : value;
    case "string":
    case "boolean":
      return value;
    case "object": {
      if (value === null) return null;
      // Plain loops: this runs over every admitted object, once per request (checks/context.ts).
      if (Array.isArray(value)) {
        const items = new Array<CelInput>(value.length);
        for (let i = 0; i < value.length; i++) items[i] = toCelInput(value[i]);
        return items;
      }
      const record = value as Record<string, unknown>;
      const members: Record<string, CelInput> = {};
      for (const key of Object.keys(record)) {
        const item = record[key];
        if (item === undefined) continue;
        // An assignment to "__proto__" would set the prototype instead of a member.
        if (key === "__proto__")
          Object.defineProperty(members, key, {
            value: toCelInput(item),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        else members[key] = toCelInput(item);
      }
      return members;
    }
    default:
      return null;
  }
}
