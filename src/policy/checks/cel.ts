import { celType, type CelValue } from "@bufbuild/cel";
import { compileCel } from "../cel.js";
import type { CheckFinding } from "../types.js";
import type { CheckRunner } from "./context.js";

function describeValue(value: CelValue): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
    case "bigint":
      return String(value);
    default:
      return `a value of type ${celType(value).name}`;
  }
}

/**
 * A CEL expression over `object` and `oldObject` (null on CREATE) that must be true. It fails
 * closed: an evaluation error (such as a missing field) or a non-bool result is a violation.
 */
export function celCheck(expression: string, message: string | undefined): CheckRunner {
  const program = compileCel(expression);
  const quoted = JSON.stringify(expression);
  return (context): CheckFinding[] => {
    const outcome = program(context.celBindings());
    if (!outcome.ok) {
      return [{ rule: "celError", message: `CEL expression ${quoted} could not be evaluated: ${outcome.error}` }];
    }
    if (outcome.value === true) return [];
    if (outcome.value === false) return [{ rule: "cel", message: message ?? `CEL expression ${quoted} is false` }];
    return [
      { rule: "celError", message: `CEL expression ${quoted} returned ${describeValue(outcome.value)}, not a bool` },
    ];
  };
}
